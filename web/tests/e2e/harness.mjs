// Shared pieces of the browser end-to-end tests: a loopback AMI peer that replays captured
// fixtures (tests/fixtures/asterisk-22) and records the actions it receives, the real callbridged
// started on port 0 with a temp data dir, a cuttable TCP proxy (network loss) and the browser via
// playwright-core: Debian's chromium, or its firefox-esr over WebDriver BiDi when E2E_BROWSER=firefox
// (the same test files run in both; ctest names web_e2e_<test> and web_e2e_firefox_<test>).
// Paths come from the environment ctest sets (web/CMakeLists.txt).
import net from 'node:net';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, firefox } from 'playwright-core';

export const browserName = process.env.E2E_BROWSER || 'chromium';
if (!['chromium', 'firefox'].includes(browserName)) { console.error(`e2e: E2E_BROWSER=${browserName}: chromium or firefox`); process.exit(2); }
export const env = {
  daemon: process.env.CALLBRIDGED,
  cli: process.env.CALLBRIDGE_CLI,
  web: process.env.CALLBRIDGE_WEB_DIR,
  browser: browserName === 'firefox' ? process.env.FIREFOX || '/usr/bin/firefox-esr' : process.env.CHROMIUM || '/usr/bin/chromium',
  fixtures: process.env.CALLBRIDGE_FIXTURES,
  // Screenshots: Chromium's in E2E_OUT (some are committed under docs/img), Firefox's in firefox/.
  out: join(process.env.E2E_OUT || join(tmpdir(), 'cb-e2e-out'), browserName === 'firefox' ? 'firefox' : ''),
};
for (const [k, v] of Object.entries(env)) if (!v) { console.error(`e2e: missing ${k} (run through ctest -L browser)`); process.exit(2); }
mkdirSync(env.out, { recursive: true });

// Waits for cond() to be truthy, polling (event-driven checks are in the page; this bounds them).
export async function until(what, cond, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try { last = await cond(); if (last) return last; } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

export function fixtureBlocks(scenario) {
  const text = readFileSync(join(env.fixtures, scenario, 'ami.log'), 'latin1');
  const afterBanner = text.slice(text.indexOf('\r\n') + 2);
  return afterBanner.split('\r\n\r\n').filter((b) => b.trim() && !/^Response:/m.test(b.split('\r\n')[0]))
    .map((b) => b + '\r\n\r\n');
}

export class AmiPeer {
  constructor() {
    this.actions = [];
    this.clients = new Set();
    this.failures = new Map();  // lower-case action name -> error message for its next occurrence
    this.answers = new Map();   // lower-case action name -> (headers, 'ActionID: ..\r\n' or '') => the reply
    this.server = net.createServer((s) => this.#accept(s));
  }
  async start() {
    await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = this.server.address().port;
  }
  #accept(s) {
    s.setEncoding('latin1');
    s.write('Asterisk Call Manager/11.0.0\r\n');
    let buf = '';
    s.on('data', (d) => {
      buf += d;
      if (buf.length > 1 << 20) { s.destroy(); return; }
      let i;
      while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 4);
        const h = Object.fromEntries(block.split('\r\n').map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
        this.actions.push({ ...h, raw: block });
        const id = h.actionid ? `ActionID: ${h.actionid}\r\n` : '';
        const fail = this.failures.get(h.action?.toLowerCase());
        if (fail) { this.failures.delete(h.action.toLowerCase()); s.write(`Response: Error\r\n${id}Message: ${fail}\r\n\r\n`); continue; }
        if (h.action?.toLowerCase() === 'login') { s.write(`Response: Success\r\n${id}Message: Authentication accepted\r\n\r\n`); this.clients.add(s); }
        else if (this.answers.has(h.action?.toLowerCase())) s.write(this.answers.get(h.action.toLowerCase())(h, id));
        else if (h.action?.toLowerCase() === 'originate') s.write(`Response: Success\r\n${id}Message: Originate successfully queued\r\n\r\n`);
        else s.write(`Response: Success\r\n${id}EventList: start\r\nMessage: ok\r\n\r\nEvent: ${h.action}Complete\r\n${id}EventList: Complete\r\nListItems: 0\r\n\r\n`);
      }
    });
    s.on('close', () => this.clients.delete(s));
    s.on('error', () => {});
  }
  // Every `action` (e.g. 'ShowDialPlan') is answered with what `fn(headers, idLine)` returns.
  answer(action, fn) { this.answers.set(action.toLowerCase(), fn); }
  // The next `action` (e.g. 'BlindTransfer') is answered `Response: Error` with `message`.
  failNext(action, message) { this.failures.set(action.toLowerCase(), message); }
  // Actions received since index `from` named `name` (case-insensitive).
  received(name, from = 0) { return this.actions.slice(from).filter((a) => a.action?.toLowerCase() === name.toLowerCase()); }
  send(blocks) { for (const s of this.clients) s.write(blocks.join('')); }
  stop() { for (const s of this.clients) s.destroy(); this.server.close(); }
}

