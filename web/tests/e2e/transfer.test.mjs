// Browser end to end (Chromium and Firefox): the consult -> complete transfer flow as one piece, against the
// real callbridged fed by the captured live_attended_transfer_api session (100 talks to a caller,
// consults 102 with Atxfer, completes). The target is typed with suggestions and survives the
// live updates; Consult sends Atxfer to 102; the held call and the consultation are shown together
// with "Complete transfer" and "Cancel consultation", which hangs up the consulted side, never 100's
// channel (for an Atxfer that would complete the transfer; here Asterisk refuses it once, so the
// pair stays); Complete sends the hang-up of 100's channel
// (how Asterisk completes an Atxfer); when both calls are gone a confirmation says who went where.
import { join } from 'node:path';
import { AmiPeer, Daemon, asCall, assert, assertAccessible, browser, env, fixtureBlocks, instrument, run, until } from './harness.mjs';

run('consult and transfer in the browser', async (ctx) => {
  const peer = new AmiPeer();
  await peer.start();
  ctx.cleanups.push(() => peer.stop());
  const d = new Daemon(peer.port);
  ctx.daemon = d;
  const token = d.token('anna', 'user', '100', 'Anna Alpha', 'Sales');
  d.token('carl', 'user', '102', 'Carl Charlie', 'Sales');
  await d.start();
  ctx.cleanups.push(() => d.stop());

  const b = await browser();
  ctx.cleanups.push(() => b.close());
  const page = instrument(ctx, await b.newPage({ viewport: { width: 1200, height: 800 } }));
  await page.goto(`http://127.0.0.1:${d.port}/?token=${encodeURIComponent(token)}`);
  await page.waitForSelector('#status.online', { timeout: 10_000 });

  const blocks = fixtureBlocks('live_attended_transfer_api');
  // Atxfer puts the caller on hold (Hold, MusicOnHoldStart) before it dials 102.
  const consultAt = blocks.findIndex((x) => /^Event: Hold\r\n/m.test(x));
  const completeAt = blocks.findIndex((x) => /^Event: AttendedTransfer\r\n/m.test(x));
  assert(consultAt > 0 && completeAt > consultAt, `fixture stages: ${consultAt} ${completeAt}`);

  // --- the caller is connected to 100
  peer.send(blocks.slice(0, consultAt));
  const card = await page.waitForSelector('article.card[data-state=connected]', { timeout: 10_000 });
  const heldId = await card.getAttribute('data-call-id');
  const target = `#target-${heldId.replace(/[^a-zA-Z0-9_-]/g, (c) => `\\${c}`)}`;

  // --- the target: typed while another call rings in and goes (a card above appears and leaves),
  // kept and focused through the re-renders
  await page.click(target);
  await page.keyboard.type('10');
  const other = asCall(fixtureBlocks('inbound_missed'), 7);
  const rang = other.findIndex((x) => /^Event: HangupRequest\r\n/m.test(x));
  peer.send(other.slice(0, rang));
  await page.waitForSelector('article.card.ringing');
  await page.keyboard.type('2');
  peer.send(other.slice(rang));
  await page.waitForSelector('article.card.ringing', { state: 'detached' });
  assert(await page.inputValue(target) === '102', 'the target survived the updates');
  assert(await page.evaluate((id) => document.activeElement?.id === id, `target-${heldId}`), 'focus stayed in the target field');
  await page.keyboard.press('Escape');
  const from = peer.actions.length;
  await page.click(`article.card[data-call-id="${heldId}"] button[data-action=consult]`);
  const atxfer = await until('Atxfer after Consult', () => peer.received('Atxfer', from)[0]);
  assert(/^PJSIP\/100-/.test(atxfer.channel ?? '') && atxfer.exten === '102', `consult: ${atxfer.raw}`);

  // --- the consultation: both calls in one group with Complete / Cancel
  peer.send(blocks.slice(consultAt, completeAt));
  const pair = await page.waitForSelector(`.pair[data-held="${heldId}"]:not([data-consult=""])`, { timeout: 10_000 });
  const consultId = await pair.getAttribute('data-consult');
  assert(consultId && consultId !== heldId, 'the consultation call joined the pair');
  await until('two cards in the pair', async () => (await pair.$$('article.card')).length === 2);
  const head = await pair.$eval('.pair-head', (e) => e.textContent);
  assert(/on hold while you talk to 102/.test(head), `pair head: ${head}`);
  await page.screenshot({ path: join(env.out, 'consult-pair.png') });  // (docs/img: before the refused cancel's alert)
  // An Atxfer consultation (the PBX holds the caller, one channel of the phone carries both calls):
  // Cancel hangs up the consulted side (Asterisk then returns 100 to the caller), not 100's channel,
  // which would complete the transfer. The replay refuses that Hangup once: the pair stays.
  const c0 = peer.actions.length;
  peer.failNext('Hangup', 'No such channel');
  await page.click(`#cancel-${heldId.replace(/[^a-zA-Z0-9_-]/g, (ch) => `\\${ch}`)}`);
  const cancel = await until('Hangup after Cancel', () => peer.received('Hangup', c0)[0]);
  assert(cancel.channel && !/^PJSIP\/100-/.test(cancel.channel), `cancel = hang-up of the consulted side: ${cancel.raw}`);
  await until('the refused cancel as an alert', async () => /No such channel/.test(await page.innerText('body')));
  await until('Complete usable again', async () => !(await page.$eval(`#complete-${heldId.replace(/[^a-zA-Z0-9_-]/g, (ch) => `\\${ch}`)}`, (e) => e.disabled)));
  await assertAccessible(page, 'calls (consultation pair)');
  const h = peer.actions.length;
  await page.click(`#complete-${heldId.replace(/[^a-zA-Z0-9_-]/g, (c) => `\\${c}`)}`);
  const hang = await until('Hangup after Complete transfer', () => peer.received('Hangup', h)[0]);
  assert(/^PJSIP\/100-/.test(hang.channel ?? ''), `complete = hang-up of 100's channel: ${hang.raw}`);

  // --- Asterisk completes it: both calls leave 100, a confirmation says so
  peer.send(blocks.slice(completeAt));
  await page.waitForSelector('article.card', { state: 'detached', timeout: 10_000 });
  const done = await page.waitForSelector('.flash.ok:has-text("Transferred")', { timeout: 5_000 });
  console.log(`# ${await done.textContent()}`);
  assert(/to 102/.test(await done.textContent()), 'confirmation names the target');
});
