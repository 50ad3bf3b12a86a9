// Browser end to end (Chromium and Firefox): a user's own status against `callbridged --demo`.
// Anna sets "Away, in a meeting, until <in two hours>" in the header; the admin's presence board
// (another browser page, whole tenant) shows it at once through the stream's user_status event,
// the API agrees; "Available again" clears it on both pages. axe-core on the open control.
import { join } from 'node:path';
import { assert, assertAccessible, browser, env, instrument, run, startDemo, until } from './harness.mjs';

run('own status in the header, on a colleague\'s presence board', async (ctx) => {
  const demo = startDemo(ctx, 'status');
  const anna = await demo.link('Anna');
  const admin = await demo.link('the admin');

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
  // Two hours from now may be past midnight: then the header says "tomorrow".
  const day = end.toDateString() === new Date().toDateString() ? '' : 'tomorrow ';
  assert(summary.includes(`Away until ${day}${hhmm} · in a meeting`), `header: ${summary} (wanted until ${day}${hhmm})`);

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
