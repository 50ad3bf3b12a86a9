// The callbridge browser client: sign-in, screen pop, click-to-dial, call control, journal,
// presence and admin pages over the public v1 API (docs/api.md). Plain DOM, no framework: every
// piece of untrusted data goes through text nodes (h()) or the template sanitizer.
import './style.css';
import { Api, ApiError } from './lib/api';
import { ChooserMemory, resolveContact } from './lib/chooser';
import { EventStream } from './lib/events';
import { LiveState, actionsFor, remoteOf } from './lib/store';
import { expandUrl, flatten, renderCard } from './lib/template';
import { bucketize, chartSvg, isMissed } from './lib/chart';
import { dialTarget, displayNumber, formatDuration } from './lib/phone';
import type { Call, Contact, JournalEntry, Line, Me, ServerMessage } from './lib/types';

// ---------- tiny DOM helper ----------
type Child = Node | string | number | null | undefined | false;
function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, any> = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// ---------- state ----------
interface UiTenantConfig { actions?: { label: string; url: string }[]; unknown_actions?: { label: string; url: string }[]; card_template?: string }
interface UiConfig { home_country?: string; tenants?: Record<string, UiTenantConfig> }

const api = new Api();
const live = new LiveState();
const memory = new ChooserMemory(window.localStorage);
let me: Me | null = null;
let uiConfig: UiConfig = {};
let stream: EventStream | null = null;
let streamState: { state: string; offlineSince: number | null; lastError?: string } = { state: 'offline', offlineSince: null };
let view = 'calls';
let lastDialed = localStorage.getItem('cb.lastDialed') ?? '';
let pendingDial = '';
let journalCache: JournalEntry[] = [];
let flash: { kind: 'ok' | 'error'; text: string } | null = null;
const manualChoice = new Map<string, Contact>();  // call id -> contact picked (this session)
const lookups = new Map<string, Contact[]>();      // number -> matches (when the call has none)

const root = document.getElementById('app')!;
const announcer = document.getElementById('live')!;

function tenantConfig(): UiTenantConfig {
  const t = uiConfig.tenants ?? {};
  const base = t['*'] ?? {};
  const own = (me && t[me.tenant]) || {};
  const override = localStorage.getItem('cb.cardTemplateOverride');
  return { ...base, ...own, ...(override ? { card_template: override } : {}) };
}

function say(text: string) { announcer.textContent = text; }
function setFlash(kind: 'ok' | 'error', text: string) { flash = { kind, text }; render(); }
function errText(e: unknown) { return e instanceof ApiError ? e.message : String(e); }

