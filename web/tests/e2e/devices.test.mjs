// Browser end to end (Chromium and Firefox): the admin's Devices page against `callbridged --demo`
// (the built-in PBX simulator, whose phones register with the User-Agents of real models). The
// admin's sign-in link opens the app; Devices lists the simulator's phones with model and firmware
// parsed from the User-Agent, registered from their address, and the trunk's configured contact;
// the stream's device events keep statuses current while the demo's calls ring; Remove (confirmed)
// takes a device out of the registry (the API agrees). axe-core on the page.
import { join } from 'node:path';
import { assert, assertAccessible, browser, env, instrument, run, startDemo, until } from './harness.mjs';

run('the device registry in the browser', async (ctx) => {
  const demo = startDemo(ctx, 'devices');
  const link = await demo.link('the admin');
  const token = new URL(link).searchParams.get('token');
  const api = async (method, path) => {
    const r = await fetch(new URL(path, link), { method, headers: { Authorization: `Bearer ${token}` } });
    const text = await r.text();
    let json = null; try { json = JSON.parse(text); } catch { /* not json */ }
    return { status: r.status, json, text };
  };

  const b = await browser();
  ctx.cleanups.push(() => b.close());
  const page = instrument(ctx, await b.newPage({ viewport: { width: 1400, height: 900 }, locale: 'en-US' }));
  page.on('dialog', (d) => { void d.accept(); });
  await page.goto(link);
  await page.waitForSelector('#status.online', { timeout: 10_000 });
  await page.click('nav a[href="#/devices"]');
  const row100 = 'tr[data-device$=":100"]';
  await page.waitForSelector(row100, { timeout: 10_000 });

  // --- the simulator's phones: model and firmware from the User-Agent, registration, address
  const cell = (sel, c) => page.$eval(`${sel} .${c}`, (e) => e.textContent);
  assert(await cell(row100, 'model') === 'Yealink SIP-T46S', `100's model: ${await cell(row100, 'model')}`);
  assert(await cell(row100, 'firmware') === '66.86.0.15', '100\'s firmware');
  assert(await cell(row100, 'registration') === 'registered', '100 registered');
  assert(await cell(row100, 'address') === '127.0.0.1:5100', `100's address: ${await cell(row100, 'address')}`);
  assert(await cell('tr[data-device$=":101"]', 'model') === 'snom D785', 'snom D785 at 101');
  assert(await cell('tr[data-device$=":trunk"]', 'registration') === 'configured address', 'the trunk\'s configured contact');
  const listed = await api('GET', '/api/v1/devices');
  assert(listed.status === 200, `GET /api/v1/devices: ${listed.status}`);
  const rows = await page.$$eval('tr[data-device]', (xs) => xs.length);
  assert(rows === listed.json.devices.length, `one row per device: ${rows} rows, ${listed.json.devices.length} devices`);
  console.log(`# ${rows} devices listed: ${listed.json.devices.map((d) => `${d.endpoint}=${d.model || d.user_agent || '-'}`).join(', ')}`);
  await page.screenshot({ path: join(env.out, 'devices.png') });

  // --- live: the demo's calls (Anna's phone rings within seconds of a viewer) change statuses;
  // the page follows the stream's device events without reloading: it agrees with the API.
  const events = await until('device events on the page', async () => {
    const n = await page.evaluate(() => window.__cb.received.device ?? 0);
    return n > 0 && n;
  }, 40_000);
  const shown = await until('the page\'s statuses to agree with GET /api/v1/devices', async () => {
    const fromApi = (await api('GET', '/api/v1/devices')).json.devices.map((d) => `${d.endpoint}=${d.status}`).sort().join(' ');
    const onPage = (await page.$$eval('tr[data-device]', (xs) => xs.map((x) => `${x.dataset.device.split(':').pop()}=${x.dataset.status}`))).sort().join(' ');
    return fromApi === onPage && onPage;
  }, 10_000);
  console.log(`# after ${events} device events the page shows ${shown}`);
  await assertAccessible(page, 'devices');

  // --- the filter, then removal with the confirmation
  await page.fill('#device-filter', 'snom');
  await until('the filter to keep the snom only', async () => (await page.$$('tr[data-device]')).length === 1, 5_000);
  await page.fill('#device-filter', '');
  const row105 = 'tr[data-device$=":105"]';
  const id105 = await page.$eval(row105, (e) => e.dataset.device);
  await page.click(`${row105} button`);
  await page.waitForSelector(row105, { state: 'detached', timeout: 10_000 });
  await page.waitForSelector('.flash:has-text("until the PBX reports it again")', { timeout: 5_000 });
  const after = await api('GET', '/api/v1/devices');
  assert(!after.json.devices.some((d) => d.id === id105), `${id105} gone from the API too`);
  console.log(`# removed ${id105}: gone from the page and GET /api/v1/devices`);
});
