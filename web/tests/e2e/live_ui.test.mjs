// Browser end to end (Chromium and Firefox): the page people keep open all day. Against the real callbridged
// fed by the loopback AMI peer: typing in the dial box while call events flow (focus and text must
// stay: keyed rendering), the incoming call signals (tab title, favicon badge, ring sound, the
// banner on another page, Alt+A answers), the card's words ("Ringing", "Connected 00:0x", never
// "alerting"), a journal note typed while new entries arrive, Alt+D, presence with display names
// and teams, the contacts page (search, details, edit, click-to-dial), German from the browser and
// from the setting, dark mode, and axe-core on every main screen (no serious/critical violations,
// light and dark).
import { join } from 'node:path';
import { AmiPeer, Daemon, asCall, assert, assertAccessible, browser, browserName, env, fixtureBlocks, instrument, run, until } from './harness.mjs';

const PHONES = `
[tenant.default.dialing]
country_code = "49"
extension_ranges = ["100-199"]

[[tenant.default.phones]]
devices = ["100"]
answer_event = "talk"
hold_event = "hold"
retrieve_event = "talk"
`;

run('live updates, alerting, languages, dark mode and accessibility', async (ctx) => {
  const peer = new AmiPeer();
  await peer.start();
  ctx.cleanups.push(() => peer.stop());
  const d = new Daemon(peer.port, PHONES);
  ctx.daemon = d;
  const token = d.token('anna', 'user', '100', 'Anna Alpha', 'Sales');
  d.token('ben', 'user', '101', 'Ben Bravo', 'Sales');
  await d.start();
  ctx.cleanups.push(() => d.stop());
  const made = await d.api('POST', '/api/v1/contacts', token, { display_name: 'Max Muster', company: 'ACME', numbers: [{ label: 'work', number: '+4989123456' }] });
  assert(made.status === 201 || made.status === 200, `create contact: ${made.status} ${made.text}`);

  const b = await browser();
  ctx.cleanups.push(() => b.close());
  const base = `http://127.0.0.1:${d.port}`;
  const context = await b.newContext({ viewport: { width: 1200, height: 800 }, locale: 'en-US' });
  const page = instrument(ctx, await context.newPage());
  await page.goto(`${base}/?token=${encodeURIComponent(token)}`);
  await page.waitForSelector('#status.online', { timeout: 10_000 });
  await page.waitForSelector('nav a:has-text("Calls")');
  assert(await page.evaluate(() => document.documentElement.lang) === 'en', 'html lang en');

  const blocks = fixtureBlocks('inbound_answered');
  const answerAt = blocks.findIndex((x) => /Event: Newstate/.test(x) && /Channel: PJSIP\/100-/.test(x) && /ChannelState: 6/.test(x));
  assert(answerAt > 0, 'fixture has the answer');

  // --- typing in the dial box while a whole call (pop, lookup, answer, end) flows in
  await page.click('#dial');
  await page.evaluate(() => { window.__blurs = 0; document.getElementById('dial').addEventListener('blur', () => { window.__blurs++; }); });
  const text = '0211 339903-12';
  const flow = asCall(blocks, 1);
  const per = Math.ceil(flow.length / text.length);
  let typed = '';
  let popSeen = false;
  for (let i = 0; i < text.length; i++) {
    peer.send(flow.slice(i * per, (i + 1) * per));
    await page.keyboard.type(text[i]);
    typed += text[i];
    const s = await page.evaluate(() => ({ id: document.activeElement?.id, value: document.getElementById('dial').value, caret: document.getElementById('dial').selectionStart,
      cards: document.querySelectorAll('article.card').length }));
    popSeen ||= s.cards > 0;
    assert(s.id === 'dial', `focus stays in the dial box after ${typed.length} keys (on ${s.id})`);
    assert(s.value === typed && s.caret === typed.length, `dial box keeps "${typed}" and the caret: "${s.value}" at ${s.caret}`);
  }
  peer.send(flow.slice(text.length * per));
  await page.waitForSelector('article.card', { state: 'detached', timeout: 10_000 });
  assert(popSeen, 'the call popped while typing');
  assert(await page.evaluate(() => window.__blurs) === 0, 'the dial box never lost focus');
  assert(await page.inputValue('#dial') === text, 'dial box text intact after the call ended');
  console.log(`# typed ${text.length} keys while ${flow.length} AMI events flowed: focus and text kept`);
  await page.fill('#dial', '');

  // --- an incoming call: banner on another page, title, favicon, ring; Alt+A answers
  await page.click('nav a[href="#/journal"]');
  const ring = asCall(blocks, 2);
  peer.send(ring.slice(0, answerAt));
  await page.waitForSelector('.incoming-banner:has-text("Max Muster")', { timeout: 5_000 });
  const title = await page.title();
  assert(title.startsWith('☎') && title.includes('Max Muster'), `tab title: ${title}`);
  const icon = await page.$eval('link[rel~=icon]', (l) => l.getAttribute('href'));
  assert(icon.startsWith('data:image/svg+xml'), `favicon badge: ${icon.slice(0, 40)}`);
  await until('the ring sound', () => page.evaluate(() => window.__cb.ring.active && window.__cb.ring.played > 0));
  // Browsers may keep audio suspended until a click or key on the page: then the banner says so.
  await until('the audio state known', () => page.evaluate(() => window.__cb.ring.context !== 'none'));
  const audioState = await page.evaluate(() => window.__cb.ring.context);
  await until('the sound hint matching the audio state', async () => !!(await page.$('.incoming-banner .sound-hint')) === (audioState === 'suspended'));
  console.log(`# ring sound: AudioContext ${audioState}, hint ${audioState === 'suspended' ? 'shown' : 'not needed'}`);
  await page.screenshot({ path: join(env.out, 'incoming-banner.png') });
  await page.click('.incoming-banner button:has-text("Show")');
  const card = await page.waitForSelector('article.card.ringing');
  const callId = await card.getAttribute('data-call-id');
  const badge = await card.$eval('.badge', (e) => e.textContent);
  assert(badge === 'Ringing', `state in words: ${badge}`);
  assert(/Incoming call/.test(await card.textContent()), 'direction shown');
  await assertAccessible(page, 'calls (ringing card)');
  const from = peer.actions.length;
  await page.keyboard.press('Alt+a');
  const notify = await until('PJSIPNotify after Alt+A', () => peer.received('PJSIPNotify', from)[0]);
  assert(notify.endpoint === '100' && notify.variable === 'Event=talk', `answer: ${notify.raw}`);
  const end = ring.findIndex((x, k) => k > answerAt && /^Event: (HangupRequest|BridgeLeave)\r\n/m.test(x));
  peer.send(ring.slice(answerAt, end));
  await page.waitForSelector(`article.card[data-call-id="${callId}"][data-state=connected]`, { timeout: 5_000 });
  const connected = await page.$eval(`article.card[data-call-id="${callId}"] .badge`, (e) => e.textContent);
  assert(/^Connected \d\d:\d\d$/.test(connected), `connected with a timer: ${connected}`);
  assert(!/alerting|initiated/i.test(await page.innerText('main')), 'no CSTA words on the page');
  assert(await page.title() === 'callbridge', `title back: ${await page.title()}`);
  assert(!(await page.$('.incoming-banner')), 'banner gone once answered');
  assert(await page.evaluate(() => !window.__cb.ring.active), 'ring stopped');
  await page.screenshot({ path: join(env.out, 'call-connected.png') });
  await assertAccessible(page, 'calls (connected card)');
  // A note typed on the card during the call (the timer re-renders the card every second) keeps
  // focus and text, and lands on the call's journal entry when it ends.
  const noteSel = `#callnote-${callId.replace(/[^a-zA-Z0-9_-]/g, (c) => `\\${c}`)}`;
  await page.click(noteSel);
  await page.keyboard.type('wants a');
  const t1 = await page.$eval(`article.card[data-call-id="${callId}"] .timer`, (e) => e.textContent);
  await until('the timer to tick', async () => (await page.$eval(`article.card[data-call-id="${callId}"] .timer`, (e) => e.textContent)) !== t1);
  await page.keyboard.type(' quote');
  const cn = await page.evaluate(() => ({ id: document.activeElement?.id, value: document.activeElement?.value }));
  assert(cn.id === `callnote-${callId}` && cn.value === 'wants a quote', `card note keeps focus and text: ${JSON.stringify(cn)}`);
  peer.send(ring.slice(end));
  await page.waitForSelector('article.card', { state: 'detached', timeout: 10_000 });

  await until('the card note on the journal entry', async () => (await d.api('GET', '/api/v1/journal', token)).json?.entries?.some((e) => e.note === 'wants a quote'));
  console.log('# the note typed on the card was saved on the call\'s journal entry');

  // --- journal: a note typed while a new entry arrives keeps focus and text
  await page.click('nav a[href="#/journal"]');
  await until('two journal rows', async () => (await page.$$('table.journal tbody tr')).length === 2);
  const noteId = await page.$eval('table.journal tbody tr:last-child input', (e) => e.id);
  await page.click(`#${noteId}`);
  await page.keyboard.type('called about');
  peer.send(asCall(blocks, 3));
  await until('a third journal row', async () => (await page.$$('table.journal tbody tr')).length === 3);
  await page.keyboard.type(' invoice 42');
  const note = await page.evaluate(() => ({ id: document.activeElement?.id, value: document.activeElement?.value }));
  assert(note.id === noteId && note.value === 'called about invoice 42', `note keeps focus and text: ${JSON.stringify(note)}`);
  await page.keyboard.press('Enter');
  await page.keyboard.press('Tab');
  await until('note saved', async () => (await d.api('GET', '/api/v1/journal', token)).json?.entries?.some((e) => e.note === 'called about invoice 42'));
  const times = await page.$$eval('table.journal tbody tr time', (ts) => ts.map((x) => Date.parse(x.getAttribute('datetime'))));
  assert(times.every((x, i) => i === 0 || x <= times[i - 1]), `newest first: ${times}`);
  await assertAccessible(page, 'journal');
  // CSV export from the page: the server's CSV with the page's filters.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#journal-csv')]);
  const csv = await (await import('node:fs/promises')).readFile(await download.path(), 'utf8');
  assert(csv.startsWith('id,call_id,party') && csv.trim().split('\n').length === 4, `CSV: ${csv.slice(0, 200)}`);
  console.log(`# CSV export: ${download.suggestedFilename()}, ${csv.trim().split('\n').length - 1} rows`);
  await page.screenshot({ path: join(env.out, 'journal.png') });
  await page.setViewportSize({ width: 360, height: 700 });
  const narrow = await page.$eval('table.journal tbody tr', (tr) => ({ name: tr.querySelector('.c-name').getClientRects().length > 0, note: tr.querySelector('.c-note').getClientRects().length > 0 }));
  assert(narrow.name && narrow.note, `narrow layout keeps name and note: ${JSON.stringify(narrow)}`);
  await page.screenshot({ path: join(env.out, 'journal-narrow.png') });
  await page.setViewportSize({ width: 1200, height: 800 });

  // --- Alt+D: to the dial box from any page
  await page.keyboard.press('Alt+d');
  await until('focus in the dial box', () => page.evaluate(() => document.activeElement?.id === 'dial'));

  // --- presence: display names, team, search
  await page.click('nav a[href="#/presence"]');
  await page.waitForSelector('.presence button[data-device="100"]:has-text("Anna Alpha")');
  await assertAccessible(page, 'presence');
  await page.screenshot({ path: join(env.out, 'presence.png') });

  // --- contacts: search as you type, details, click-to-dial, edit
  await page.click('nav a[href="#/contacts"]');
  await page.fill('#contact-search', 'max');
  await page.click('.contact-item:has-text("Max Muster")');
  await page.waitForSelector('.contact-details button.dial-number');
  await assertAccessible(page, 'contacts');
  await page.click('#contact-edit');
  await page.fill('#contact-company', 'ACME Europe');
  await page.click('#contact-save');
  await page.waitForSelector('.contact-details:has-text("ACME Europe")');
  const stored = (await d.api('GET', '/api/v1/contacts?q=max', token)).json;
  assert(JSON.stringify(stored).includes('ACME Europe'), `contact edited on the server: ${JSON.stringify(stored)}`);
  const o = peer.actions.length;
  await page.click('.contact-details button.dial-number');
  const orig = await until('Originate from the contacts page', () => peer.received('Originate', o)[0]);
  assert((orig.exten ?? '').replace(/\D/g, '').endsWith('89123456'), `dialed the contact: ${orig.raw}`);
  // A favorite: the star on the number puts it under the dial box, one click dials it.
  await page.click('.contact-details button.fav-toggle');
  await page.waitForSelector('.contact-details button.fav-toggle[aria-pressed=true]');
  // Kept for the user on the server where it has /me/favorites (else in the browser).
  if ((await d.api('GET', '/api/v1/me/favorites', token)).status === 200) {
    await until('the favorite on the server', async () => (await d.api('GET', '/api/v1/me/favorites', token)).json?.favorites?.some((x) => x.number === '+4989123456' && x.label === 'Max Muster'));
    console.log('# favorite stored on the server (/me/favorites)');
  }
  await page.screenshot({ path: join(env.out, 'contacts.png') });
  await page.click('nav a[href="#/calls"]');
  const f = peer.actions.length;
  await page.click('.favorites button.fav:has-text("Max Muster")');
  const favCall = await until('Originate from the favorite', () => peer.received('Originate', f)[0]);
  assert((favCall.exten ?? '').replace(/\D/g, '').endsWith('89123456'), `favorite dialed: ${favCall.raw}`);

  // --- dial box search: typing a name offers the contact's number
  await page.click('nav a[href="#/calls"]');
  await page.click('#dial');
  await page.keyboard.type('Mus');
  await page.waitForSelector('#dial-list li[data-number]:has-text("Max Muster")');
  await assertAccessible(page, 'calls (dial suggestions)');
  await page.keyboard.press('Escape');
  await page.fill('#dial', '');

  // --- settings: German, dark mode
  await page.click('nav a[href="#/settings"]');
  await assertAccessible(page, 'settings');
  await page.selectOption('#set-lang', 'de');
  await page.waitForSelector('nav a:has-text("Anrufe")');
  if ((await d.api('GET', '/api/v1/me/settings', token)).status === 200) {
    await until('the language setting on the server', async () => (await d.api('GET', '/api/v1/me/settings', token)).json?.language === 'de');
    console.log('# settings stored on the server (/me/settings)');
  }
  assert(await page.evaluate(() => document.documentElement.lang) === 'de', 'html lang de');
  await page.selectOption('#set-theme', 'dark');
  await until('the dark background', () => page.evaluate(() => document.documentElement.dataset.theme === 'dark' && getComputedStyle(document.body).backgroundColor === 'rgb(21, 24, 29)'));
  await page.click('nav a[href="#/calls"]');
  await assertAccessible(page, 'calls, German, dark');
  await page.screenshot({ path: join(env.out, 'calls-dark-de.png') });
  await page.click('nav a[href="#/settings"]');
  await page.selectOption('#set-lang', 'auto');
  await page.selectOption('#set-theme', 'auto');
  await page.waitForSelector('nav a:has-text("Calls")');

  // --- a German browser gets German, and prefers-color-scheme: dark is honoured. Firefox ESR cannot
  // emulate the colour scheme per context over WebDriver BiDi (firefox_relay.mjs), so there a second
  // Firefox starts with its content's scheme set to dark by preference.
  const dark = browserName === 'firefox' ? await browser({ firefoxUserPrefs: { 'layout.css.prefers-color-scheme.content-override': 0 } }) : b;
  if (dark !== b) ctx.cleanups.push(() => dark.close());
  const de = await dark.newContext({ viewport: { width: 1000, height: 700 }, locale: 'de-DE', ...(dark === b ? { colorScheme: 'dark' } : {}) });
  const p2 = instrument(ctx, await de.newPage());
  await p2.goto(`${base}/?token=${encodeURIComponent(token)}`);
  await p2.waitForSelector('nav a:has-text("Anrufe")');
  await p2.waitForSelector('#status.online:has-text("Online")', { timeout: 10_000 });
  const bg2 = await p2.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert(bg2 === 'rgb(21, 24, 29)', `system dark: ${bg2}`);
  await p2.click('nav a[href="#/journal"]');
  await p2.waitForSelector('table.journal tbody tr');
  assert(/verpasst|angenommen/.test(await p2.innerText('table.journal')), 'journal in German');
  await assertAccessible(p2, 'journal, German, system dark');
  await de.close();
});