// ---------- sign-in ----------
async function boot() {
  try { uiConfig = await (await fetch('/ui-config.json', { cache: 'no-cache' })).json(); } catch { uiConfig = {}; }
  const p = new URLSearchParams(location.search);
  const to = p.get('to');
  if (to) pendingDial = dialTarget(to);
  const hash = location.hash.replace(/^#\/?/, '');
  if (hash) view = hash;
  // Demo mode / links from an admin: ?token= signs in once (session cookie) and leaves the URL.
  const urlToken = p.get('token');
  if (urlToken) {
    p.delete('token');
    history.replaceState(null, '', location.pathname + (p.size ? `?${p}` : '') + location.hash);
    await signIn(urlToken, 'session');
    if (me) return;
  }
  const saved = sessionStorage.getItem('cb.token');
  if (saved) api.token = saved;
  try {
    me = await api.get<Me>('/api/v1/me');
  } catch {
    me = null;
    api.token = null;
  }
  if (me) startSession(); else render();
}

async function signIn(token: string, remember: 'session' | 'tab') {
  try {
    if (remember === 'session') {
      me = await api.post<Me>('/api/v1/session', { token });
      if (!me || !me.user) me = await api.get<Me>('/api/v1/me');
    } else {
      api.token = token;
      me = await api.get<Me>('/api/v1/me');
      sessionStorage.setItem('cb.token', token);
    }
    flash = null;
    startSession();
  } catch (e) {
    api.token = null;
    setFlash('error', `Sign-in failed: ${errText(e)}`);
  }
}

async function signOut() {
  stream?.stop();
  stream = null;
  try { if (!api.token) await api.del('/api/v1/session'); } catch { /* already gone */ }
  sessionStorage.removeItem('cb.token');
  api.token = null;
  me = null;
  render();
}

function startSession() {
  stream = new EventStream({
    url: async (since) => {
      const t = await api.post<{ ticket: string }>('/api/v1/ws-ticket');
      return api.eventsUrl(t.ticket, since, me && me.role !== 'user' ? 'tenant' : 'team');
    },
    open: (u) => new WebSocket(u) as any,
    setTimer: (fn, ms) => window.setTimeout(fn, ms),
    clearTimer: (t) => window.clearTimeout(t as number),
  }, {
    message: onMessage,
    state: (s, info) => {
      streamState = { state: s, offlineSince: info.offlineSince, lastError: info.lastError };
      renderStatus();
    },
  });
  window.addEventListener('online', () => stream?.reconnectNow());
  stream.start();
  render();
  if (view === 'journal') void loadJournal();
}

// ---------- events ----------
const applied: number[] = [];  // seqs applied, for diagnostics and the e2e tests (bounded)
function onMessage(m: ServerMessage) {
  applied.push(m.seq);
  if (applied.length > 2000) applied.splice(0, 1000);
  const before = new Set(live.incoming(me?.extensions ?? []).map((c) => c.id));
  live.apply(m);
  if (m.type === 'journal') journalCache = [m.entry, ...journalCache.filter((e) => e.id !== m.entry.id)];
  const now = live.incoming(me?.extensions ?? []);
  for (const c of now) if (!before.has(c.id)) popped(c);
  render();
}

function popped(c: Call) {
  const who = callerLabel(c);
  say(`Incoming call from ${who}`);
  if ('Notification' in window && Notification.permission === 'granted' && document.hidden) {
    const n = new Notification('Incoming call', { body: who, tag: c.id });
    n.onclick = () => { window.focus(); n.close(); };
  }
}

function callerLabel(c: Call): string {
  const num = displayNumber(remoteOf(c, me?.extensions), uiConfig.home_country, c.remote?.display);
  const r = contactFor(c);
  return r.kind === 'contact' ? `${r.contact.name} (${num})` : num;
}

function matchesFor(c: Call): Contact[] {
  if (c.remote?.contacts) return c.remote.contacts;
  const n = remoteOf(c, me?.extensions);
  if (!n) return [];
  if (!lookups.has(n)) {
    lookups.set(n, []);
    api.get<{ matches: Contact[] }>(`/api/v1/contacts/lookup?number=${encodeURIComponent(n)}`)
      .then((r) => { lookups.set(n, r.matches ?? []); render(); }).catch(() => {});
  }
  return lookups.get(n) ?? [];
}

function contactFor(c: Call) {
  const picked = manualChoice.get(c.id);
  if (picked) return { kind: 'contact' as const, contact: picked, remembered: true };
  return resolveContact(memory, remoteOf(c, me?.extensions), matchesFor(c));
}

// ---------- actions ----------
async function dial(raw: string) {
  const to = dialTarget(raw);
  if (!to) { setFlash('error', 'Enter a number to dial'); return; }
  try {
    await api.post('/api/v1/calls', { to });
    lastDialed = to;
    localStorage.setItem('cb.lastDialed', to);
    pendingDial = '';
    setFlash('ok', `Calling ${to}…`);
  } catch (e) {
    setFlash('error', `Dial failed: ${errText(e)}`);
  }
}

async function control(c: Call, device: string, action: string) {
  let body: Record<string, string> = {};
  if (action === 'answer') body = { device };
  if (action === 'consult' || action === 'transfer') {
    const input = document.getElementById(`target-${c.id}`) as HTMLInputElement | null;
    const to = input?.value.trim() ?? '';
    if (action === 'consult' && !to) { setFlash('error', 'Enter the number to consult'); input?.focus(); return; }
    if (to) body = { to };
  }
  try {
    await api.post(`/api/v1/calls/${encodeURIComponent(c.id)}/${action}`, body);
    say(`${action} sent`);
  } catch (e) {
    setFlash('error', `${action} failed: ${errText(e)}`);
  }
}

async function loadJournal() {
  const f = journalFilters;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v) q.set(k, v);
  q.set('limit', '200');
  try {
    const r = await api.get<{ entries: JournalEntry[] }>(`/api/v1/journal?${q}`);
    journalCache = r.entries ?? [];
    render();
  } catch (e) {
    setFlash('error', `Journal: ${errText(e)}`);
  }
}
const journalFilters: Record<string, string> = { direction: '', disposition: '', q: '', since: '' };
let chartUnit: 'hour' | 'day' = 'hour';

