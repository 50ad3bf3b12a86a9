// Browser end to end (Chromium and Firefox): park and pick up a parked call against
// `callbridged --demo` (the built-in PBX simulator's parking lot "default", spaces 701..720, as the
// lab's res_parking). Anna (extension 100) calls out from the page; once connected her call card
// offers Park (the call's allowed_actions list it); clicking it makes the simulator park the far
// end: the page says where ("... is parked at 701"), the call card goes, and the "Parked calls"
// panel lists 701 with the caller, parked by Anna's line, with a running timer. The admin's page
// shows the same panel (parking lots are the tenant's). Anna picks it up from the panel: her phone
// rings and answers, the panel is empty again and she talks to the caller (a connected card).
// axe-core on the Calls page with the panel.
import { join } from 'node:path';
import { assert, assertAccessible, browser, env, instrument, run, startDemo, until } from './harness.mjs';

run('park a call and pick it up from the Parked calls panel', async (ctx) => {
  const demo = startDemo(ctx, 'parking');
  const anna = await demo.link('Anna');
  const admin = await demo.link('the admin');
  const token = new URL(anna).searchParams.get('token');
  const api = async (method, path, body) => {
    const r = await fetch(new URL(path, anna), { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined });
    const text = await r.text();
    let json = null; try { json = JSON.parse(text); } catch { /* not json */ }
    return { status: r.status, json, text };
  };

  const b = await browser();
  ctx.cleanups.push(() => b.close());
  const page = instrument(ctx, await b.newPage({ viewport: { width: 1200, height: 900 }, locale: 'en-US' }));
  await page.goto(anna);
  await page.waitForSelector('#status.online', { timeout: 10_000 });
  await page.waitForSelector('section.parked .empty', { timeout: 10_000 });

  // --- Anna calls out; the connected card offers Park
  await page.fill('#dial', '089 123456');
  await page.click('form.dialbox button[type="submit"]');
  const card = await page.waitForSelector('article.card[data-state="connected"]:has(button[data-action="park"])', { timeout: 20_000 });
  const callId = await card.getAttribute('data-call-id');
  // The simulated far end talks 5 s: park at once.
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/park') && r.request().method() === 'POST'),
    page.click(`article.card[data-call-id="${callId}"] button[data-action="park"]`)]);
  assert(resp.status() === 202, `park answered ${resp.status()}`);
  const command = (await resp.json()).command_id;
  await until('the park command done with its space', async () => {
    const c = await api('GET', `/api/v1/commands/${command}`);
    return c.json?.state === 'done' && c.json.space === '701';
  }, 15_000);
  await until('"... is parked at 701"', async () => /is parked at 701: pick it up here or dial 701\./.test(await page.innerText('body')), 10_000);
  const row = await page.waitForSelector('section.parked tr[data-space="701"]', { timeout: 10_000 });
  const caller = await row.$eval('.caller', (e) => e.textContent);
  // The number Anna dialed (or a demo caller, should the simulator's traffic have reached her
  // phone first): the caller as the directories and the dialing plan show it.
  assert(caller && caller.trim().length > 0 && !/Unknown caller/.test(caller), `the parked caller: ${caller}`);
  const by = await row.$eval('.by', (e) => e.textContent);
  assert(/Anna|100/.test(by), `parked by: ${by}`);
  await page.waitForSelector(`article.card[data-call-id="${callId}"]`, { state: 'detached', timeout: 10_000 });
  const listed = await api('GET', '/api/v1/parking');
  assert(listed.status === 200 && listed.json.parked.length === 1 && listed.json.parked[0].parked_by === '100', `API: ${listed.text}`);
  await assertAccessible(page, 'calls with a parked call');
  await page.screenshot({ path: join(env.out, 'parking-panel.png') });
  console.log('# Anna parked her call from its card: 701, listed in the panel and by the API');

  // --- the admin sees the same panel
  const board = await b.newPage({ viewport: { width: 1200, height: 900 }, locale: 'en-US' });
  await board.goto(admin);
  await board.waitForSelector('#status.online', { timeout: 10_000 });
  await board.waitForSelector('section.parked tr[data-space="701"]', { timeout: 10_000 });

  // --- Anna picks it up from the panel: her phone rings first, then she talks to the caller
  const [pick] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/parking/701/pickup') && r.request().method() === 'POST'),
    page.click('section.parked tr[data-space="701"] button[data-action="unpark"]')]);
  assert(pick.status() === 202, `pickup answered ${pick.status()}`);
  const taken = (await pick.json()).command_id;
  await until('the unpark command done', async () => (await api('GET', `/api/v1/commands/${taken}`)).json?.state === 'done', 15_000);
  await page.waitForSelector('section.parked tr[data-space="701"]', { state: 'detached', timeout: 10_000 });
  await board.waitForSelector('section.parked tr[data-space="701"]', { state: 'detached', timeout: 10_000 });
  await page.waitForSelector('article.card[data-state="connected"]', { timeout: 10_000 });
  // Nothing is parked at 701 any more: a second pickup is a 404 in words.
  const again = await api('POST', '/api/v1/parking/701/pickup', {});
  assert(again.status === 404 && /Nothing is parked at 701/.test(again.text), `second pickup: ${again.status} ${again.text}`);
  console.log('# Anna picked 701 up from the panel: the panel is empty on both pages, she talks to the caller');
});
