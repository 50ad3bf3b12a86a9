// Browser end to end (Chromium and Firefox): AnyDevice against the real callbridged in demo mode,
// its built-in PBX simulator as the PBX (callbridge's dialplan on, docs/pbxsim.md), through the UI
// only. Ben (101) signs in (a sign-in link the demo admin made), adds his mobile in the devices
// dialog and makes it active in the header; click-to-dial rings the simulated mobile first, then the
// outside number: the card shows the call Connected with a running timer and offers Hold. Hold
// (the PBX's [callbridge-hold]: dual Redirect into music on hold): the card says On hold and offers
// Resume, presence shows his line on hold, axe on that screen; Resume: Connected again. A blind
// transfer to Clara (102) from the card's target field: the card goes, his line is idle. The journal
// page shows one entry for the call, carried by the mobile, transferred to Clara; the API's entry
// says outbound, answered, device mobile, transferred_to 102, hold time > 0. ctest label `anydevice`.
//
// Demo traffic cannot touch Ben: the demo's random calls (1 a minute here, [demo] calls_per_minute)
// never pick a queue member's phone (sim::TrafficGenerator::free_seat) and Anna's calls (the demo's
// focus) are hers; only queue calls ring him, and he pauses himself in queue `support` in the header
// first, as an agent going out with his mobile would (the simulator rings no paused member).
import { join } from 'node:path';
import { assert, assertAccessible, browser, env, instrument, run, startDemo, until } from './harness.mjs';

const MOBILE = '+491707654321';

