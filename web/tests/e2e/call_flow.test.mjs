// Browser end to end: callbridged + loopback AMI peer replaying inbound_answered, the web client in
// Debian's chromium or firefox-esr (harness.mjs). Checks the screen pop (contact, timing), the chooser and its memory, control
// buttons == allowed_actions, the presence board, the journal entry's duration (click-to-dial: dial_journal.test.mjs),
// and that a network loss is shown and the stream resumes by seq without duplicates.
import { join } from 'node:path';
import { AmiPeer, Daemon, Proxy, assert, browser, env, fixtureBlocks, run, until } from './harness.mjs';

const ACTIONS = ['answer', 'hangup', 'hold', 'retrieve', 'consult', 'alternate', 'transfer', 'conference', 'deflect'];

run('call flow in the browser', async (ctx) => {
  const peer = new AmiPeer();
  await peer.start();
  ctx.cleanups.push(() => peer.stop());
  const d = new Daemon(peer.port);
  ctx.daemon = d;
  const token = d.token('anna', 'admin', '100', 'Anna Alpha');
  await d.start();
  ctx.cleanups.push(() => d.stop());
  const proxy = new Proxy(d.port);
  await proxy.start();
  ctx.cleanups.push(() => proxy.stop());

  // Two contacts share the caller's number -> chooser.
  for (const c of [{ display_name: 'Max Muster', company: 'ACME', numbers: [{ label: 'work', number: '+4989123456' }] },
                   { display_name: 'Erika Muster', company: 'Beta GmbH', numbers: [{ label: 'mobile', number: '+4989123456' }] }]) {
    const r = await d.api('POST', '/api/v1/contacts', token, c);
    assert(r.status === 201 || r.status === 200, `create contact: ${r.status} ${r.text}`);
  }

  const b = await browser();
  ctx.cleanups.push(() => b.close());
  const page = await b.newPage({ viewport: { width: 1100, height: 760 } });
  ctx.page = page;
  ctx.console = [];
  page.on('pageerror', (e) => ctx.console.push(`page error: ${e}`));
  page.on('console', (m) => ctx.console.push(`${m.type()}: ${m.text()}`));
  page.on('requestfailed', (r) => ctx.console.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) ctx.console.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`); });
  const base = `http://127.0.0.1:${proxy.port}`;
  await page.goto(`${base}/?token=${encodeURIComponent(token)}`);
  await page.waitForSelector('#status.online', { timeout: 10_000 });
  assert(!page.url().includes('token='), 'token removed from the URL');

  // --- screen pop: replay up to (not including) the answer of PJSIP/100
  const blocks = fixtureBlocks('inbound_answered');
  const answerAt = blocks.findIndex((x) => /Event: Newstate/.test(x) && /Channel: PJSIP\/100-/.test(x) && /ChannelState: 6/.test(x));
  assert(answerAt > 0, 'fixture has the answer');
  const t0 = Date.now();
  peer.send(blocks.slice(0, answerAt));
  const card = await page.waitForSelector('article.card.ringing', { timeout: 5_000 });
  const popMs = Date.now() - t0;
  console.log(`# screen pop after ${popMs} ms`);
  assert(popMs < 1000, `pop within 1 s (took ${popMs} ms)`);
  const number = await card.$eval('.number', (e) => e.textContent);
  assert(number.replace(/\s/g, '').includes('89123456'), `number shown: ${number}`);
  await page.waitForSelector('fieldset.chooser button.choice');
  const choices = await page.$$eval('fieldset.chooser button.choice', (bs) => bs.map((x) => x.textContent));
  assert(choices.length === 2 && choices.some((c) => c.includes('Erika Muster')), `chooser: ${choices}`);
  // Where the matches came from: the server's remote_info (per connection) or, for servers
  // without it, the client's own GET /contacts/lookup.
  const source = await page.$eval('article.card.ringing', (e) => e.dataset.source);
  console.log(`# contacts from: ${source === 'server' ? 'remote_info' : 'client-side lookup'}`);
  if (source === 'server') {
    const id = await page.$eval('article.card.ringing', (e) => e.dataset.callId);
    const call = (await d.api('GET', `/api/v1/calls/${encodeURIComponent(id)}`, token)).json;
    const info = call.connections.find((x) => x.device === '100')?.remote_info;
    assert(info?.contacts?.length === 2 && info.lookup === 'done', `remote_info: ${JSON.stringify(info)}`);
    const shownNumber = await page.$eval('article.card.ringing .number', (e) => e.textContent);
    assert(shownNumber.trim().startsWith(info.display), `card shows remote_info.display ${info.display}: ${shownNumber}`);
  }
  await page.screenshot({ path: join(env.out, 'pop-chooser.png') });
  // Narrow CRM side panel: the chooser still fits.
  await page.setViewportSize({ width: 340, height: 640 });
  await page.screenshot({ path: join(env.out, 'pop-chooser-narrow.png') });
  await page.setViewportSize({ width: 1100, height: 760 });
  // Chosen with the keyboard; focus then moves to the call's controls.
  await page.focus('fieldset.chooser button.choice:has-text("Erika Muster")');
  await page.keyboard.press('Enter');
  await page.waitForSelector('article.card .contact:has-text("Erika Muster")');
  // (moved in the next animation frame, after the card rendered the choice: waited for)
  await until('focus on the call controls after choosing', () => page.evaluate(() => !!document.activeElement?.closest('.controls')), 5_000);
  assert(await page.$eval('article.card .contact', (e) => e.textContent.includes('Beta GmbH')), 'company shown');
  const links = await page.$$eval('article.card .links a', (as) => as.map((a) => a.href));
  assert(links.some((h) => h.includes('phone=%2B4989123456')), `action links: ${links}`);
  await page.screenshot({ path: join(env.out, 'pop-contact.png') });

  // --- buttons == allowed_actions of the call for device 100
  // allowed_actions as the server reports them: GET /api/v1/calls when it lists the call, else the
  // copy of the call the event stream delivered.
  const calls = await d.api('GET', '/api/v1/calls', token);
  let list = Array.isArray(calls.json) ? calls.json : calls.json?.calls ?? [];
  if (!list.length) list = await page.evaluate(() => [...window.__cb.live.calls.values()]);
  assert(list.length === 1, `one live call: ${calls.text}`);
  const allowed = (list[0].allowed_actions?.['100'] ?? []).filter((a) => ACTIONS.includes(a)).sort();
  console.log(`# allowed_actions for 100 while ringing: ${allowed}`);
  const shown = (await page.$$eval('article.card .controls button', (bs) => bs.map((x) => x.dataset.action))).sort();
  assert(JSON.stringify(shown) === JSON.stringify(allowed), `buttons ${shown} == allowed_actions ${allowed}`);
  // Phone 100 has no remote answer here: when the server says why, the card says it too.
  const why = list[0].unavailable_actions?.['100'];
  if (why && Object.keys(why).length) {
    const text = await page.$eval('article.card .why', (e) => e.textContent);
    assert(Object.values(why).every((r) => text.includes(r)), `reasons on the card: ${text} (server: ${JSON.stringify(why)})`);
    console.log(`# ${text}`);
  }

  // --- presence board: the ringing line, live
  await page.click('nav a[href="#/presence"]');
  await page.waitForSelector('.presence button[data-device="100"].state-ringing', { timeout: 5_000 });
  await page.screenshot({ path: join(env.out, 'presence.png') });
  await page.click('nav a[href="#/calls"]');

  // --- the rest of the call: answered, ended -> journal with the captured duration (talk 3 s)
  peer.send(blocks.slice(answerAt));
  await page.waitForSelector('article.card', { state: 'detached', timeout: 10_000 });
  await page.click('nav a[href="#/journal"]');
  const row = await page.waitForSelector('table.journal tbody tr', { timeout: 10_000 });
  const dur = await row.$eval('td.dur', (e) => e.textContent);
  assert(dur === '0:03', `journal duration 0:03, got ${dur}`);
  console.log(`# journal name column: ${await row.$eval('td.c-name', (e) => e.textContent)}`);
  // Anna is an admin: the Line column shows whose line it was.
  assert(await row.$eval('td.c-party', (e) => e.textContent.includes('100')), 'line column for admins');
  await page.fill('table.journal tbody tr input', 'called about invoice 42');
  await page.press('table.journal tbody tr input', 'Enter');
  await page.locator('table.journal tbody tr input').blur();
  await until('note saved', async () => {
    const j = await d.api('GET', '/api/v1/journal', token);
    return j.json?.entries?.[0]?.note === 'called about invoice 42';
  });
  await page.screenshot({ path: join(env.out, 'journal.png') });

  // --- the chooser's choice is remembered for the number: a second call pops straight to Erika
  peer.send(blocks.slice(0, answerAt).map((x) => x.replaceAll('1795382753.', '1795382999.').replaceAll('-00000000', '-00000010').replaceAll('-00000001', '-00000011')));
  await page.click('nav a[href="#/calls"]');
  await page.waitForSelector('article.card.ringing .contact:has-text("Erika Muster")', { timeout: 5_000 });
  assert(!(await page.$('fieldset.chooser')), 'no chooser the second time');

  // --- network loss: shown as offline; events meanwhile arrive once after the resume
  const seqBefore = await page.evaluate(() => window.__cb.seq);
  proxy.cut();
  // One check of class and text: the status turns "Reconnecting…" at each retry (from 0.5 s on).
  await page.waitForSelector('#status.offline:has-text("Offline since")', { timeout: 10_000 });
  // The ringing card is visibly inert: greyed, its buttons disabled, the page says why.
  await page.waitForSelector('article.card.inert[aria-disabled=true]');
  assert(await page.$$eval('article.card .controls button', (bs) => bs.length > 0 && bs.every((x) => x.disabled)), 'buttons disabled while offline');
  await page.waitForSelector('.offline-note');
  await page.screenshot({ path: join(env.out, 'offline.png') });
  peer.send(blocks.slice(answerAt).map((x) => x.replaceAll('1795382753.', '1795382999.').replaceAll('-00000000', '-00000010').replaceAll('-00000001', '-00000011')));
  await until('the daemon saw the call end while the browser was offline', async () =>
    (await d.api('GET', '/api/v1/journal', token)).json?.entries?.length === 2);
  proxy.restore();
  await page.waitForSelector('#status.online', { timeout: 20_000 });
  await page.waitForSelector('article.card', { state: 'detached', timeout: 10_000 });
  const applied = await page.evaluate(() => window.__cb.applied);
  const after = applied.filter((s) => s > seqBefore);
  assert(after.length > 0, 'missed events replayed');
  assert(new Set(applied).size === applied.length, `no seq applied twice: ${applied}`);
  assert(after.every((s, i) => i === 0 || s > after[i - 1]), `in order: ${after}`);
});
