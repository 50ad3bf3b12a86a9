// Browser end to end (Chromium and Firefox): do-not-disturb and forwarding in the header, against the
// real callbridged over a scripted AMI peer that has callbridge's dialplan include (ShowDialPlan
// answers [callbridge-version]) and records the AstDB writes (docs/dialplan.md). The DND toggle
// writes DBPut callbridge dnd/100 and the line turns "do not disturb" on the admin's presence board;
// the forwarding dialog refuses a premium number with the tenant's reason and saves "always to
// 102" (DBPut cfu/100); a change made elsewhere (the API, as the CLI would) reaches the header.
// A PBX without the include: the toggle is disabled and says why. Then demo mode, whose simulated
// PBX has the include: the toggle works there.
import { join } from 'node:path';
import { AmiPeer, Daemon, assert, assertAccessible, browser, env, instrument, run, startDemo, unlabeled, until } from './harness.mjs';

const tenantToml = `
[tenant.default.dialing]
country_code = "49"
area_code = "30"
base_number = "555"
extension_length = 3
outside_prefix = "0"

[tenant.default.any_device]
allow = ["+4915*", "+4916*", "+4917*", "+4989*"]
deny = ["+49900*"]
`;

run('DND and forwarding in the browser', async (ctx) => {
  const peer = new AmiPeer();
  // As Asterisk answers with contrib/asterisk/callbridge.conf loaded.
  peer.answer('ShowDialPlan', (h, id) => `Response: Success\r\n${id}EventList: start\r\nMessage: DialPlan list will follow\r\n\r\n`
    + `Event: ListDialplan\r\n${id}Context: callbridge-version\r\nExtension: 1\r\nPriority: 1\r\nApplication: NoOp\r\n`
    + `AppData: callbridge dialplan 1\r\nRegistrar: pbx_config\r\n\r\n`
    + `Event: ShowDialPlanComplete\r\n${id}EventList: Complete\r\nListItems: 1\r\n\r\n`);
  peer.answer('DBPut', (h, id) => `Response: Success\r\n${id}Message: Updated database successfully\r\n\r\n`);
  peer.answer('DBDel', (h, id) => `Response: Success\r\n${id}Message: Key deleted successfully\r\n\r\n`);
  await peer.start();
  ctx.cleanups.push(() => peer.stop());
  const d = new Daemon(peer.port, tenantToml);
  ctx.daemon = d;
  const token = d.token('anna', 'user', '100', 'Anna Alpha');
  d.token('bob', 'user', '102', 'Bob Bravo');
  const admin = d.token('root', 'admin', '105', 'The Admin');
  await d.start();
  ctx.cleanups.push(() => d.stop());
  await until('the features available', async () => (await d.api('GET', '/api/v1/me/dnd', token)).json?.available === true, 15_000);

  const b = await browser();
  ctx.cleanups.push(() => b.close());
  const page = instrument(ctx, await b.newPage({ viewport: { width: 1200, height: 760 } }));
  await page.goto(`http://127.0.0.1:${d.port}/?token=${encodeURIComponent(token)}`);
  await page.waitForSelector('#status.online', { timeout: 10_000 });
  const board = instrument(ctx, await b.newPage({ viewport: { width: 1000, height: 700 } }));
  await board.goto(`http://127.0.0.1:${d.port}/?token=${encodeURIComponent(admin)}`);
  await board.waitForSelector('#status.online', { timeout: 10_000 });
  await board.click('nav a[href="#/presence"]');

  // --- DND: one click; the PBX gets the key, the colleague's board shows it
  await page.waitForSelector('header #dnd-toggle[aria-pressed=false]');
  let from = peer.actions.length;
  await page.click('#dnd-toggle');
  await page.waitForSelector('header #dnd-toggle[aria-pressed=true]');
  const put = await until('DBPut dnd/100', () => peer.received('DBPut', from).find((a) => a.key === 'dnd/100'));
  assert(put.family === 'callbridge' && put.val === '1', `DBPut: ${put.raw}`);
  await board.waitForSelector('.presence button[data-device="100"].state-dnd', { timeout: 10_000 });
  const words = await board.textContent('.presence button[data-device="100"] .pdetail');
  assert(/do not disturb/.test(words), `the board says do not disturb: ${words}`);
  await page.screenshot({ path: join(env.out, 'dnd-header.png') });

  // --- the forwarding dialog: a premium number is refused with the reason, "always to 102" saved
  await page.click('#cf-open');
  await page.waitForSelector('dialog.cf-dialog[open]');
  await page.fill('#cf-unconditional', '0900 123456');
  await page.click('#cf-save');
  await page.waitForSelector('.flash.error:has-text("deny pattern +49900*")');
  from = peer.actions.length;
  await page.fill('#cf-unconditional', '102');
  await page.click('#cf-save');
  await page.waitForSelector('dialog.cf-dialog:not([open])', { state: 'attached' });
  const cfu = await until('DBPut cfu/100', () => peer.received('DBPut', from).find((a) => a.key === 'cfu/100'));
  assert(cfu.val === '102', `forwarded to 102: ${cfu.raw}`);
  await page.waitForSelector('header #cf-short:has-text("→ 102")');
  await board.waitForSelector('.presence button[data-device="100"] .pdetail:has-text("forwarded to 102")', { timeout: 10_000 });
  await page.click('#cf-open');
  await page.waitForSelector('dialog.cf-dialog[open]');
  assert((await page.inputValue('#cf-unconditional')) === '102', 'the dialog opens with what the PBX holds');
  const bare = await unlabeled(page);
  assert(bare.length === 0, `forwarding dialog controls without an accessible name: ${bare.join('\n')}`);
  await assertAccessible(page, 'forwarding dialog');
  await page.screenshot({ path: join(env.out, 'forwarding-dialog.png') });
  await page.click('#cf-close');

  // --- a change made elsewhere (the API, as the CLI does) reaches the header over the event stream
  from = peer.actions.length;
  const off = await d.api('PUT', '/api/v1/me/dnd', token, { dnd: false });
  assert(off.status === 200, `PUT dnd false: ${off.text}`);
  await until('DBDel dnd/100', () => peer.received('DBDel', from).find((a) => a.key === 'dnd/100'));
  await page.waitForSelector('header #dnd-toggle[aria-pressed=false]', { timeout: 10_000 });
  await board.waitForSelector('.presence button[data-device="100"]:not(.state-dnd)', { timeout: 10_000 });
  await assertAccessible(page, 'header with DND and forwarding');

  // --- a PBX without the include (the lab's stock dialplan): the toggle is off and says why
  const stock = new AmiPeer();
  stock.answer('ShowDialPlan', (h, id) => `Response: Error\r\n${id}Message: Did not find context callbridge-version\r\n\r\n`);
  await stock.start();
  ctx.cleanups.push(() => stock.stop());
  const d2 = new Daemon(stock.port, tenantToml);
  const t2 = d2.token('anna', 'user', '100', 'Anna Alpha');
  await d2.start();
  ctx.cleanups.push(() => d2.stop());
  const p3 = instrument(ctx, await b.newPage({ viewport: { width: 1200, height: 760 } }));
  await p3.goto(`http://127.0.0.1:${d2.port}/?token=${encodeURIComponent(t2)}`);
  await p3.waitForSelector('header #dnd-toggle[disabled]', { timeout: 20_000 });
  const why = await p3.getAttribute('#dnd-toggle', 'title');
  assert(/lacks callbridge's dialplan \(contrib\/asterisk\/callbridge\.conf/.test(why ?? ''), `the reason: ${why}`);

  // --- demo mode: the simulated PBX has the include (docs/pbxsim.md): DND works there too, and
  // the simulator's calls honour it (Demo.DndAndForwardingAreCarriedOutByTheSimulatedPbx)
  const demo = startDemo(ctx, 'callfeatures');
  const anna = await demo.link('Anna');
  const p2 = instrument(ctx, await b.newPage({ viewport: { width: 1200, height: 760 } }));
  await p2.goto(anna);
  await p2.waitForSelector('header #dnd-toggle[aria-pressed=false]:not([disabled])', { timeout: 20_000 });
  await p2.click('#dnd-toggle');
  await p2.waitForSelector('header #dnd-toggle[aria-pressed=true]', { timeout: 10_000 });
  const link = new URL(anna);
  const me = await (await fetch(`${link.origin}/api/v1/me/dnd`, {
    headers: { Authorization: `Bearer ${link.searchParams.get('token')}` } })).json();
  assert(me.available === true && me.dnd === true, `the simulated PBX holds DND: ${JSON.stringify(me)}`);
});