async function saveNote(e: JournalEntry, note: string) {
  try {
    await api.patch(`/api/v1/journal/${e.id}`, { note });
    e.note = note;
    say('Note saved');
  } catch (err) { setFlash('error', `Note: ${errText(err)}`); }
}

async function callback(e: JournalEntry) {
  try {
    await api.post(`/api/v1/journal/${e.id}/callback`);
    setFlash('ok', `Calling back ${displayNumber(e.remote, uiConfig.home_country)}…`);
  } catch (err) { setFlash('error', `Callback failed: ${errText(err)}`); }
}

// ---------- views ----------
function render() {
  root.replaceChildren(me ? appShell() : signInView());
  renderStatus();
}

function signInView() {
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'current-password', required: true, 'aria-describedby': 'token-help' });
  const keep = h('input', { id: 'keep', type: 'checkbox', checked: true });
  return h('main', { id: 'main', class: 'signin' },
    h('h1', {}, 'callbridge'),
    h('form', { onsubmit: (ev: Event) => { ev.preventDefault(); void signIn(input.value.trim(), keep.checked ? 'session' : 'tab'); } },
      h('label', { for: 'token' }, 'API token'), input,
      h('p', { id: 'token-help', class: 'hint' }, 'Create one with `callbridge token create` or ask your admin.'),
      h('label', { class: 'inline' }, keep, ' Start a browser session (cookie) instead of keeping the token in this tab'),
      h('button', { type: 'submit' }, 'Sign in')),
    flashView());
}

function flashView() {
  if (!flash) return null;
  return h('div', { class: `flash ${flash.kind}`, role: flash.kind === 'error' ? 'alert' : 'status' }, flash.text,
    h('button', { class: 'link', 'aria-label': 'Dismiss message', onclick: () => { flash = null; render(); } }, '×'));
}

function nav() {
  const items: [string, string][] = [['calls', 'Calls'], ['journal', 'Journal'], ['presence', 'Presence']];
  if (me?.role === 'admin') items.push(['admin', 'Admin']);
  return h('nav', { 'aria-label': 'Main' }, h('ul', {}, items.map(([id, label]) =>
    h('li', {}, h('a', { href: `#/${id}`, 'aria-current': view === id ? 'page' : null, onclick: (ev: Event) => { ev.preventDefault(); go(id); } }, label)))));
}

function go(id: string) {
  view = id;
  history.replaceState(null, '', `#/${id}`);
  render();
  if (id === 'journal') void loadJournal();
  if (id === 'admin') void loadAdmin();
  (document.querySelector('main h2') as HTMLElement | null)?.focus();
}

function appShell() {
  const body = view === 'journal' ? journalView() : view === 'presence' ? presenceView() : view === 'admin' ? adminView() : callsView();
  return h('div', { class: 'shell' },
    h('header', {},
      h('span', { class: 'brand' }, 'callbridge'),
      h('span', { id: 'status', class: 'status', role: 'status' }),
      h('span', { class: 'who' }, me!.display_name ?? me!.user),
      h('button', { class: 'link', onclick: signOut }, 'Sign out')),
    nav(),
    flashView(),
    h('main', { id: 'main' }, body));
}

