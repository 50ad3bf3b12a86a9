// Firefox smoke test: Debian's firefox-esr (never a downloaded browser) driven by puppeteer-core
// over WebDriver BiDi against the real callbridged fed by the loopback AMI peer: sign-in by token
// link, German from the browser's languages, the screen pop of a replayed inbound call with the
// contact arriving while the user types in the dial box (focus and text kept after every key), the
// tab title and banner while it rings, axe-core on that screen (no serious/critical violations),
// and click-to-dial making the daemon send the AMI Originate. The full suite runs in Chromium (*.test.mjs); this checks that the
// client works in Firefox too. Run by ctest (label browser) when firefox-esr is installed.
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { AmiPeer, Daemon, assert, assertAccessible, env, fixtureBlocks, run, until } from './harness.mjs';

const firefox = process.env.FIREFOX || '/usr/bin/firefox-esr';

run('firefox smoke', async (ctx) => {
  const peer = new AmiPeer();
  await peer.start();
  ctx.cleanups.push(() => peer.stop());
  const d = new Daemon(peer.port);
  ctx.daemon = d;
  const token = d.token('anna', 'user', '100', 'Anna Alpha');
  await d.start();
  ctx.cleanups.push(() => d.stop());
  const made = await d.api('POST', '/api/v1/contacts', token, { display_name: 'Max Muster', company: 'ACME', numbers: [{ label: 'work', number: '+4989123456' }] });
  assert(made.status === 201 || made.status === 200, `create contact: ${made.status} ${made.text}`);

  const b = await puppeteer.launch({ browser: 'firefox', executablePath: firefox, headless: true,
    // No network besides the daemon on loopback: no updates, telemetry or remote settings.
    extraPrefsFirefox: { 'intl.accept_languages': 'de-DE,de', 'app.update.enabled': false, 'browser.shell.checkDefaultBrowser': false, 'datareporting.policy.dataSubmissionEnabled': false } });
  ctx.cleanups.push(() => b.close());
  console.log(`# ${await b.version()}`);
  const page = await b.newPage();
  await page.setViewport({ width: 1000, height: 700 });
  ctx.console = [];
  page.on('pageerror', (e) => ctx.console.push(`page error: ${e}`));
  page.on('console', (m) => ctx.console.push(`${m.type()}: ${m.text()}`));
  ctx.page = { url: () => page.url(), innerText: (sel) => page.$eval(sel, (e) => e.innerText), screenshot: (o) => page.screenshot(o) };

  const base = `http://127.0.0.1:${d.port}`;
  await page.goto(`${base}/?token=${encodeURIComponent(token)}`);
  await page.waitForSelector('#status.online', { timeout: 15_000 });
  assert(!page.url().includes('token='), 'token removed from the URL');
  const ua = await page.evaluate(() => navigator.userAgent);
  assert(/Firefox\//.test(ua), `running in Firefox: ${ua}`);

  // --- screen pop with the contact, arriving while the user types in the dial box: focus, text
  // and caret stay (keyed rendering), the tab title and the banner show the caller
  const blocks = fixtureBlocks('inbound_answered');
  const answerAt = blocks.findIndex((x) => /Event: Newstate/.test(x) && /Channel: PJSIP\/100-/.test(x) && /ChannelState: 6/.test(x));
  await page.click('#dial');
  const text = '089 123456';
  const per = Math.ceil(answerAt / text.length);
  let t0 = 0;
  for (let i = 0; i < text.length; i++) {
    if (i * per < answerAt) { if (!t0) t0 = Date.now(); peer.send(blocks.slice(i * per, Math.min(answerAt, (i + 1) * per))); }
    await page.keyboard.type(text[i]);
    const s = await page.evaluate(() => ({ id: document.activeElement?.id, value: document.getElementById('dial').value }));
    assert(s.id === 'dial' && s.value === text.slice(0, i + 1), `Firefox: focus and text kept after ${i + 1} keys: ${JSON.stringify(s)}`);
  }
  await page.waitForSelector('article.card.ringing', { timeout: 5_000 });
  console.log(`# screen pop within ${Date.now() - t0} ms of the first event, typing meanwhile`);
  await page.waitForSelector('article.card.ringing .contact', { timeout: 5_000 });
  await until('the contact on the card', () => page.$eval('article.card.ringing', (e) => e.textContent.includes('Max Muster')));
  const number = await page.$eval('article.card .number', (e) => e.textContent);
  assert(number.replace(/\s/g, '').includes('89123456'), `number shown: ${number}`);
  assert((await page.$eval('article.card .badge', (e) => e.textContent)) === 'Klingelt', 'state in words, German from the browser');
  assert(await page.$eval('nav', (e) => e.textContent.includes('Anrufe')), 'German navigation');
  await until('the tab title', async () => (await page.title()).startsWith('☎'));
  await page.waitForSelector('.incoming-banner');
  await assertAccessible(page, 'Firefox: calls with a ringing card');
  await page.screenshot({ path: join(env.out, 'firefox-pop.png') });
  peer.send(blocks.slice(answerAt));
  await page.waitForSelector('article.card', { hidden: true, timeout: 10_000 });
  assert(await page.title() === 'callbridge', 'title back');
  assert(await page.$eval('#dial', (e) => e.value) === text, 'dial box text intact');

  // --- click-to-dial -> Originate from the user's phone
  const from = peer.actions.length;
  await page.click('form.dialbox button[type=submit]');
  const orig = await until('Originate', () => peer.received('Originate', from)[0]);
  assert(/^PJSIP\/100$/.test(orig.channel ?? ''), `Originate from PJSIP/100: ${orig.raw}`);
  assert((orig.exten ?? '').replace(/\D/g, '').endsWith('89123456'), `Originate to the number: ${orig.raw}`);
  await page.waitForSelector('.flash.ok');
});
