// Browser end to end: call control and notifications against the real callbridged fed by a
// loopback AMI peer replaying hold_retrieve (phone 100 configured for remote answer/hold). At each
// state of the call the card's buttons must equal the call's allowed_actions for 100, and clicking
// answer, hold, transfer, retrieve and hang up must make callbridged send the right AMI action
// (checked on what the peer received). A failed command (the peer refuses the BlindTransfer) is
// shown as an alert when the server reports command outcomes. The incoming call raises a desktop
// notification (permission granted to the browser context, tab in the background, window.Notification
// wrapped by an init script), and the journal's "Call back" on a missed call sends the Originate.
import { join } from 'node:path';
import { AmiPeer, Daemon, allowedActions, assert, browser, env, fixtureBlocks, instrument, run, shownActions, unlabeled, until } from './harness.mjs';

// A [tenant.default.*] section makes the tenant explicit, so its dialing plan is spelled out too
// (the built-in defaults: country 49, trunk prefix 0, international prefix 00, extensions 2..6 digits).
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

run('call control and notifications in the browser', async (ctx) => {
  const peer = new AmiPeer();
  await peer.start();
  ctx.cleanups.push(() => peer.stop());
  const d = new Daemon(peer.port, PHONES);
  ctx.daemon = d;
  const token = d.token('anna', 'admin', '100', 'Anna Alpha');
  await d.start();
  ctx.cleanups.push(() => d.stop());
  const made = await d.api('POST', '/api/v1/contacts', token, { display_name: 'Max Muster', company: 'ACME', numbers: [{ label: 'work', number: '+4989123456' }] });
  assert(made.status === 201 || made.status === 200, `create contact: ${made.status} ${made.text}`);

  const b = await browser();
  ctx.cleanups.push(() => b.close());
  const base = `http://127.0.0.1:${d.port}`;
  const context = await b.newContext({ viewport: { width: 1100, height: 760 } });
  await context.grantPermissions(['notifications'], { origin: base });
  await context.addInitScript(() => {
    // Records every notification the app creates; the tab counts as in the background.
    window.__notes = [];
    const Native = window.Notification;
    class Recorded extends Native {
      constructor(title, options) { window.__notes.push({ title, body: options?.body ?? '', tag: options?.tag ?? '' }); super(title, options); }
      static get permission() { return Native.permission; }
      static requestPermission(...a) { return Native.requestPermission(...a); }
    }
    window.Notification = Recorded;
    Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => true });
    Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => 'hidden' });
  });
  const page = instrument(ctx, await context.newPage());
  await page.goto(`${base}/?token=${encodeURIComponent(token)}`);
  await page.waitForSelector('#status.online', { timeout: 10_000 });
  assert(await page.evaluate(() => Notification.permission) === 'granted', 'notification permission granted');
  // Desktop notifications are off until the user turns them on (server and browser agree on the
  // default); the switch on the Settings page saves it for the user.
  const fresh = await d.api('GET', '/api/v1/me/settings', token);
  assert(fresh.json?.notifications === false && fresh.json?.updated_at === null, `server default: ${fresh.text}`);
  await page.click('nav a[href="#/settings"]');
  assert(!(await page.isChecked('#set-notifications')), 'the notifications switch starts off');
  await page.check('#set-notifications');
  await until('the switch saved for the user', async () => (await d.api('GET', '/api/v1/me/settings', token)).json?.notifications === true);
  await page.click('nav a[href="#/calls"]');

  const blocks = fixtureBlocks('hold_retrieve');
  const at = (re, from = 0) => { const i = blocks.findIndex((x, k) => k >= from && re.test(x)); assert(i >= 0, `fixture has ${re}`); return i; };
  const answerAt = at(/Event: Newstate[\s\S]*Channel: PJSIP\/100-[\s\S]*ChannelState: 6/);
  const holdAt = at(/^Event: Hold\r\n/m);
  const unholdAt = at(/^Event: Unhold\r\n/m);
  const endAt = at(/^Event: (HangupRequest|BridgeLeave)\r\n/m, unholdAt);
  const channel = 'PJSIP/100-0000000d';

  // --- ringing: pop, notification, buttons == allowed_actions, Answer -> PJSIPNotify Event=talk
  peer.send(blocks.slice(0, answerAt));
  const card = await page.waitForSelector('article.card.ringing', { timeout: 5_000 });
  const callId = await card.getAttribute('data-call-id');
  await page.waitForSelector('article.card .contact:has-text("Max Muster")', { timeout: 5_000 });
  const note = await until('a notification naming the caller', () => page.evaluate(() => window.__notes.find((n) => n.body.includes('Max Muster'))));
  assert(note.title === 'Incoming call' && note.tag === callId && /089/.test(note.body), `notification: ${JSON.stringify(note)}`);
  const notes = await page.evaluate(() => window.__notes);
  assert(notes.every((n) => n.tag === callId), `one call, one tag: ${JSON.stringify(notes)}`);
  console.log(`# notifications: ${notes.map((n) => n.body).join(' | ')}`);
  console.log(`# contact from: ${await card.getAttribute('data-source')}`);

  const checkButtons = async (state, mustHave) => {
    await page.waitForSelector(`article.card[data-call-id="${callId}"] .badge.state-${state}`, { timeout: 5_000 });
    // "pickup" is offered to colleagues who see the ringing call (pickup.test.mjs); the user's own
    // card answers instead.
    const allowed = (await allowedActions(d, token, callId, '100')).filter((a) => a !== 'pickup');
    await until(`buttons == allowed_actions while ${state}`, async () => JSON.stringify(await shownActions(page, callId)) === JSON.stringify(allowed));
    for (const a of mustHave) assert(allowed.includes(a), `${a} allowed while ${state}: ${allowed}`);
    console.log(`# ${state}: ${allowed.join(',')}`);
  };
  const click = async (action, expect, check) => {
    const from = peer.actions.length;
    await page.click(`article.card[data-call-id="${callId}"] .controls button[data-action="${action}"]`);
    const got = await until(`${expect} after ${action}`, () => peer.received(expect, from)[0]);
    check(got);
    return got;
  };

  await checkButtons('alerting', ['answer', 'hangup']);
  await click('answer', 'PJSIPNotify', (a) => assert(a.endpoint === '100' && a.variable === 'Event=talk', `answer: ${a.raw}`));

  // --- connected: Hold -> PJSIPNotify Event=hold; Transfer to 101 -> BlindTransfer (refused by the peer)
  peer.send(blocks.slice(answerAt, holdAt));
  await checkButtons('connected', ['hold', 'transfer', 'hangup']);
  await page.screenshot({ path: join(env.out, 'call-connected.png') });
  const bare = await unlabeled(page);
  assert(bare.length === 0, `controls without an accessible name: ${bare.join('\n')}`);
  // Keyboard: Tab from the dial box reaches the card's controls; Enter on a focused button acts.
  await page.focus('#dial');
  let reached = false;
  for (let i = 0; i < 12 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement?.dataset?.action === 'hold');
  }
  assert(reached, 'Hold reachable with Tab');
  {
    const from = peer.actions.length;
    await page.keyboard.press('Enter');  // Hold, by keyboard
    const a = await until('PJSIPNotify after Hold', () => peer.received('PJSIPNotify', from)[0]);
    assert(a.endpoint === '100' && a.variable === 'Event=hold', `hold: ${a.raw}`);
  }
  await page.fill(`#target-${CSS_escape(callId)}`, '101');
  peer.failNext('BlindTransfer', 'No such channel');
  await click('transfer', 'BlindTransfer', (a) => assert(a.channel === channel && a.exten === '101', `transfer: ${a.raw}`));

  // --- held (the phone's own re-INVITE): Retrieve -> PJSIPNotify Event=talk
  peer.send(blocks.slice(holdAt, unholdAt));
  await checkButtons('held', ['retrieve', 'hangup']);
  await page.screenshot({ path: join(env.out, 'call-held.png') });
  await click('retrieve', 'PJSIPNotify', (a) => assert(a.endpoint === '100' && a.variable === 'Event=talk', `retrieve: ${a.raw}`));

  // --- connected again: Hang up -> Hangup of the phone's channel
  peer.send(blocks.slice(unholdAt, endAt));
  await checkButtons('connected', ['hangup']);
  await click('hangup', 'Hangup', (a) => assert(a.channel === channel, `hangup: ${a.raw}`));
  peer.send(blocks.slice(endAt));
  await page.waitForSelector('article.card', { state: 'detached', timeout: 10_000 });

  // --- the refused transfer: an alert, when the server reports command outcomes
  const commands = await page.evaluate(() => window.__cb.received.command ?? 0);
  if (commands > 0) {
    const alert = await page.waitForSelector('#alerts [role=alert]:has-text("Transfer")', { timeout: 5_000 });
    const text = await alert.textContent();
    assert(/failed/i.test(text), `alert: ${text}`);
    console.log(`# alert: ${text}`);
    await page.screenshot({ path: join(env.out, 'command-failed.png') });
    await page.keyboard.press('Tab');  // the alert's dismiss button is keyboard reachable
    await alert.$eval('button', (x) => x.click());
    assert(!(await page.$('#alerts [role=alert]:has-text("Transfer")')), 'alert dismissed');
  } else {
    const shown = await page.$('#alerts [role=alert]:has-text("Transfer")');
    console.log(`# the server sent no command outcomes: failed-command alert ${shown ? 'shown from the HTTP answer' : 'not checked'}`);
  }

  // --- missed call -> journal row highlighted, "Call back" -> Originate from 100 to the caller
  peer.send(fixtureBlocks('inbound_missed'));
  await until('missed journal entry', async () => (await d.api('GET', '/api/v1/journal?disposition=missed', token)).json?.entries?.length === 1);
  await page.click('nav a[href="#/journal"]');
  const row = await page.waitForSelector('table.journal tbody tr.missed', { timeout: 10_000 });
  const stored = (await d.api('GET', '/api/v1/journal?disposition=missed', token)).json.entries[0];
  // The open missed calls counter: the server's (GET /journal/missed-count) where it has one.
  const count = await d.api('GET', '/api/v1/journal/missed-count', token);
  const expected = count.status === 200 ? count.json.missed : 1;
  await page.waitForSelector(`.missed-counter:has-text("${expected} missed call")`);
  console.log(`# missed counter: ${expected} (${count.status === 200 ? 'server' : 'counted on the page'})`);
  if (stored.contact?.name) {
    const who = await row.$eval('td.who', (e) => e.textContent);
    assert(who.includes(stored.contact.name), `journal shows the contact ${stored.contact.name}: ${who}`);
    console.log(`# journal contact: ${who}`);
  }
  const from = peer.actions.length;
  await row.$eval('button.primary', (x) => x.focus());
  await page.keyboard.press('Enter');  // keyboard operable
  const orig = await until('Originate after Call back', () => peer.received('Originate', from)[0]);
  assert(/^PJSIP\/100$/.test(orig.channel ?? ''), `callback from PJSIP/100: ${orig.raw}`);
  assert((orig.exten ?? '').replace(/\D/g, '').endsWith('89123456'), `callback to the caller: ${orig.raw}`);
  await page.waitForSelector('.flash.ok:has-text("Calling back")');
  await page.screenshot({ path: join(env.out, 'journal-missed.png') });
});

function CSS_escape(s) { return s.replace(/[^a-zA-Z0-9_-]/g, (c) => `\\${c}`); }