function renderStatus() {
  const el = document.getElementById('status');
  if (!el) return;
  const s = streamState;
  el.className = `status ${s.state}`;
  if (s.state === 'online') el.textContent = 'Online';
  else if (s.state === 'connecting') el.textContent = s.offlineSince ? 'Reconnecting…' : 'Connecting…';
  else el.textContent = s.offlineSince ? `Offline since ${new Date(s.offlineSince).toLocaleTimeString()}` : 'Offline';
  el.title = s.lastError ?? '';
  document.body.dataset.stream = s.state;
}

function callsView() {
  const devices = me!.extensions;
  const input = h('input', { id: 'dial', type: 'tel', inputmode: 'tel', autocomplete: 'off', value: pendingDial, placeholder: 'Number, e.g. 0211 339903-12' });
  const mine = live.mine(devices);
  const ringing = live.incoming(devices);
  const others = mine.filter((c) => !ringing.includes(c));
  return h('div', { class: 'calls' },
    h('h2', { tabindex: -1 }, 'Calls'),
    h('section', { 'aria-label': 'My lines', class: 'lines' },
      devices.map((d) => { const st = live.lines.get(d)?.state ?? 'unknown'; return h('span', { class: `line state-${st}`, dataset: { device: d } }, `${d}: ${st}`); })),
    h('form', { class: 'dialbox', role: 'search', 'aria-label': 'Dial', onsubmit: (ev: Event) => { ev.preventDefault(); void dial(input.value); } },
      h('label', { for: 'dial', class: 'sr-only' }, 'Number to dial'), input,
      h('button', { type: 'submit' }, 'Dial'),
      h('button', { type: 'button', disabled: !lastDialed, title: lastDialed ? `Redial ${lastDialed}` : 'Nothing dialed yet', onclick: () => void dial(lastDialed) }, 'Redial')),
    ringing.length ? h('section', { 'aria-label': 'Incoming calls' }, ringing.map((c) => callCard(c, true))) : null,
    others.length ? h('section', { 'aria-label': 'Active calls' }, others.map((c) => callCard(c, false))) : null,
    !mine.length ? h('p', { class: 'empty' }, 'No calls right now.') : null);
}

function callCard(c: Call, incoming: boolean) {
  const number = remoteOf(c, me!.extensions);
  const disp = c.remote?.withheld ? 'withheld' : displayNumber(number, uiConfig.home_country, c.remote?.display);
  const res = contactFor(c);
  const cfg = tenantConfig();
  const contact = res.kind === 'contact' ? res.contact : null;
  const vars = flatten({ remote: { e164: number ?? '', display: disp }, contact: contact ?? {}, call: { id: c.id } });
  const device = me!.extensions.find((d) => c.connections.some((x) => x.device === d)) ?? me!.extensions[0];
  const conn = c.connections.find((x) => x.device === device);
  const actions = actionsFor(c, device);
  let contactPart: Node;
  if (res.kind === 'contact') {
    const card = h('div', { class: 'contact' });
    if (cfg.card_template) card.appendChild(renderCard(cfg.card_template, vars));
    else card.append(h('strong', {}, res.contact.name), h('div', {}, res.contact.company ?? ''), h('small', {}, `source: ${res.contact.source ?? ''}`));
    if (matchesFor(c).length > 1) card.append(h('button', { class: 'link', onclick: () => { manualChoice.delete(c.id); if (number) memory.forget(number); render(); } }, 'Choose another'));
    contactPart = card;
  } else if (res.kind === 'choose') {
    contactPart = h('fieldset', { class: 'chooser' }, h('legend', {}, `${res.options.length} contacts match — who is it?`),
      res.options.map((o) => h('button', { class: 'choice', dataset: { contactId: o.id }, onclick: () => { manualChoice.set(c.id, o); if (number) memory.remember(number, o); render(); } },
        h('strong', {}, o.name), ' ', h('span', {}, [o.company, o.source].filter(Boolean).join(' · ')))));
  } else {
    contactPart = h('div', { class: 'contact unknown' }, h('strong', {}, 'unknown'));
  }
  const links = (res.kind === 'contact' ? cfg.actions : res.kind === 'unknown' ? cfg.unknown_actions : []) ?? [];
  const linkEls = links.map((l) => { const u = expandUrl(l.url, vars); return u ? h('a', { href: u, target: '_blank', rel: 'noopener noreferrer', class: 'action-link' }, l.label) : null; }).filter(Boolean);
  const needsTarget = actions.includes('consult') || actions.includes('transfer');
  return h('article', { class: `card ${incoming ? 'ringing' : ''}`, 'aria-label': `${incoming ? 'Incoming call' : 'Call'} ${disp}`, dataset: { callId: c.id } },
    h('div', { class: 'card-head' },
      h('span', { class: 'number' }, disp),
      h('span', { class: `badge state-${conn?.state ?? ''}` }, conn?.state ?? '')),
    contactPart,
    linkEls.length ? h('div', { class: 'links' }, linkEls as Node[]) : null,
    needsTarget ? h('span', { class: 'target' }, h('label', { for: `target-${c.id}` }, 'Transfer/consult to'), h('input', { id: `target-${c.id}`, type: 'tel', autocomplete: 'off' })) : null,
    h('div', { class: 'controls', role: 'group', 'aria-label': 'Call control' },
      actions.map((a) => h('button', { class: `ctl ctl-${a}`, dataset: { action: a }, onclick: () => void control(c, device, a) }, actionLabel(a)))));
}

