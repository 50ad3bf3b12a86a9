// Browser end to end (Chromium and Firefox): AnyDevice. The header shows the active device at all
// times; the devices dialog adds the mobile (a premium number is refused with the tenant's reason);
// one click in the header makes it active, and click-to-dial then rings the mobile first (the
// Originate's Channel Local/<mobile>@..., CallerID the office number); a change made elsewhere (the
// API, as the CLI or an admin would) reaches the header over the event stream; back to the desk
// phone, the Originate is PJSIP/100 again; removing the device. ctest label `anydevice`.
import { join } from 'node:path';
import { AmiPeer, Daemon, assert, assertAccessible, browser, env, instrument, run, unlabeled, until } from './harness.mjs';

const tenantToml = `
[tenant.default.dialing]
country_code = "49"
area_code = "30"
base_number = "555"
extension_length = 3
outside_prefix = "0"

[tenant.default.call_control]
office_number = "+4930555100"

[tenant.default.any_device]
allow = ["+4915*", "+4916*", "+4917*"]
deny = ["+49900*"]
max_devices = 3
`;

run('AnyDevice in the browser', async (ctx) => {
  const peer = new AmiPeer();
  await peer.start();
  ctx.cleanups.push(() => peer.stop());
  const d = new Daemon(peer.port, tenantToml);
  ctx.daemon = d;
  const token = d.token('anna', 'user', '100', 'Anna Alpha');
  await d.start();
  ctx.cleanups.push(() => d.stop());

  const b = await browser();
  ctx.cleanups.push(() => b.close());
  const page = instrument(ctx, await b.newPage({ viewport: { width: 1100, height: 760 } }));
  await page.goto(`http://127.0.0.1:${d.port}/?token=${encodeURIComponent(token)}`);
  await page.waitForSelector('#status.online', { timeout: 10_000 });

  // --- the header shows the desk phone as the active device
  await page.waitForSelector('header #active-device');
  assert((await page.inputValue('#active-device')) === '100', 'the desk phone is active at first');

  // --- the dialog: a premium number is refused with the reason, the mobile is added
  await page.click('#mydev-open');
  await page.waitForSelector('dialog.mydev-dialog[open]');
  await page.fill('#mydev-name', 'Bad Name');
  await page.waitForSelector('#mydev-name[aria-invalid=true]');
  await page.fill('#mydev-name', 'premium');
  await page.fill('#mydev-number', '0900 1234567');
  await page.click('.mydev-form button[type=submit]');
  await page.waitForSelector('.flash.error:has-text("deny pattern +49900*")');
  await page.fill('#mydev-name', 'mobile');
  await page.fill('#mydev-number', '0170 1234567');
  await page.check('#mydev-company');  // a company phone: its calls are company costs in the journal
  await page.click('.mydev-form button[type=submit]');
  await page.waitForSelector('dialog.mydev-dialog li[data-device=mobile]:has-text("+491701234567")');
  await page.waitForSelector('dialog.mydev-dialog li[data-device=mobile]:has-text("company")');
  {
    const got = await d.api('GET', '/api/v1/me/devices', token);
    const mobile = JSON.parse(got.text).devices.find((x) => x.name === 'mobile');
    assert(mobile && mobile.private === false, `the mobile is stored as a company device: ${got.text}`);
  }
  let bare = await unlabeled(page);
  assert(bare.length === 0, `devices dialog controls without an accessible name: ${bare.join('\n')}`);
  await assertAccessible(page, 'devices dialog');
  await page.screenshot({ path: join(env.out, 'mydev-dialog.png') });
  await page.click('#mydev-close');
  await page.waitForSelector('dialog.mydev-dialog:not([open])', { state: 'attached' });

  // --- one click: the mobile is active; click-to-dial rings it first, showing the office number
  await page.selectOption('#active-device', 'mobile');
  await until('mobile active on the server', async () => (await d.api('GET', '/api/v1/me/devices', token)).json?.active === 'mobile');
  await page.waitForSelector('header .mydev-label:has-text("📱")');
  let from = peer.actions.length;
  await page.fill('#dial', '089 123456');
  await page.keyboard.press('Enter');
  let orig = await until('Originate via the mobile', () => peer.received('Originate', from)[0]);
  assert(orig.channel === 'Local/001701234567@from-internal', `first leg is the mobile: ${orig.raw}`);
  assert(orig.callerid === '"+4930555100" <+4930555100>', `the office number shows: ${orig.raw}`);
  await page.screenshot({ path: join(env.out, 'devices-header.png') });

  // --- a change made elsewhere (API, as the CLI does) reaches the header over the event stream
  const put = await d.api('PUT', '/api/v1/me/devices/active', token, { device: '100' });
  assert(put.status === 200, `PUT active 100: ${put.text}`);
  await page.waitForFunction(() => document.querySelector('#active-device')?.value === '100', null, { timeout: 10_000 });
  from = peer.actions.length;
  await page.fill('#dial', '089 123456');
  await page.keyboard.press('Enter');
  orig = await until('Originate from the desk phone', () => peer.received('Originate', from)[0]);
  assert(orig.channel === 'PJSIP/100', `first leg is the desk phone: ${orig.raw}`);

  // --- removing the device in the dialog
  await page.click('#mydev-open');
  await page.click('button[aria-label="Remove device mobile"]');
  await page.waitForSelector('dialog.mydev-dialog li[data-device=mobile]', { state: 'detached' });
  const after = (await d.api('GET', '/api/v1/me/devices', token)).json;
  assert(after.devices.length === 1 && after.active === '100', `after removing: ${JSON.stringify(after)}`);
  await page.click('#mydev-close');
  bare = await unlabeled(page);
  assert(bare.length === 0, `header controls without an accessible name: ${bare.join('\n')}`);
});
