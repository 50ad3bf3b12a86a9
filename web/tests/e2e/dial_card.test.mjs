// Browser end to end (Chromium and Firefox): a call the user dials. The card shows the dialed number and the
// lookup at once (never "unknown"), then the PBX's view (replayed click_to_dial_originate capture:
// the own phone rings first, then the destination); dialing again while connected asks first
// ("Dial anyway?", nothing sent before the answer); the "Calling ..." line goes away by itself.
import { join } from 'node:path';
import { AmiPeer, Daemon, assert, assertAccessible, browser, env, fixtureBlocks, instrument, run, until } from './harness.mjs';

run('a dialed call in the browser', async (ctx) => {
  const peer = new AmiPeer();
  await peer.start();
  ctx.cleanups.push(() => peer.stop());
  const d = new Daemon(peer.port);
  ctx.daemon = d;
  const token = d.token('anna', 'user', '100', 'Anna Alpha');
  await d.start();
  ctx.cleanups.push(() => d.stop());
  await d.api('POST', '/api/v1/contacts', token, { display_name: 'Max Muster', company: 'ACME', numbers: [{ label: 'work', number: '+4989123456' }] });

  const b = await browser();
  ctx.cleanups.push(() => b.close());
  const page = instrument(ctx, await b.newPage({ viewport: { width: 1100, height: 760 } }));
  await page.goto(`http://127.0.0.1:${d.port}/?token=${encodeURIComponent(token)}`);
  await page.waitForSelector('#status.online', { timeout: 10_000 });

  // --- dial: the Originate goes out, the flash says so
  let from = peer.actions.length;
  await page.fill('#dial', '089 123456');
  await page.keyboard.press('Enter');
  const orig = await until('Originate', () => peer.received('Originate', from)[0]);
  assert(/^PJSIP\/100$/.test(orig.channel ?? ''), `Originate from 100: ${orig.raw}`);
  await page.waitForSelector('.flash.ok:has-text("Calling 089 123456")');

  // --- the PBX's events: the card shows a number from the first event on, never "unknown"
  const blocks = fixtureBlocks('click_to_dial_originate');
  const first = blocks.findIndex((x) => /^Event: Newchannel\r\n/m.test(x));
  // Up to (not including) the first hangup: 100 rang, answered, the destination answered.
  const bridged = blocks.findIndex((x) => /^Event: (HangupRequest|SoftHangupRequest|Hangup)\r\n/m.test(x)) - 1;
  assert(first >= 0 && bridged > first, 'fixture has the channel and the hangup');
  const seen = [];
  for (let i = 0; i <= bridged; i++) {
    peer.send([blocks[i]]);
    if (i % 10 === 0 || i === bridged) {
      const card = await page.$('article.card');
      if (!card) continue;
      const text = await card.innerText();
      seen.push(text.split('\n').slice(0, 3).join(' / '));
      assert(!/\bunknown\b/i.test(text) && !/alerting|initiated/.test(text), `card in words, with a number: ${text}`);
      assert(/089|\+49|100/.test(await card.$eval('.number', (e) => e.textContent)), `number on the card: ${text}`);
    }
  }
  console.log(`# card while dialing: ${[...new Set(seen)].join(' | ')}`);
  const card = await page.waitForSelector('article.card[data-state=connected]', { timeout: 5_000 });
  await page.waitForSelector('article.card .contact:has-text("Max Muster")', { timeout: 5_000 });
  assert(/Connected \d\d:\d\d/.test(await card.$eval('.badge', (e) => e.textContent)), 'connected with a timer');
  await page.screenshot({ path: join(env.out, 'dialed-call.png') });
  await assertAccessible(page, 'calls (dialed call)');

  // --- dialing while on a call asks first; nothing is sent before "Dial"
  from = peer.actions.length;
  await page.fill('#dial', '102');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.confirm:has-text("already on a call")');
  assert(peer.received('Originate', from).length === 0, 'no Originate before the answer');
  await page.click('#confirm-dial');
  await until('Originate after "Dial anyway"', () => peer.received('Originate', from)[0]);
  await page.waitForSelector('.confirm', { state: 'detached', timeout: 2_000 });  // the question is gone

  // --- Alt+H hangs up the active call (the phone's channel)
  const hz = peer.actions.length;
  await page.keyboard.press('Alt+h');
  const hang = await until('Hangup after Alt+H', () => peer.received('Hangup', hz)[0]);
  assert(/^PJSIP\/100-/.test(hang.channel ?? ''), `Alt+H hung up 100's channel: ${hang.raw}`);

  // --- the rest of the call; the flash line disappears by itself
  peer.send(blocks.slice(bridged + 1));
  await page.waitForSelector('article.card', { state: 'detached', timeout: 10_000 });
  await page.waitForSelector('.flash', { state: 'detached', timeout: 10_000 });
  console.log('# "Calling ..." gone by itself');
});