function actionLabel(a: string) {
  return ({ answer: 'Answer', hangup: 'Hang up', hold: 'Hold', retrieve: 'Retrieve', consult: 'Consult', alternate: 'Alternate', transfer: 'Transfer', conference: 'Conference', deflect: 'Deflect' } as Record<string, string>)[a] ?? a;
}

function journalView() {
  const sel = (name: string, label: string, options: string[]) => h('label', {}, label, ' ',
    h('select', { name, onchange: (ev: Event) => { journalFilters[name] = (ev.target as HTMLSelectElement).value; void loadJournal(); } },
      options.map((o) => h('option', { value: o, selected: journalFilters[name] === o }, o || 'any'))));
  const q = h('input', { type: 'search', name: 'q', value: journalFilters.q, 'aria-label': 'Search number or name' });
  const buckets = bucketize(journalCache, chartUnit, new Date(), chartUnit === 'hour' ? 12 : 7);
  const chart = h('figure', { class: 'chart' });
  chart.innerHTML = chartSvg(buckets);  // numbers and fixed labels only
  chart.append(h('figcaption', {}, `Calls per ${chartUnit} (answered `, h('span', { class: 'key-answered' }, '■'), ' / missed ', h('span', { class: 'key-missed' }, '■'), ') ',
    h('button', { class: 'link', onclick: () => { chartUnit = chartUnit === 'hour' ? 'day' : 'hour'; render(); } }, `per ${chartUnit === 'hour' ? 'day' : 'hour'}`)));
  return h('div', {},
    h('h2', { tabindex: -1 }, 'Journal'),
    h('form', { class: 'filters', onsubmit: (ev: Event) => { ev.preventDefault(); journalFilters.q = q.value; void loadJournal(); } },
      sel('direction', 'Direction', ['', 'inbound', 'outbound', 'internal']),
      sel('disposition', 'Result', ['', 'answered', 'missed', 'answered_elsewhere', 'rejected', 'no_answer', 'busy', 'failed']),
      q, h('button', { type: 'submit' }, 'Filter')),
    chart,
    h('div', { class: 'scroll' }, h('table', { class: 'journal' },
      h('caption', { class: 'sr-only' }, 'Your calls, newest first'),
      h('thead', {}, h('tr', {}, ['When', 'Dir', 'Number', 'Name', 'Result', 'Duration', 'Note', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, journalCache.map(journalRow)))),
    !journalCache.length ? h('p', { class: 'empty' }, 'No calls match.') : null);
}

function journalRow(e: JournalEntry) {
  const missed = isMissed(e);
  const note = h('input', { type: 'text', value: e.note ?? '', 'aria-label': `Note for call ${e.id}`, maxlength: 2000,
    onchange: (ev: Event) => void saveNote(e, (ev.target as HTMLInputElement).value) });
  return h('tr', { class: missed ? 'missed' : '', dataset: { entryId: String(e.id) } },
    h('td', {}, new Date(e.started_at).toLocaleString()),
    h('td', {}, e.direction === 'inbound' ? '←' : e.direction === 'outbound' ? '→' : '↔', h('span', { class: 'sr-only' }, e.direction)),
    h('td', { class: 'num' }, e.remote_withheld ? 'withheld' : displayNumber(e.remote, uiConfig.home_country)),
    h('td', {}, e.contact?.name ?? e.remote_name ?? ''),
    h('td', { class: 'disp' }, missed ? h('strong', {}, 'missed') : e.disposition),
    h('td', { class: 'dur' }, formatDuration(e.talk_s)),
    h('td', {}, note),
    h('td', {}, e.remote && !e.remote_withheld ? h('button', { class: missed ? 'primary' : '', onclick: () => void callback(e) }, missed ? 'Call back' : 'Call') : null));
}

function presenceView() {
  const lines = [...live.lines.values()].sort((a, b) => a.device.localeCompare(b.device, undefined, { numeric: true }));
  return h('div', {},
    h('h2', { tabindex: -1 }, 'Presence'),
    h('ul', { class: 'presence' }, lines.map((l: Line) => h('li', {},
      h('button', { class: `line state-${l.state}`, dataset: { device: l.device }, disabled: me!.extensions.includes(l.device),
        'aria-label': `${l.name ?? l.device}, ${l.state}. Call`, onclick: () => void dial(l.device) },
        h('span', { class: 'dot', 'aria-hidden': 'true' }), h('strong', {}, l.name ?? l.device), h('span', {}, ` ${l.device} · ${l.state}`))))),
    !lines.length ? h('p', { class: 'empty' }, 'No lines visible yet.') : null);
}

// ---------- admin ----------
let adminData: { diag?: any; users?: any[]; error?: string; newToken?: string } = {};
async function loadAdmin() {
  const out: typeof adminData = {};
  try { out.diag = await api.get('/api/v1/diagnostics'); } catch (e) { out.error = `diagnostics: ${errText(e)}`; }
  try { const u: any = await api.get('/api/v1/users'); out.users = Array.isArray(u) ? u : u.users ?? []; } catch (e) { out.error = [out.error, `users: ${errText(e)}`].filter(Boolean).join('; '); }
  adminData = { ...out, newToken: adminData.newToken };
  render();
}

function kvTable(obj: any, caption: string): HTMLElement {
  if (obj == null) return h('p', {}, 'not reported');
  if (Array.isArray(obj)) {
    if (!obj.length) return h('p', {}, 'none');
    const cols = [...new Set(obj.flatMap((o) => (o && typeof o === 'object' ? Object.keys(o) : [])))];
    return h('table', { 'aria-label': caption }, h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, obj.map((o) => h('tr', {}, cols.map((c) => h('td', {}, fmt(o?.[c])))))));
  }
  return h('table', { 'aria-label': caption }, h('tbody', {}, Object.entries(obj).filter(([, v]) => typeof v !== 'object' || v == null).map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, fmt(v))))));
}
function fmt(v: unknown): string {
  if (v == null) return '';
  if (Array.isArray(v)) return v.map(fmt).join(', ');
  if (typeof v === 'object') return Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k.replace(/_/g, ' ')}: ${fmt(x)}`).join(' · ');
  return String(v);
}

function adminView() {
  const d = adminData.diag ?? {};
  const sections: HTMLElement[] = [];
  sections.push(h('section', {}, h('h3', {}, 'Server'), kvTable(d, 'Server')));  // scalar fields; objects below
  for (const [k, v] of Object.entries(d)) if (v && typeof v === 'object') sections.push(h('section', {}, h('h3', {}, k.replace(/_/g, ' ')), kvTable(v, k)));
  const user = h('input', { id: 'new-user', required: true }), ext = h('input', { id: 'new-ext' }), role = h('select', { id: 'new-role' }, ['user', 'supervisor', 'admin'].map((r) => h('option', {}, r)));
  const tpl = h('textarea', { id: 'tpl', rows: 4 }, tenantConfig().card_template ?? '');
  const preview = h('div', { class: 'contact', 'aria-label': 'Preview' });
  const doPreview = () => preview.replaceChildren(renderCard(tpl.value, flatten({ contact: { id: 'c-1', name: 'Max <b>Muster</b>', company: 'ACME', source: 'store' }, remote: { e164: '+4989123456' } })));
  tpl.addEventListener('input', doPreview); doPreview();
  return h('div', { class: 'admin' },
    h('h2', { tabindex: -1 }, 'Admin'),
    adminData.error ? h('p', { class: 'flash error' }, adminData.error) : null,
    h('button', { onclick: () => void loadAdmin() }, 'Refresh'),
    sections,
    h('section', {}, h('h3', {}, 'Users and tokens'),
      adminData.users ? kvTable(adminData.users, 'Users') : h('p', {}, '…'),
      h('form', { class: 'inline-form', onsubmit: async (ev: Event) => {
        ev.preventDefault();
        try {
          await api.post('/api/v1/users', { user: user.value, role: role.value, extensions: ext.value ? ext.value.split(/[ ,]+/) : [] });
          const t: any = await api.post(`/api/v1/users/${encodeURIComponent(user.value)}/tokens`, {});
          adminData.newToken = t.token ?? JSON.stringify(t);
          await loadAdmin();
        } catch (e) { setFlash('error', errText(e)); }
      } }, h('label', { for: 'new-user' }, 'User'), user, h('label', { for: 'new-ext' }, 'Extensions'), ext, h('label', { for: 'new-role' }, 'Role'), role, h('button', { type: 'submit' }, 'Create user + token')),
      adminData.newToken ? h('p', { class: 'flash ok' }, 'New token (shown once): ', h('code', {}, adminData.newToken)) : null),
    h('section', {}, h('h3', {}, 'Card template'),
      h('p', { class: 'hint' }, 'Tenant templates come from ui-config.json (see docs/web.md). An override here applies to this browser only. Contact data is escaped and the result sanitized.'),
      h('label', { for: 'tpl' }, 'HTML template ({{contact.name}}, {{contact.company}}, {{remote.e164}}, …)'), tpl,
      h('button', { onclick: () => { localStorage.setItem('cb.cardTemplateOverride', tpl.value); setFlash('ok', 'Template override saved for this browser'); } }, 'Save override'),
      h('button', { onclick: () => { localStorage.removeItem('cb.cardTemplateOverride'); render(); } }, 'Reset'),
      preview),
    h('section', {}, h('h3', {}, 'Desktop integration'),
      h('button', { onclick: () => { try { (navigator as any).registerProtocolHandler('tel', `${location.origin}/app/dial?to=%s`); setFlash('ok', 'Asked the browser to open tel: links here'); } catch (e) { setFlash('error', String(e)); } } }, 'Open tel: links with callbridge'),
      'Notification' in window ? h('button', { onclick: () => void Notification.requestPermission().then((p) => setFlash('ok', `Notifications: ${p}`)) }, 'Enable call notifications') : null));
}

// ---------- tel:/callto: links anywhere on the page ----------
document.addEventListener('click', (ev) => {
  const a = (ev.target as Element | null)?.closest?.('a[href]') as HTMLAnchorElement | null;
  if (!a || !me) return;
  const href = a.getAttribute('href') ?? '';
  if (!/^(tel|callto):/i.test(href)) return;
  ev.preventDefault();
  pendingDial = dialTarget(href);
  view = 'calls';
  render();
  (document.getElementById('dial') as HTMLInputElement | null)?.focus();
});

window.addEventListener('hashchange', () => { const v = location.hash.replace(/^#\/?/, ''); if (v && v !== view) go(v); });
// Expose for e2e tests (read-only diagnostics).
(window as any).__cb = { get seq() { return stream?.lastSeq ?? null; }, get dropped() { return stream?.duplicatesDropped ?? 0; }, applied, live };

void boot();
