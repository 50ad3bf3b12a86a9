// Browser end to end: "Pick up" on the card of a call ringing at a colleague's line (issue 13),
// against the real callbridged fed by a loopback AMI peer replaying two real Asterisk 22 pickups.
// Sue is a supervisor with extension 102: she sees every call of the tenant, and a call ringing
// at Ben's 101 offers "pickup" in its allowed_actions, so the Calls page shows it under "Ringing
// at colleagues" with a Pick up button. Clicking it makes callbridged send the Originate into
// PickupChan of 101's ringing channel; the rest of live_pickup_via_api (OriginateResponse, Pickup)
// ends the card and the command is done. Then live_pickup_too_late: Ben answers while Sue's phone
// rings, PickupChan finds nothing (the picker's channel hangs up without a Pickup event) and the
// page says "Nothing to pick up" in an alert.
import { AmiPeer, Daemon, assert, assertAccessible, browser, fixtureBlocks, instrument, run, until } from './harness.mjs';

const TENANT = `
[tenant.default.dialing]
country_code = "49"
extension_ranges = ["100-199"]
`;

// The capture's events from the first call event on, split where the picker's (102) channel
// first appears: before it, the call rings at 101; after it, what the pickup brought.
function split(scenario) {
  const blocks = fixtureBlocks(scenario).filter((b) => !/^Event: (FullyBooted|SuccessfulAuth|CoreShowChannelsComplete)\r\n/.test(b));
  const at = blocks.findIndex((b) => /^Channel: PJSIP\/102-/m.test(b));
  assert(at > 0, `${scenario}: the picker's channel`);
  return { ringing: blocks.slice(0, at), pickup: blocks.slice(at) };
}

// The OriginateResponse of the capture carries the ActionID the live run's callbridged sent; the
// replay answers this daemon's own.
const withActionId = (blocks, id) => blocks.map((b) => b.replace(/^ActionID: pickup-\d+$/m, `ActionID: ${id}`));

// Clicks the Pick up button of the card ringing at 101; the command id of the server's 202.
async function pickUp(page) {
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/pickup') && r.request().method() === 'POST'),
    page.click('article.card.colleague-ringing[data-ringing-at="101"] button[data-action="pickup"]')]);
  assert(resp.status() === 202, `pickup answered ${resp.status()}`);
  return (await resp.json()).command_id;
}

run('pick up a colleague\'s ringing call from its card', async (ctx) => {
  const peer = new AmiPeer();
  await peer.start();
  ctx.cleanups.push(() => peer.stop());
  const d = new Daemon(peer.port, TENANT);
  ctx.daemon = d;
  const sue = d.token('sue', 'supervisor', '102', 'Sue Super');
  d.token('ben', 'user', '101', 'Ben Bravo');
  await d.start();
  ctx.cleanups.push(() => d.stop());

  const b = await browser();
  ctx.cleanups.push(() => b.close());
  const base = `http://127.0.0.1:${d.port}`;
  const context = await b.newContext({ viewport: { width: 1100, height: 760 } });
  const page = instrument(ctx, await context.newPage());
  await page.goto(`${base}/?token=${encodeURIComponent(sue)}`);
  await page.waitForSelector('#status.online', { timeout: 10_000 });

  // 1. A caller rings Ben's 101: the server offers pickup on that connection, the page a card.
  const taken = split('live_pickup_via_api');
  peer.send(taken.ringing);
  const card = await page.waitForSelector('article.card.colleague-ringing[data-ringing-at="101"]', { timeout: 10_000 });
  const callId = await card.getAttribute('data-call-id');
  const call = await d.api('GET', `/api/v1/calls/${encodeURIComponent(callId)}`, sue);
  assert(call.status === 200, `GET call: ${call.status} ${call.text}`);
  assert((call.json.allowed_actions['101'] ?? []).includes('pickup'), `pickup offered at 101: ${call.text}`);
  const label = await card.getAttribute('aria-label');
  assert(/Ben Bravo/.test(label), `the card names Ben's line: ${label}`);
  await assertAccessible(page, 'calls with a colleague\'s ringing call');

  // 2. Pick up: the Originate into PickupChan of 101's ringing channel, Sue's 102 first.
  const before = peer.actions.length;
  const command = await pickUp(page);
  const originate = await until('the Originate of the pickup', () => peer.received('Originate', before)[0]);
  assert(originate.channel === 'PJSIP/102', `picker channel: ${originate.raw}`);
  assert(originate.application === 'PickupChan', `application: ${originate.raw}`);
  assert(/^PJSIP\/101-[0-9a-f]{8}$/.test(originate.data), `ringing channel: ${originate.raw}`);
  await until('"your phone rings"', async () => /Picking up the call ringing at Ben Bravo/.test(await page.innerText('body')));

  // 3. Sue's phone answered and PickupChan took the call: the colleague's card goes away.
  peer.send(withActionId(taken.pickup, originate.actionid));
  await until('the card to go', async () => !(await page.$('article.card.colleague-ringing')));
  await until('the pickup command done', async () => (await d.api('GET', `/api/v1/commands/${command}`, sue)).json?.state === 'done');

  // 4. Too late: Ben answers while Sue's phone rings; the page says there was nothing to pick up.
  const late = split('live_pickup_too_late');
  peer.send(late.ringing);
  await page.waitForSelector('article.card.colleague-ringing[data-ringing-at="101"]', { timeout: 10_000 });
  const before2 = peer.actions.length;
  const command2 = await pickUp(page);
  const originate2 = await until('the second Originate', () => peer.received('Originate', before2)[0]);
  assert(originate2.actionid !== originate.actionid, 'a new ActionID');
  peer.send(withActionId(late.pickup, originate2.actionid));
  await until('"Nothing to pick up"', async () => /Nothing to pick up at Ben Bravo/.test(await page.innerText('body')), 15_000);
  const failed = await d.api('GET', `/api/v1/commands/${command2}`, sue);
  assert(failed.json?.state === 'failed' && /^Nothing to pick up: the call stopped ringing at 101/.test(failed.json?.reason ?? ''),
    `the command failed in words: ${failed.text}`);
  const alerts = await page.$$eval('[role="alert"], .alert', (els) => els.map((e) => e.textContent));
  assert(alerts.some((a) => /Nothing to pick up/.test(a)), `shown as an alert: ${JSON.stringify(alerts)}`);
});
