// Browser end to end over REST only: sign-in by token link, click-to-dial -> the AMI Originate the
// daemon sends, a replayed inbound_answered call -> the journal row with the captured duration
// (talk 3 s), a note saved through the UI, the admin page; screenshots of these screens.
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { AmiPeer, Daemon, assert, assertAccessible, browser, browserName, env, fixtureBlocks, run, unlabeled, until } from './harness.mjs';

run('dial and journal in the browser', async (ctx) => {
  const peer = new AmiPeer();
  await peer.start();
  ctx.cleanups.push(() => peer.stop());
  const d = new Daemon(peer.port);
  ctx.daemon = d;
  const token = d.token('anna', 'admin', '100', 'Anna Alpha');
  await d.start();
  ctx.cleanups.push(() => d.stop());

  const b = await browser();
  ctx.cleanups.push(() => b.close());
  const page = await b.newPage({ viewport: { width: 1100, height: 760 } });
  ctx.page = page;
  ctx.console = [];
  page.on('pageerror', (e) => ctx.console.push(`page error: ${e}`));
  page.on('console', (m) => ctx.console.push(`${m.type()}: ${m.text()}`));
  const base = `http://127.0.0.1:${d.port}`;

  // Static serving: MIME types, SPA fallback, no traversal.
  const html = await fetch(`${base}/app/dial?to=1`);
  assert(html.status === 200 && html.headers.get('content-type').startsWith('text/html'), 'SPA fallback');
  const trav = await fetch(`${base}/assets/%2e%2e/%2e%2e/etc/passwd`);
  assert(trav.status === 404, `traversal refused (${trav.status})`);

  await page.goto(`${base}/`);
  await page.waitForSelector('#token');
  await assertAccessible(page, 'sign-in');
  await page.goto(`${base}/?token=${encodeURIComponent(token)}`);
  await page.waitForSelector('header .who:has-text("Anna Alpha")', { timeout: 10_000 });
  assert(!page.url().includes('token='), 'token removed from the URL');

  // --- tel: link on the page opens the dial flow
  await page.evaluate(() => { const a = document.createElement('a'); a.href = 'tel:+49-211-339903'; a.id = 'tl'; a.textContent = 'tel'; document.body.append(a); });
  await page.click('#tl');
  assert((await page.inputValue('#dial')) === '+49-211-339903', 'tel: link fills the dial box');

  // --- a whole inbound call -> journal row with the captured duration
  peer.send(fixtureBlocks('inbound_answered'));
  await until('journal entry', async () => (await d.api('GET', '/api/v1/journal', token)).json?.entries?.length === 1);
  await page.click('nav a[href="#/journal"]');
  const row = await page.waitForSelector('table.journal tbody tr', { timeout: 10_000 });
  const dur = await row.$eval('td.dur', (e) => e.textContent);
  assert(dur === '0:03', `journal duration 0:03, got ${dur}`);
  assert((await row.$eval('td.num', (e) => e.textContent)).replace(/\s/g, '').includes('89123456'), 'journal number');
  await page.fill('table.journal tbody tr input', 'called about invoice 42');
  await page.locator('table.journal tbody tr input').blur();
  await until('note saved', async () => (await d.api('GET', '/api/v1/journal', token)).json?.entries?.[0]?.note === 'called about invoice 42');
  assert(await page.$('figure.chart svg rect.bar-answered'), 'chart drawn');
  await page.screenshot({ path: join(env.out, 'journal.png') });
  let bare = await unlabeled(page);
  assert(bare.length === 0, `journal controls without an accessible name: ${bare.join('\n')}`);

  // --- narrow side panel
  await page.setViewportSize({ width: 340, height: 640 });
  await page.screenshot({ path: join(env.out, 'journal-narrow.png') });
  await page.setViewportSize({ width: 1100, height: 760 });

  // --- admin page
  await page.click('nav a[href="#/admin"]');
  await page.waitForSelector('.admin section h3');
  await page.waitForSelector('.admin table');
  await page.screenshot({ path: join(env.out, 'admin.png'), fullPage: true });
  bare = await unlabeled(page);
  assert(bare.length === 0, `admin controls without an accessible name: ${bare.join('\n')}`);
  await assertAccessible(page, 'admin');
  // Users: create one with display name, team and extension; its token is shown once with a copy
  // button and a sign-in link that signs that user in; the token is listed and can be revoked.
  // Chromium asks for clipboard permissions; Firefox has none to grant (writing after a click needs
  // none, reading is allowed by the test preference harness.mjs sets).
  if (browserName === 'chromium') await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  await page.fill('#new-user', 'ben');
  await page.fill('#new-name', 'Ben Bravo');
  await page.fill('#new-team', 'Sales');
  await page.fill('#new-ext', '101 1x/');
  await page.waitForSelector('#new-ext[aria-invalid=true]');  // checked as typed
  await page.fill('#new-ext', '101');
  await page.click('form.user-form button[type=submit]:has-text("Create user")');
  const signInUrl = await (await page.waitForSelector("#signin-link")).textContent();
  assert(signInUrl.startsWith(`${base}/?token=`), `sign-in link: ${signInUrl}`);
  await page.click('#copy-link');
  await page.waitForSelector('.flash.ok:has-text("Copied")');
  assert(await page.evaluate(() => navigator.clipboard.readText()) === signInUrl, 'the link was copied');
  const benRow = await page.waitForSelector("tr[data-user=ben]");
  assert(/Ben Bravo/.test(await benRow.textContent()) && /Sales/.test(await benRow.textContent()) && /101/.test(await benRow.textContent()), `user row: ${await benRow.textContent()}`);
  const users = (await d.api('GET', '/api/v1/users', token)).json.users;
  const ben = users.find((u) => u.user === 'ben');
  assert(ben?.display_name === 'Ben Bravo' && ben.team === 'Sales' && ben.extensions.join() === '101', `stored: ${JSON.stringify(ben)}`);
  const other = await page.context().browser().newContext();
  const p2 = await other.newPage();
  await p2.goto(signInUrl);
  await p2.waitForSelector('header .who:has-text("Ben Bravo")', { timeout: 10_000 });
  await other.close();
  console.log('# the sign-in link signed Ben in');
  await benRow.$eval('button[aria-label^="Revoke token"]', (x) => x.click());
  await page.waitForSelector('tr[data-user=ben] li.revoked');
  const toks = (await d.api('GET', '/api/v1/tokens', token)).json.tokens.filter((x) => x.user === 'ben');
  assert(toks.length && toks.every((x) => x.revoked), `ben's tokens revoked: ${JSON.stringify(toks)}`);
  // "Sign-in link": the server's one-time link (cbl_...) where it has the route, else a new token link.
  await page.click('button[aria-label="Sign-in link for ben"]');
  await page.waitForFunction((old) => document.getElementById('signin-link')?.textContent !== old, signInUrl);
  const oneTime = await page.textContent('#signin-link');
  const other2 = await page.context().browser().newContext();
  const p3 = await other2.newPage();
  await p3.goto(oneTime);
  await p3.waitForSelector('header .who:has-text("Ben Bravo")', { timeout: 10_000 });
  await other2.close();
  console.log(`# the "Sign-in link" button: ${/token=cbl_/.test(oneTime) ? "the server's one-time link" : 'a new token link'} signed Ben in`);

  // --- tenant UI settings (GET/PUT /api/v1/ui-settings): edited on the admin page, sanitized
  // preview, saved for the tenant, used by the next pop. The daemon must serve the route: a 404
  // here is a failure (no stand-in), and what is saved is read back from the daemon.
  const settings = await d.api('GET', '/api/v1/ui-settings', token);
  assert(settings.status === 200, `GET /api/v1/ui-settings must be served by callbridged: ${settings.status} ${settings.text}`);
  const readSettings = async () => {
    const r = await d.api('GET', '/api/v1/ui-settings', token);
    assert(r.status === 200, `GET /api/v1/ui-settings: ${r.status} ${r.text}`);
    return r.json;
  };
  {
    await page.waitForFunction(() => window.__cb.uiSettings === 'server');
    const n = await page.$$eval('.link-row', (r) => r.length);
    await page.click('#sl-add');
    // The page focuses the new row in the next animation frame (after it rendered): waited for.
    await until('focus moves to the new label', () => page.evaluate((i) => document.activeElement?.id === `sl-label-${i}`, n), 5_000);
    await page.fill(`#sl-label-${n}`, 'Search CRM');
    await page.fill(`#sl-url-${n}`, 'javascript:alert({remote.e164})');
    await page.click('#settings-save');
    await page.waitForSelector(`#sl-url-${n}[aria-invalid=true]`);
    await page.waitForSelector('#alerts [role=alert]:has-text("must start with")');
    await page.fill(`#sl-url-${n}`, 'https://crm.example/search?q={remote.e164}&c={contact.id}');
    await page.fill('#tpl', '<b class="who">{contact.name}</b> <i>{contact.company}</i><img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>');
    await page.waitForSelector('#settings-preview b.who:has-text("Max Muster")');
    assert(!(await page.$('#settings-preview img, #settings-preview script')), 'preview sanitized');
    assert(await page.$('#settings-preview a:has-text("Search CRM")'), 'preview shows the link');
    await page.locator('.ui-settings').screenshot({ path: join(env.out, 'admin-ui-settings.png') });
    // The server refuses templates with <script> and the like (the client would drop them anyway).
    await page.click('#settings-save');
    await page.waitForSelector('#alerts [role=alert]:has-text("not allowed")');
    await page.fill('#tpl', '<b class="who">{contact.name}</b> <i>{contact.company}</i><img src=x onerror="window.__pwned=1">');
    await page.click('#settings-save');
    await page.waitForSelector('.flash.ok:has-text("saved for the tenant")');
    const saved = await readSettings();
    assert(saved.action_links.some((l) => l.label === 'Search CRM' && l.url.startsWith('https://crm.example/search')), `saved: ${JSON.stringify(saved)}`);
    assert(saved.card_template.includes('{contact.name}'), `template saved: ${saved.card_template}`);
    // The next pop uses them: contact data HTML-escaped, link expanded.
    // A caller number not seen before in this run (so no earlier lookup result applies).
    await d.api('POST', '/api/v1/contacts', token, { display_name: 'Max <img src=x onerror=window.__pwned=1>', company: 'ACME', numbers: [{ label: 'work', number: '+4989777888' }] });
    await page.click('nav a[href="#/calls"]');
    const blocks = fixtureBlocks('inbound_answered');
    const answerAt = blocks.findIndex((x) => /Event: Newstate/.test(x) && /Channel: PJSIP\/100-/.test(x) && /ChannelState: 6/.test(x));
    const again = (x) => x.replaceAll('1795382753.', '1795382888.').replaceAll('-00000000', '-00000020').replaceAll('-00000001', '-00000021').replaceAll('+4989123456', '+4989777888');
    peer.send(blocks.slice(0, answerAt).map(again));
    const who = await page.waitForSelector('article.card.ringing b.who', { timeout: 5_000 });
    assert((await who.textContent()).startsWith('Max <img'), `escaped name: ${await who.textContent()}`);
    const link = await page.waitForSelector('article.card.ringing .links a:has-text("Search CRM")');
    assert((await link.getAttribute('href')).includes('q=%2B4989777888'), 'link expanded');
    assert(!(await page.evaluate(() => window.__pwned)), 'no script ran');
    await page.screenshot({ path: join(env.out, 'pop-template.png') });
    peer.send(blocks.slice(answerAt).map(again));
    await page.waitForSelector('article.card', { state: 'detached', timeout: 10_000 });
  }
  // The client's fallback for an older daemon without the route, simulated on purpose (the real
  // route was required above): the page falls back to /ui-config.json and says so.
  await page.route('**/api/v1/ui-settings', (route) =>
    route.fulfill({ status: 404, contentType: 'application/problem+json', body: '{"title":"Not Found","status":404}' }));
  await page.reload();
  await page.click('nav a[href="#/admin"]');
  await page.waitForSelector('.ui-settings:has-text("no UI settings API")');
  await page.unroute('**/api/v1/ui-settings');
  await page.reload();
  await page.waitForFunction(() => window.__cb.uiSettings === 'server');

  // --- desktop integration CLI against the same daemon
  const cli = (args, extraEnv = {}) => spawnSync(env.cli, args, { encoding: 'utf8',
    env: { ...process.env, CALLBRIDGE_URL: base, CALLBRIDGE_TOKEN: token, ...extraEnv } });
  const bad = cli(['calls'], { CALLBRIDGE_TOKEN: 'cbt_bogus_token' });
  assert(bad.status === 1 && /401|Unauthorized/i.test(bad.stderr), `bad token: ${bad.status} ${bad.stderr}`);
  const calls = cli(['calls']);
  assert(calls.status === 0, `callbridge calls: ${calls.stderr}`);
  const xdg = mkdtempSync(join(tmpdir(), 'cb-xdg-'));
  const xenv = { XDG_DATA_HOME: join(xdg, 'data'), XDG_CONFIG_HOME: join(xdg, 'config') };
  assert(cli(['url-handler', 'install', '--no-xdg-mime'], xenv).status === 0, 'url-handler install');
  const desktop = readFileSync(join(xdg, 'data/applications/callbridge-dial.desktop'), 'utf8');
  assert(/Exec=".*callbridge" dial %u/.test(desktop) && desktop.includes('x-scheme-handler/tel;x-scheme-handler/callto;'), desktop);
  assert(readFileSync(join(xdg, 'config/mimeapps.list'), 'utf8').includes('x-scheme-handler/tel=callbridge-dial.desktop'), 'mimeapps');
  assert(cli(['url-handler', 'uninstall'], xenv).status === 0, 'url-handler uninstall');
  assert(!existsSync(join(xdg, 'data/applications/callbridge-dial.desktop')), 'desktop file removed');
  assert(!readFileSync(join(xdg, 'config/mimeapps.list'), 'utf8').includes('callbridge'), 'associations removed');

  // --- needs POST /api/v1/calls (call control routes)
  // --- click-to-dial -> AMI Originate from the user's phone
  const before = peer.actions.length;
  await page.click('nav a[href="#/calls"]');
  await page.fill('#dial', '089 123456');
  await page.click('form.dialbox button[type=submit]');
  const orig = await until('Originate', () => peer.actions.slice(before).find((a) => a.action?.toLowerCase() === 'originate'));
  assert(/PJSIP\/100\b/.test(orig.channel ?? ''), `Originate from PJSIP/100: ${orig.raw}`);
  assert((orig.exten ?? '').replace(/\D/g, '').endsWith('89123456'), `Originate to the number: ${orig.raw}`);
  await page.waitForSelector('.flash.ok');
  assert(await page.isEnabled('button[title^="Redial"]'), 'redial enabled');
  await page.screenshot({ path: join(env.out, 'calls.png') });

  // --- keyboard: the dial box is reachable and the Dial button operable by keyboard
  await page.focus('#dial');
  await page.fill('#dial', '102');
  const n = peer.actions.length;
  await page.keyboard.press('Enter');
  await until('second Originate', () => peer.actions.slice(n).find((a) => a.action?.toLowerCase() === 'originate'));

  // --- the CLI's dial and hangup
  const m = peer.actions.length;
  const r = cli(['dial', 'tel:+49-89-123456']);
  assert(r.status === 0, `callbridge dial: ${r.status} ${r.stderr}`);
  const o2 = await until('CLI Originate', () => peer.actions.slice(m).find((a) => a.action?.toLowerCase() === 'originate'));
  assert((o2.exten ?? '').replace(/\D/g, '').endsWith('89123456'), `CLI Originate: ${o2.raw}`);
  const hang = cli(['hangup', 'no-such-call']);
  assert(hang.status === 1 && /404|409/.test(hang.stderr), `hangup unknown: ${hang.status} ${hang.stderr}`);
});
