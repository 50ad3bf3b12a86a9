// Browser end to end (Chromium and Firefox): a user's own status against `callbridged --demo`.
// Anna sets "Away, in a meeting, until <in two hours>" in the header; the admin's presence board
// (another browser page, whole tenant) shows it at once through the stream's user_status event,
// the API agrees; "Available again" clears it on both pages. axe-core on the open control.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assert, assertAccessible, browser, env, instrument, run, until } from './harness.mjs';

run('own status in the header, on a colleague\'s presence board', async (ctx) => {
  const dir = mkdtempSync(join(tmpdir(), 'cb-status-'));
  const proc = spawn(env.daemon, ['--demo', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data')], {
    env: { ...process.env, CALLBRIDGE_WEB_DIR: env.web }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (x) => { out += x; });
  proc.stderr.on('data', (x) => { out += x; });
  ctx.daemon = { get output() { return out; } };
  ctx.cleanups.push(() => { proc.kill('SIGTERM'); rmSync(dir, { recursive: true, force: true }); });
  const anna = (await until('Anna\'s link', () => /Open as Anna[^:]*: (http:\/\/\S+)/.exec(out), 20_000))[1];
  const admin = (await until('the admin link', () => /Open as the admin \([^)]*\): (http:\/\/\S+)/.exec(out), 20_000))[1];

  const b = await browser();
  ctx.cleanups.push(() => b.close());
  const board = instrument(ctx, await b.newPage({ viewport: { width: 1200, height: 800 }, locale: 'en-US' }));
  await board.goto(admin);
  await board.waitForSelector('#status.online', { timeout: 10_000 });
  await board.click('nav a[href="#/presence"]');
  await board.waitForSelector('.presence button[data-device="100"]', { timeout: 10_000 });

  const page = await b.newPage({ viewport: { width: 1200, height: 800 }, locale: 'en-US' });
  await page.goto(anna);
  await page.waitForSelector('#status.online', { timeout: 10_000 });
  await page.click('#my-status-summary');
  await page.selectOption('#my-status-select', 'away');
  await page.fill('#my-status-note', 'in a meeting');
  const end = new Date(Date.now() + 2 * 3600_000);
  const hhmm = `${String(end.getHours()).padStart(2, '0')}:${String(end.getMinutes()).padStart(2, '0')}`;
  await page.fill('#my-status-until', hhmm);
  await assertAccessible(page, 'the open status control');
  await page.click('.my-status-form button[type=submit]');
  await page.waitForSelector('#my-status-summary[data-user-status="away"]', { timeout: 5_000 });
  const summary = await page.textContent('#my-status-summary');
  assert(/Away until \d\d:\d\d · in a meeting/.test(summary), `header: ${summary}`);

  // The admin's board follows without reloading.
  await board.waitForSelector('.presence button[data-device="100"] .pstatus[data-user-status="away"]', { timeout: 5_000 });
  const note = await board.textContent('.presence button[data-device="100"] .pnote');
  assert(note === 'in a meeting', `note on the board: ${note}`);
  const token = new URL(anna).searchParams.get('token');
  const r = await (await fetch(new URL('/api/v1/me/status', anna), { headers: { Authorization: `Bearer ${token}` } })).json();
  assert(r.user_status.status === 'away' && r.user_status.note === 'in a meeting' && r.user_status.until, `API: ${JSON.stringify(r)}`);
  console.log(`# Anna: "${summary.trim()}"; the admin's board shows it; API until ${r.user_status.until}`);
  await board.screenshot({ path: join(env.out, 'user-status-board.png') });

  await page.click('#my-status-summary');
  await page.click('#my-status-clear');
  await page.waitForSelector('#my-status-summary[data-user-status="available"]', { timeout: 5_000 });
  await board.waitForSelector('.presence button[data-device="100"] .pstatus', { state: 'detached', timeout: 5_000 });
  console.log('# cleared: available on both pages');
});
