// Browser end to end through the cloud relay (Chromium; issue 16, docs/relay.md): a real
// callbridge-relay (TLS, self-signed for 127.0.0.1) and `callbridged --demo` as the edge dialling
// out to it. `callbridge pair` prints the pairing link; Chromium opens it on the relay with Anna's
// demo token: the page pairs (the secret only in the fragment), signs in through the tunnel, its
// status turns online and a demo call for Anna pops on a card. A reload comes back with the stored
// keys (hello, no link). The relay's output never shows the token or Anna's name.
// Run by ctest web_e2e_relay_pairing (CALLBRIDGE_RELAY = the relay program).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assert, browser, env, instrument, run, until } from './harness.mjs';

const relayBin = process.env.CALLBRIDGE_RELAY;
if (!relayBin) { console.error('e2e: missing CALLBRIDGE_RELAY (run through ctest)'); process.exit(2); }

run('pairing and a screen pop through the relay', async (ctx) => {
  const dir = mkdtempSync(join(tmpdir(), 'cb-relay-e2e-'));
  ctx.cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
  { stdio: 'ignore' });
  const relayConf = join(dir, 'relay.toml');
  writeFileSync(relayConf, `listen = "127.0.0.1:0"\nregistry = "${join(dir, 'edges.json')}"\nweb_root = "${env.web}"\n` +
    `log_level = "debug"\n\n[tls]\ncert_file = "${join(dir, 'cert.pem')}"\nkey_file = "${join(dir, 'key.pem')}"\n`);
  const join_token = execFileSync(relayBin, ['--config', relayConf, 'edge', 'add', 'acme'], { encoding: 'utf8' }).trim().split('\n').pop().trim();

  const relay = spawn(relayBin, ['--config', relayConf, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let relayOut = '';
  relay.stdout.on('data', (d) => { relayOut += d; });
  relay.stderr.on('data', (d) => { relayOut += d; });
  ctx.cleanups.push(() => relay.kill('SIGTERM'));
  const port = Number((await until('the relay to listen', () => /listening on 127\.0\.0\.1:(\d+)/.exec(relayOut), 15_000))[1]);

  const data = join(dir, 'data');
  const cbConf = join(dir, 'cb.toml');
  writeFileSync(cbConf, `[relay]\nurl = "wss://127.0.0.1:${port}"\nedge_id = "acme"\njoin_token = "${join_token}"\n` +
    `ca_file = "${join(dir, 'cert.pem')}"\n`);
  const daemon = spawn(env.daemon, ['--demo', '--listen', '127.0.0.1:0', '--data-dir', data, '--config', cbConf], {
    env: { ...process.env, CALLBRIDGE_WEB_DIR: env.web }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  daemon.stdout.on('data', (d) => { out += d; });
  daemon.stderr.on('data', (d) => { out += d; });
  ctx.daemon = { get output() { return `${out}\n--- relay ---\n${relayOut.slice(-3000)}`; } };
  ctx.cleanups.push(() => daemon.kill('SIGTERM'));
  const annaLink = (await until("the demo to print Anna's link", () => /Open as Anna[^:]*: (http:\/\/\S+)/.exec(out), 20_000))[1];
  const token = new URL(annaLink).searchParams.get('token');
  assert(token, `a token in Anna's link ${annaLink}`);
  await until('the edge to log in at the relay', () => /end-to-end tunnel/.test(out) && /relay: logged in at/.test(out), 20_000);

  const pairOut = execFileSync(env.cli, ['pair', '--data-dir', data, '--tenant', 'default', '--edge', 'acme',
    '--relay-url', `wss://127.0.0.1:${port}`, '--label', 'e2e browser', '--no-qr'], { encoding: 'utf8' });
  const link = pairOut.trim().split('\n').pop();
  assert(link.startsWith(`https://127.0.0.1:${port}/#pair=acme.`), `pairing link ${link}`);

  const b = await browser();
  ctx.cleanups.push(() => b.close());
  const page = instrument(ctx, await b.newPage({ ignoreHTTPSErrors: true, viewport: { width: 1200, height: 800 }, locale: 'en-US' }));
  await page.goto(link.replace('/#pair=', `/?token=${encodeURIComponent(token)}#pair=`));
  await page.waitForSelector('#status.online', { timeout: 30_000 });
  assert(/Anna/.test(await page.textContent('header .who')), 'signed in as Anna through the relay');
  assert(!page.url().includes('pair='), `the secret left the address bar: ${page.url()}`);
  assert(await page.evaluate(() => document.body.dataset.relay) === 'online', 'the relay transport is online');
  await page.waitForSelector('article.card', { timeout: 60_000 });
  console.log('# a call popped through the relay');

  // A reload: the stored keys say hello, the edge still has Anna's session cookie for this client.
  await page.reload();
  await page.waitForSelector('#status.online', { timeout: 30_000 });
  assert(/Anna/.test(await page.textContent('header .who')), 'still Anna after a reload');

  const listed = execFileSync(env.cli, ['pair', 'list', '--data-dir', data, '--tenant', 'default'], { encoding: 'utf8' });
  assert(/paired\s+\S+\s+\S+\s+e2e browser/.test(listed), `the device is listed as paired: ${listed}`);
  assert(!relayOut.includes(token), "the relay's output never shows the user's token");
  assert(!/Anna|Berger/.test(relayOut), "the relay's output never shows a user's name");
});