// A TCP proxy in front of the daemon: cut() drops every connection and refuses new ones until
// restore(), as a network loss does.
export class Proxy {
  constructor(targetPort) { this.target = targetPort; this.down = false; this.socks = new Set();
    this.server = net.createServer((c) => {
      if (this.down) { c.destroy(); return; }
      const u = net.connect(this.target, '127.0.0.1');
      this.socks.add(c); this.socks.add(u);
      c.pipe(u); u.pipe(c);
      const end = () => { c.destroy(); u.destroy(); this.socks.delete(c); this.socks.delete(u); };
      c.on('error', end); u.on('error', end); c.on('close', end); u.on('close', end);
    });
  }
  async start() { await new Promise((r) => this.server.listen(0, '127.0.0.1', r)); this.port = this.server.address().port; }
  cut() { this.down = true; for (const s of this.socks) s.destroy(); this.socks.clear(); }
  restore() { this.down = false; }
  stop() { this.cut(); this.server.close(); }
}

// `callbridged --demo` (the built-in PBX simulator, demo users and contacts) on port 0 with a fresh
// data dir, stopped and removed at the test's cleanup; its output is also ctx.daemon.output (shown
// when the test fails). `await demo.link('Anna')` / `demo.link('the admin')`: the sign-in link the
// demo prints for that person. `config`: the text of a --config file to start it with (e.g. a
// `[demo]` table with calls_per_minute and seed).
export function startDemo(ctx, name, { config } = {}) {
  const dir = mkdtempSync(join(tmpdir(), `cb-${name}-`));
  const args = ['--demo', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data')];
  if (config !== undefined) {
    writeFileSync(join(dir, 'cb.toml'), config);
    args.push('--config', join(dir, 'cb.toml'));
  }
  const proc = spawn(env.daemon, args, {
    env: { ...process.env, CALLBRIDGE_WEB_DIR: env.web }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const onData = (x) => { out += x; };
  proc.stdout.on('data', onData); proc.stderr.on('data', onData);
  ctx.daemon = { get output() { return out; } };
  ctx.cleanups.push(() => { proc.kill('SIGTERM'); rmSync(dir, { recursive: true, force: true }); });
  return {
    get output() { return out; },
    async link(who) {
      const re = who === 'the admin' ? /Open as the admin \([^)]*\): (http:\/\/\S+)/ : new RegExp(`Open as ${who}[^:]*: (http:\\/\\/\\S+)`);
      return (await until(`the demo to print ${who}'s link`, () => re.exec(out), 20_000))[1];
    },
  };
}

export class Daemon {
  constructor(amiPort, extraToml = '') {
    this.dir = mkdtempSync(join(tmpdir(), 'cb-e2e-'));
    this.config = join(this.dir, 'cb.toml');
    writeFileSync(this.config, `[server]\nlisten = "127.0.0.1:0"\n\n[[pbx]]\nname = "lab"\nhost = "127.0.0.1"\nport = ${amiPort}\n` +
      `user = "cti"\nsecret = "cti-secret"\nauth = "plain"\nkeepalive_s = 0\nconnect_timeout_s = 5\nreconnect_min_ms = 20\nreconnect_max_ms = 200\n${extraToml}`);
    this.output = '';
  }
  token(user, role, ext, name, team) {
    const out = execFileSync(env.cli, ['token', 'create', '--data-dir', join(this.dir, 'data'), '--tenant', 'default',
      '--user', user, '--role', role, '--extension', ext, '--display-name', name, ...(team ? ['--team', team] : [])], { encoding: 'utf8' });
    return out.trim().split('\n').pop().trim();
  }
  async start() {
    this.proc = spawn(env.daemon, ['--config', this.config, '--data-dir', join(this.dir, 'data')], {
      env: { ...process.env, CALLBRIDGE_WEB_DIR: env.web }, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (d) => { this.output += d; };
    this.proc.stdout.on('data', onData); this.proc.stderr.on('data', onData);
    const m = await until('callbridged to listen', () => /HTTP API listening on 127\.0\.0\.1:(\d+)/.exec(this.output), 15_000);
    this.port = Number(m[1]);
    await until('the AMI link', () => /AMI link to 127\.0\.0\.1:\d+ up/.test(this.output), 15_000);
  }
  async api(method, path, token, body) {
    const r = await fetch(`http://127.0.0.1:${this.port}${path}`, { method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    const text = await r.text();
    let json = null; try { json = JSON.parse(text); } catch { /* not json */ }
    return { status: r.status, json, text };
  }
  stop() { this.proc?.kill('SIGTERM'); rmSync(this.dir, { recursive: true, force: true }); }
}

// The browser of this run. Firefox: playwright's WebDriver BiDi client (channel moz-firefox) with
// firefox_relay.mjs in front of firefox-esr (it bridges what ESR's BiDi lacks, see there);
// playwright's profile already turns off updates, telemetry and remote settings. Firefox reads the
// clipboard without its paste menu (a preference meant for tests: Chromium grants a permission).
// `firefoxUserPrefs`: more preferences for this Firefox (ignored for Chromium).
export async function browser({ firefoxUserPrefs = {} } = {}) {
  if (browserName === 'firefox') {
    return firefox.launch({ channel: 'moz-firefox', headless: true,
      executablePath: fileURLToPath(new URL('./firefox_relay.mjs', import.meta.url)),
      env: { ...process.env, CB_FIREFOX: env.browser },
      firefoxUserPrefs: { 'dom.events.testing.asyncClipboard': true, ...firefoxUserPrefs } });
  }
  return chromium.launch({ executablePath: env.browser, args: ['--no-sandbox', '--disable-gpu',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
}

// Collects the page's errors, console and failed requests for the failure report of run().
export function instrument(ctx, page) {
  ctx.page = page;
  ctx.console = ctx.console ?? [];
  page.on('pageerror', (e) => ctx.console.push(`page error: ${e}`));
  page.on('console', (m) => ctx.console.push(`${m.type()}: ${m.text()}`));
  page.on('requestfailed', (r) => ctx.console.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) ctx.console.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`); });
  return page;
}

// Sorted control buttons shown on the card of call `callId` (data-action attributes).
export async function shownActions(page, callId) {
  return (await page.$$eval(`article.card[data-call-id="${callId}"] .controls button`, (bs) => bs.map((x) => x.dataset.action))).sort();
}

// allowed_actions of the live call for `device`, as the server reports them (GET /api/v1/calls/{id}).
export async function allowedActions(daemon, token, callId, device) {
  const r = await daemon.api('GET', `/api/v1/calls/${encodeURIComponent(callId)}`, token);
  if (r.status !== 200) throw new Error(`GET call ${callId}: ${r.status} ${r.text}`);
  return [...(r.json?.allowed_actions?.[device] ?? [])].sort();
}

// Visible form controls, buttons and links without an accessible name (label, aria-label(ledby),
// text or title): must be none on every screen.
export async function unlabeled(page) {
  return page.evaluate(() => {
    const named = (el) => {
      if (el.getAttribute('aria-label')?.trim()) return true;
      const by = el.getAttribute('aria-labelledby');
      if (by && by.split(/\s+/).some((id) => document.getElementById(id)?.textContent.trim())) return true;
      if (el.labels && [...el.labels].some((l) => l.textContent.trim())) return true;
      if ((el.tagName === 'BUTTON' || el.tagName === 'A') && el.textContent.trim()) return true;
      return !!el.title?.trim();
    };
    return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button, a[href]')]
      .filter((el) => el.getClientRects().length > 0 && !named(el)).map((el) => el.outerHTML.slice(0, 160));
  });
}

// Minimal test runner: named steps, first failure ends the run with the daemon's log.
export async function run(name, fn) {
  const ctx = { cleanups: [] };
  let failed = false;
  try {
    await fn(ctx);
    console.log(`ok - ${name}`);
  } catch (e) {
    failed = true;
    console.error(`not ok - ${name}: ${e.stack || e}`);
    if (ctx.daemon) console.error(`--- callbridged output ---\n${ctx.daemon.output.slice(-6000)}`);
    if (ctx.page) {
      try {
        console.error(`--- page (${ctx.page.url()}) ---\n${(await ctx.page.innerText('body')).slice(0, 2000)}`);
        // The page's requests with their timing (a stream stuck "connecting": which request waited).
        const reqs = await ctx.page.evaluate?.(() => performance.getEntriesByType('resource').map((e) =>
          `${Math.round(e.startTime)} ms +${Math.round(e.duration)} ms ${e.initiatorType} ${e.name.replace(location.origin, '')}`));
        if (reqs?.length) console.error(`--- page requests (start, duration) ---\n${reqs.slice(-30).join('\n')}`);
        await ctx.page.screenshot({ path: join(env.out, 'failure.png') });
      } catch { /* page gone */ }
    }
    if (ctx.console?.length) console.error(`--- browser console ---\n${ctx.console.slice(-40).join('\n')}`);
  } finally {
    for (const c of ctx.cleanups.reverse()) { try { await c(); } catch { /* best effort */ } }
  }
  process.exit(failed ? 1 : 0);
}

export function assert(cond, msg) { if (!cond) throw new Error(`assertion failed: ${msg}`); }

// The blocks of a fixture rewritten as another call: unique ids shifted by `n` seconds and channel
// suffixes by n*256, so a replay does not collide with an earlier replay of the same capture.
export function asCall(blocks, n) {
  return blocks.map((b) => b.replace(/\b(1\d{9})\.(\d+)\b/g, (_m, s, k) => `${Number(s) + n}.${k}`)
    .replace(/(PJSIP\/[^-\s]+)-([0-9a-f]{8})\b/g, (_m, dev, hex) => `${dev}-${(parseInt(hex, 16) + n * 256).toString(16).padStart(8, '0')}`));
}

// axe-core (npm, the node_modules copy) run inside the page: the serious and critical WCAG 2.x A/AA
// violations, as "rule: target" lines. Works for playwright and puppeteer pages (evaluate of a
// string); the page's CSP does not apply to evaluated code.
const axeSource = readFileSync(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
export async function axeViolations(page) {
  const has = await page.evaluate('typeof window.axe === "object"');
  if (!has) await page.evaluate(axeSource);
  const result = await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
    .then((r) => r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 160)).join(' | ')))`);
  return result;
}
export async function assertAccessible(page, screen) {
  const v = await axeViolations(page);
  if (v.length) throw new Error(`axe: ${v.length} serious/critical violations on ${screen}:\n${v.join('\n')}`);
  console.log(`# axe: ${screen}: no serious or critical violations`);
}
