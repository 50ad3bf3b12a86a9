// Browser end to end (Chromium and Firefox): the queue board and agent pause against
// `callbridged --demo` (the built-in PBX simulator's queue "support", agents 101 and 102). The
// admin's board lists the queue with its agents; Anna (extension 100) logs in to "support" from the
// header's agent control, pauses with a reason there; the admin's board shows "paused: <reason>"
// at once through the stream's queue event and the API agrees; the admin pauses agent 101 with a
// reason from the board and unpauses it; Anna unpauses and logs out. axe-core on the board.
import { join } from 'node:path';
import { assert, assertAccessible, browser, env, instrument, run, startDemo, until } from './harness.mjs';

run('the queue board and agent pause in the browser', async (ctx) => {
  const demo = startDemo(ctx, 'queues');
  const anna = await demo.link('Anna');
  const admin = await demo.link('the admin');
  const token = new URL(admin).searchParams.get('token');
  const api = async (method, path) => {
    const r = await fetch(new URL(path, admin), { method, headers: { Authorization: `Bearer ${token}` } });
    const text = await r.text();
    let json = null; try { json = JSON.parse(text); } catch { /* not json */ }
    return { status: r.status, json, text };
  };
  const agentOf = async (ext) => {
    const q = (await api('GET', '/api/v1/queues')).json.queues.find((x) => x.name === 'support');
    return q && q.agents.find((a) => a.extension === ext);
  };

  const b = await browser();
  ctx.cleanups.push(() => b.close());
  const board = instrument(ctx, await b.newPage({ viewport: { width: 1400, height: 900 }, locale: 'en-US' }));
  await board.goto(admin);
  await board.waitForSelector('#status.online', { timeout: 10_000 });
  await board.click('nav a[href="#/queues"]');
  const card = 'section.queue[data-queue$=":support"]';
  await board.waitForSelector(`${card} tr[data-agent="101"]`, { timeout: 10_000 });
  await board.waitForSelector(`${card} tr[data-agent="102"]`, { timeout: 10_000 });
  await assertAccessible(board, 'the queue board');

  // --- Anna logs in from the header and pauses with a reason there
  const page = await b.newPage({ viewport: { width: 1200, height: 800 }, locale: 'en-US' });
  await page.goto(anna);
  await page.waitForSelector('#status.online', { timeout: 10_000 });
  await page.click('#agent-summary');
  await page.fill('#agent-login-queue', 'support');
  await page.click('.agent-form form button[type="submit"]');
  await until('Anna to be an agent of support (API)', async () => !!(await agentOf('100')), 10_000);
  // Her demo phone rings now and then: available, ringing or on a call, not paused.
  await page.waitForSelector('#agent-summary:has-text("support: ")', { timeout: 10_000 });
  await board.waitForSelector(`${card} tr[data-agent="100"]:not([data-state="paused"])`, { timeout: 10_000 });
  await page.fill('#agent-reason', 'lunch break');
  await page.click('#agent-pause');
  await page.waitForSelector('#agent-summary:has-text("support: paused: lunch break")', { timeout: 10_000 });
  await board.waitForSelector(`${card} tr[data-agent="100"][data-state="paused"]`, { timeout: 10_000 });
  const shown = await board.$eval(`${card} tr[data-agent="100"] .agent-state`, (e) => e.textContent);
  assert(shown === 'paused: lunch break', `the board shows ${shown}`);
  const a100 = await agentOf('100');
  assert(a100.paused && a100.paused_reason === 'lunch break', `API: ${JSON.stringify(a100)}`);
  console.log('# Anna logged in and paused from the header; the admin\'s board and the API agree');
  await page.screenshot({ path: join(env.out, 'queues-header.png') });

  // --- the admin pauses agent 101 with a reason from the board, then unpauses
  const row101 = `${card} tr[data-agent="101"]`;
  await board.fill(`${row101} input.pause-reason`, 'coaching');
  await board.click(`${row101} button:has-text("Pause")`);
  await board.waitForSelector(`${row101}[data-state="paused"]`, { timeout: 10_000 });
  assert((await board.$eval(`${row101} .agent-state`, (e) => e.textContent)) === 'paused: coaching', '101 paused: coaching');
  assert((await agentOf('101')).paused_reason === 'coaching', 'API: 101 paused for coaching');
  await board.screenshot({ path: join(env.out, 'queues-board.png') });
  await board.click(`${row101} button:has-text("Unpause")`);
  await until('101 unpaused (API)', async () => !(await agentOf('101')).paused, 10_000);
  await board.waitForSelector(`${row101}:not([data-state="paused"])`, { timeout: 10_000 });
  // Static members have no log-out button (the PBX would refuse).
  assert((await board.$$(`${row101} button:has-text("Log out")`)).length === 0, 'no log out for a static member');

  // --- Anna unpauses and logs out; she cannot pause 101 (403 from the API)
  await page.click('#agent-unpause');
  await page.waitForSelector('#agent-summary[data-paused="none"]', { timeout: 10_000 });
  const annaToken = new URL(anna).searchParams.get('token');
  const r = await fetch(new URL('/api/v1/queues/support/members/101', anna), { method: 'PATCH',
    headers: { Authorization: `Bearer ${annaToken}`, 'Content-Type': 'application/json' }, body: '{"paused":true}' });
  assert(r.status === 403, `Anna pausing 101: ${r.status}`);
  await page.click('.agent-form li button');
  await until('Anna logged out (API)', async () => !(await agentOf('100')), 10_000);
  await board.waitForSelector(`${card} tr[data-agent="100"]`, { state: 'detached', timeout: 10_000 });
  console.log('# the admin paused 101 for coaching and back; Anna unpaused and logged out; 403 for Anna on 101');
});