run('AnyDevice on the demo PBX: mobile, click-to-dial, hold, transfer', async (ctx) => {
  const demo = startDemo(ctx, 'anydev', { config: '[demo]\ncalls_per_minute = 1\n' });
  const adminLink = new URL(await demo.link('the admin'));
  const base = adminLink.origin;
  const adminToken = adminLink.searchParams.get('token');
  const api = async (method, path, body) => {
    const r = await fetch(base + path, { method, headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined });
    const text = await r.text();
    let json = null; try { json = JSON.parse(text); } catch { /* not json */ }
    return { status: r.status, json, text };
  };
  // The demo's users exist once callbridged listens (the admin link is printed after that).
  const signIn = await api('POST', '/api/v1/users/ben/sign-in-link', { expires_in: 600 });
  assert(signIn.status === 201 && signIn.json?.path, `sign-in link for Ben: ${signIn.status} ${signIn.text}`);
  const journalBefore = await api('GET', '/api/v1/journal?party=101&limit=200');
  assert(journalBefore.status === 200, `journal: ${journalBefore.text}`);
  const idsBefore = new Set(journalBefore.json.entries.map((e) => e.id));

  const b = await browser();
  ctx.cleanups.push(() => b.close());
  const page = instrument(ctx, await b.newPage({ viewport: { width: 1200, height: 860 }, locale: 'en-US' }));
  await page.goto(base + signIn.json.path);
  await page.waitForSelector('#status.online', { timeout: 10_000 });
  assert(/Ben/.test(await page.textContent('header .who')), 'signed in as Ben');
  await page.click('#agent-summary');
  await page.waitForSelector('#agent-summary:has-text("support: ")', { timeout: 10_000 });
  await page.fill('#agent-reason', 'on my mobile');
  await page.click('#agent-pause');
  await page.waitForSelector('#agent-summary:has-text("support: paused: on my mobile")', { timeout: 10_000 });
  await page.click('#agent-summary');

  // --- 1. his mobile, added in the devices dialog and made active with one select in the header
  await page.waitForSelector('header #active-device');
  assert((await page.inputValue('#active-device')) === '101', 'the desk phone is active at first');
  await page.click('#mydev-open');
  await page.waitForSelector('dialog.mydev-dialog[open]');
  await page.fill('#mydev-name', 'mobile');
  await page.fill('#mydev-number', '0170 7654321');
  await page.click('.mydev-form button[type=submit]');
  await page.waitForSelector(`dialog.mydev-dialog li[data-device=mobile]:has-text("${MOBILE}")`, { timeout: 10_000 });
  await page.click('#mydev-close');
  await page.waitForSelector('dialog.mydev-dialog:not([open])', { state: 'attached' });
  await page.selectOption('#active-device', 'mobile');
  await page.waitForSelector('header .mydev-label:has-text("📱")');
  await until('the mobile active on the server', async () => (await api('GET', '/api/v1/users/ben/devices')).json?.active === 'mobile');

  // --- 2. click-to-dial from the dial box: the mobile rings first, then the call is connected.
  // What the cards say, as the user sees it, from before the dial on (recorded in the page).
  await page.evaluate(() => {
    window.__seen = [];
    const note = () => {
      for (const el of document.querySelectorAll('article.card')) {
        const s = `${el.dataset.callId}|${el.dataset.state}|${el.querySelector('.badge')?.textContent}|${el.querySelector('.number')?.textContent}`;
        if (!window.__seen.some((x) => x.startsWith(s + '|'))) window.__seen.push(`${s}|${Math.round(performance.now())}`);
      }
    };
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  });
  await page.fill('#dial', '089 5550123');
  await page.keyboard.press('Enter');
  const card0 = await page.waitForSelector('article.card:has(.number:has-text("5550123"))', { timeout: 10_000 });
  const callId = await card0.getAttribute('data-call-id');
  const card = `article.card[data-call-id="${callId}"]`;
  await page.waitForSelector(`${card}[data-state=connected]`, { timeout: 20_000 });
  const badge = await until('Connected with a running timer', async () => {
    const text = await page.$eval(`${card} .badge`, (e) => e.textContent);
    return /^Connected 00:0[1-9]/.test(text) && text;
  }, 10_000);
  const seen = (await page.evaluate(() => window.__seen)).filter((x) => x.startsWith(`${callId}|`)).map((x) => x.split('|').slice(1));
  console.log(`# the card: ${seen.map(([, b, n, at]) => `${b} (${n}) at ${at - seen[0][3]} ms`).join(' -> ')}`);
  // While the PBX rings the mobile (3 s in the simulator) and then the number (2 s), the card says
  // Dialing with the number dialed, from its first appearance (the call's first event comes before
  // the 202 of the make call); Connected once the number answered.
  assert(seen.length && seen[0][0] === 'dialing' && seen[0][1] === 'Dialing' && /5550123/.test(seen[0][2]),
    `the card said Dialing with the number first: ${JSON.stringify(seen)}`);
  {
    const call = await api('GET', `/api/v1/calls/${encodeURIComponent(callId)}`);
    assert(call.status === 200, `the call: ${call.text}`);
    console.log(`# ${badge}; the call on the server: ${JSON.stringify(call.json).slice(0, 600)}`);
  }
  await page.waitForSelector(`${card} button[data-action=hold]`, { timeout: 10_000 });

  // --- 3. Hold: the PBX holds it; the card says On hold and offers Resume; presence: on hold
  await page.click(`${card} button[data-action=hold]`);
  await page.waitForSelector(`${card}[data-state=held]`, { timeout: 10_000 });
  await until('the card in words: On hold', async () => /^On hold \d\d:\d\d/.test(await page.$eval(`${card} .badge`, (e) => e.textContent)));
  await page.waitForSelector(`${card} button[data-action=retrieve]:has-text("Resume")`, { timeout: 10_000 });
  await assertAccessible(page, 'calls: an AnyDevice call on hold');
  await page.screenshot({ path: join(env.out, 'anydevice-held.png') });
  await page.click('nav a[href="#/presence"]');
  const own = await page.waitForSelector('.presence button[data-device="101"].state-held', { timeout: 10_000 });
  const ownText = await own.innerText();
  assert(/Ben/.test(ownText) && /on hold/.test(ownText), `presence shows Ben's line on hold: ${ownText}`);
  await page.click('nav a[href="#/calls"]');
  await page.click(`${card} button[data-action=retrieve]`);
  await page.waitForSelector(`${card}[data-state=connected]`, { timeout: 10_000 });
  await until('the card in words: Connected', async () => /^Connected \d\d:\d\d/.test(await page.$eval(`${card} .badge`, (e) => e.textContent)));

  // --- 4. blind transfer to Clara (102) from the card's target field: the call leaves Ben
  const target = `#target-${callId.replace(/[^a-zA-Z0-9_-]/g, (c) => `\\${c}`)}`;
  await page.click(target);
  await page.keyboard.type('102');
  await page.keyboard.press('Escape');
  await page.click(`${card} button[data-action=transfer]`);
  await page.waitForSelector(card, { state: 'detached', timeout: 15_000 });
  await page.click('nav a[href="#/presence"]');
  const idle = await page.waitForSelector('.presence button[data-device="101"].state-idle', { timeout: 10_000 });
  assert(/idle/.test(await idle.innerText()), 'presence: his line is idle again');

  // --- 5. the journal: one entry for this call, carried by the mobile, transferred to Clara
  const entries = await until('the journal entry of the call', async () => {
    const r = await api('GET', '/api/v1/journal?party=101&limit=200');
    const mine = r.json?.entries?.filter((e) => e.call_id === callId) ?? [];
    return mine.length ? mine : null;
  }, 15_000);
  assert(entries.length === 1, `exactly one entry for the call: ${JSON.stringify(entries)}`);
  const e = entries[0];
  assert(!idsBefore.has(e.id), 'a new entry');
  assert(e.direction === 'outbound' && e.disposition === 'answered', `outbound, answered: ${JSON.stringify(e)}`);
  assert(e.device?.name === 'mobile' && e.device?.number === MOBILE, `carried by the mobile: ${JSON.stringify(e.device)}`);
  assert(e.transferred_to === '102', `transferred to Clara: ${JSON.stringify(e)}`);
  assert(e.hold_s > 0, `hold time: ${e.hold_s}`);
  console.log(`# journal entry ${e.id}: ${e.direction} ${e.disposition}, device ${e.device.name}, talk ${e.talk_s} s, hold ${e.hold_s} s, to ${e.transferred_to}`);
  await page.click('nav a[href="#/journal"]');
  const row = await page.waitForSelector(`tr[data-entry-id="${e.id}"]`, { timeout: 10_000 });
  const rowText = await row.innerText();
  assert(/via mobile/.test(rowText) && /to Clara Wagner \(102\)/.test(rowText) && /Outgoing|outbound/i.test(rowText),
    `the journal row: ${rowText}`);
  const rows = await page.$$eval('tr[data-entry-id]', (rs) => rs.map((r) => r.innerText));
  assert(rows.filter((t) => /5550123/.test(t)).length === 1, `one row for the number: ${rows.join('\n')}`);
  await page.screenshot({ path: join(env.out, 'anydevice-journal.png') });
});
