// The callbridge browser client: sign-in, screen pop, click-to-dial, call control, journal,
// presence and admin pages over the public v1 API (docs/api.md). Plain DOM, no framework: every
// piece of untrusted data goes through text nodes (h()) or the template sanitizer.
import './style.css';
import { Api, ApiError } from './lib/api';
import { ChooserMemory, resolveContact, type Resolution } from './lib/chooser';
import { EventStream } from './lib/events';
import { LiveState, actionsFor } from './lib/store';
import { expandUrl, flatten, renderCard, urlTemplateProblem } from './lib/template';
import { callerOf, templateVars, type Caller } from './lib/remote';
import { bucketize, chartSvg, isMissed } from './lib/chart';
import { dialTarget, displayNumber, formatDuration } from './lib/phone';
import type { Call, CommandStatus, Contact, JournalEntry, Line, Me, ServerMessage, UiSettings } from './lib/types';

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
// Tenant UI settings from GET /api/v1/ui-settings; null when the server has no such endpoint (404)
// or it failed: then /ui-config.json applies.
let uiSettings: UiSettings | null = null;
let uiSettingsState: 'server' | 'absent' | 'error' = 'absent';
let uiSettingsError = '';
let stream: EventStream | null = null;
let streamState: { state: string; offlineSince: number | null; lastError?: string } = { state: 'offline', offlineSince: null };
let view = 'calls';
let lastDialed = localStorage.getItem('cb.lastDialed') ?? '';
let pendingDial = '';
let journalCache: JournalEntry[] = [];
let flash: { kind: 'ok' | 'error'; text: string } | null = null;
const targets = new Map<string, string>();         // call id -> transfer/consult target being typed
const manualChoice = new Map<string, Contact>();  // call id -> contact picked (this session)
const lookups = new Map<string, Contact[] | null>();  // call id + number -> matches (client-side lookup; null = in flight)
const notified = new Map<string, string>();       // call id -> text of the desktop notification shown
const sentCommands = new Map<string, { action: string; who: string }>();  // command id -> what we sent

const root = document.getElementById('app')!;
const announcer = document.getElementById('live')!;

function tenantConfig(): UiTenantConfig {
  if (uiSettings) {
    // Server settings: one list of links; those whose placeholders have no value are hidden, so
    // contact links show for known callers and e.g. "create contact" links only when wanted.
    return { actions: uiSettings.action_links, unknown_actions: uiSettings.action_links, card_template: uiSettings.card_template || undefined };
  }
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

function normalizeSettings(v: any): UiSettings {
  const links = Array.isArray(v?.action_links) ? v.action_links : [];
  return {
    action_links: links.filter((l: any) => l && typeof l.label === 'string' && typeof l.url === 'string')
      .map((l: any) => ({ label: l.label, url: l.url })),
    card_template: typeof v?.card_template === 'string' ? v.card_template : '',
  };
}

async function loadUiSettings() {
  try {
    uiSettings = normalizeSettings(await api.get('/api/v1/ui-settings'));
    uiSettingsState = 'server';
    uiSettingsError = '';
    settingsDraft = null;
  } catch (e) {
    uiSettings = null;
    // 404: a server without tenant UI settings -> /ui-config.json (loaded at boot) applies.
    uiSettingsState = e instanceof ApiError && e.status === 404 ? 'absent' : 'error';
    uiSettingsError = uiSettingsState === 'error' ? errText(e) : '';
  }
  render();
}

function startSession() {
  void loadUiSettings();
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
  if (view === 'admin') void loadAdmin();
}

// ---------- events ----------
const applied: number[] = [];  // seqs applied, for diagnostics and the e2e tests (bounded)
const received: Record<string, number> = {};  // message counts by type (e2e diagnostics)
function onMessage(m: ServerMessage) {
  received[m.type] = (received[m.type] ?? 0) + 1;
  if (m.type === 'command') { commandOutcome(m.command); return; }
  if (typeof m.seq === 'number') applied.push(m.seq);
  if (applied.length > 2000) applied.splice(0, 1000);
  const before = new Set(live.incoming(me?.extensions ?? []).map((c) => c.id));
  live.apply(m);
  if (m.type === 'journal') {
    journalCache = [m.entry, ...journalCache.filter((e) => e.id == null || e.id !== m.entry.id)];
    if (view === 'journal' && m.entry.id == null) scheduleJournalReload();  // fetch the stored ids
  }
  const now = live.incoming(me?.extensions ?? []);
  for (const c of now) if (!before.has(c.id)) popped(c);
  for (const id of [...notified.keys()]) if (!now.some((c) => c.id === id)) notified.delete(id);
  render();
  refreshNotifications();
}

function popped(c: Call) {
  say(`Incoming call from ${callerLabel(c)}`);
  notify(c);
}

// Desktop notification while the tab is in the background; replaced (same tag) when the contact
// lookup finishes after the pop.
function notify(c: Call) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  if (!document.hidden && document.hasFocus()) return;
  const who = callerLabel(c);
  if (notified.get(c.id) === who) return;
  notified.set(c.id, who);
  try {
    const n = new Notification('Incoming call', { body: who, tag: c.id });
    n.onclick = () => { window.focus(); n.close(); };
  } catch { /* e.g. a browser that only allows notifications from a service worker */ }
}

function refreshNotifications() {
  for (const c of live.incoming(me?.extensions ?? [])) if (notified.has(c.id)) notify(c);
}

function callerLabel(c: Call): string {
  const { caller, res } = resolved(c);
  if (res.kind === 'contact') return `${res.contact.name}${res.contact.company ? `, ${res.contact.company}` : ''} (${caller.display})`;
  const colleague = colleagueName(caller);
  return colleague ? `${colleague} (${caller.display})` : caller.display;
}

function colleagueName(caller: Caller): string {
  return caller.kind === 'internal' && caller.extension ? live.lines.get(caller.extension)?.name ?? '' : '';
}

// Client-side lookup, only for servers that send no remote_info: once per call and number (a new
// call looks again, so contacts added meanwhile are found).
function clientLookup(callId: string, n: string): Contact[] | undefined {
  const key = `${callId}\u0000${n}`;
  if (!lookups.has(key)) {
    if (lookups.size > 500) lookups.clear();
    lookups.set(key, null);
    api.get<{ matches: any[] }>(`/api/v1/contacts/lookup?number=${encodeURIComponent(n)}`)
      .then((r) => {
        lookups.set(key, (r.matches ?? []).map((m) => ({ id: String(m.id), name: m.name, company: m.company, source: m.source,
          match: m.match === 'company' ? 'company' : 'exact', number: m.matched_number })));
      })
      .catch(() => lookups.set(key, []))
      .finally(() => { render(); refreshNotifications(); });
  }
  return lookups.get(key) ?? undefined;
}

function resolved(c: Call): { caller: Caller; res: Resolution } {
  const caller = callerOf(c, me?.extensions ?? [], uiConfig.home_country, (n) => clientLookup(c.id, n));
  const picked = manualChoice.get(c.id);
  if (picked) return { caller, res: { kind: 'contact', contact: picked, remembered: true } };
  return { caller, res: resolveContact(memory, caller.key, caller.contacts) };
}

// Outcome of a command we (or another tab of this user) sent: failures are alerts.
function commandOutcome(cmd: CommandStatus) {
  if (!cmd || typeof cmd.id !== 'string') return;
  const sent = sentCommands.get(cmd.id);
  const what = actionLabel(sent?.action ?? cmd.action ?? 'command');
  // The outcome may arrive before the 202 that names the command: then the call tells who it was.
  const call = cmd.call_id ? live.calls.get(cmd.call_id) : undefined;
  const who = sent?.who ?? (call ? callerLabel(call) : '');
  if (cmd.state === 'failed') {
    alertUser(`${what}${who ? ` (${who})` : ''} failed${cmd.reason ? `: ${cmd.reason}` : ''}`);
    sentCommands.delete(cmd.id);
  } else if (cmd.state === 'done') {
    say(`${what} done`);
    sentCommands.delete(cmd.id);
  }
}

// Remembers the command a 202 named, so its outcome can say which call it was about.
function track(r: any, action: string, who: string) {
  const id = r?.command_id ?? r?.command?.id;
  if (typeof id !== 'string') return;
  if (sentCommands.size > 200) sentCommands.clear();
  sentCommands.set(id, { action, who });
}

// Persistent alerts outside the re-rendered app (role=alert: read out once when added).
function alertUser(text: string) {
  const box = document.getElementById('alerts');
  if (!box) { setFlash('error', text); return; }
  while (box.children.length >= 5) box.firstElementChild!.remove();
  const el = h('div', { class: 'alert', role: 'alert' }, h('span', {}, text),
    h('button', { class: 'link', 'aria-label': `Dismiss: ${text}`, onclick: () => el.remove() }, '×'));
  box.append(el);
}

// ---------- actions ----------
async function dial(raw: string) {
  const to = dialTarget(raw);
  if (!to) { setFlash('error', 'Enter a number to dial'); return; }
  try {
    const r = await api.post<any>('/api/v1/calls', { to });
    track(r, 'make_call', to);
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
  if (action === 'consult' || action === 'transfer' || action === 'deflect') {
    const input = document.getElementById(`target-${c.id}`) as HTMLInputElement | null;
    const to = dialTarget(input?.value ?? targets.get(c.id) ?? '');
    if (action !== 'transfer' && !to) { alertUser(`Enter the number to ${action === 'consult' ? 'consult' : 'deflect to'}`); input?.focus(); return; }
    if (to) body = { to };
  }
  try {
    const r = await api.post<any>(`/api/v1/calls/${encodeURIComponent(c.id)}/${action}`, body);
    track(r, action, callerLabel(c));
    say(`${actionLabel(action)} sent`);
  } catch (e) {
    alertUser(`${actionLabel(action)} failed: ${errText(e)}`);
  }
}

async function loadJournal() {
  const f = journalFilters;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v) q.set(k, v);
  q.set('limit', '200');
  try {
    const r = await api.get<{ entries: JournalEntry[] }>(`/api/v1/journal?${q}`);
    const stored = r.entries ?? [];
    // Live entries (no id yet) stay until the store returns them.
    const key = (e: JournalEntry) => `${e.call_id ?? ''}|${e.party}|${e.started_at}`;
    const have = new Set(stored.map(key));
    const unfiltered = Object.values(journalFilters).every((v) => !v);
    journalCache = [...(unfiltered ? journalCache.filter((e) => e.id == null && !have.has(key(e))) : []), ...stored];
    render();
  } catch (e) {
    setFlash('error', `Journal: ${errText(e)}`);
  }
}
let journalReload: number | null = null;
function scheduleJournalReload() {
  if (journalReload != null) return;
  journalReload = window.setTimeout(() => { journalReload = null; void loadJournal(); }, 300);
}
const noteDrafts = new Map<number, string>();  // entry id -> note being typed (survives re-renders)
const journalFilters: Record<string, string> = { direction: '', disposition: '', q: '', since: '' };
let chartUnit: 'hour' | 'day' = 'hour';

async function saveNote(e: JournalEntry, note: string) {
  try {
    await api.patch(`/api/v1/journal/${e.id}`, { note });
    e.note = note;
    noteDrafts.delete(e.id);
    say('Note saved');
  } catch (err) { setFlash('error', `Note: ${errText(err)}`); }
}

async function callback(e: JournalEntry) {
  try {
    // Entries pushed by the event stream have no id until the journal is reloaded.
    const r = typeof e.id === 'number' ? await api.post<any>(`/api/v1/journal/${e.id}/callback`)
      : await api.post<any>('/api/v1/calls', { to: e.remote, from: e.party });
    track(r, 'callback', displayNumber(e.remote, uiConfig.home_country));
    setFlash('ok', `Calling back ${displayNumber(e.remote, uiConfig.home_country)}…`);
  } catch (err) { setFlash('error', `Callback failed: ${errText(err)}`); }
}

// ---------- views ----------
function render() {
  // Re-rendering replaces the DOM: keep keyboard focus (and the caret) on the same control.
  const active = document.activeElement as HTMLElement | null;
  const focusId = active && root.contains(active) && active.id ? active.id : null;
  const caret = active instanceof HTMLInputElement && ['text', 'tel', 'search'].includes(active.type) ? active.selectionStart : null;
  root.replaceChildren(me ? appShell() : signInView());
  renderStatus();
  if (focusId) {
    const el = document.getElementById(focusId);
    if (el) {
      el.focus();
      if (caret != null && el instanceof HTMLInputElement) { try { el.setSelectionRange(caret, caret); } catch { /* type without selection */ } }
    }
  }
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
  const input = h('input', { id: 'dial', type: 'tel', inputmode: 'tel', autocomplete: 'off', value: pendingDial, placeholder: 'Number, e.g. 0211 339903-12',
    oninput: (ev: Event) => { pendingDial = (ev.target as HTMLInputElement).value; } });
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
  const { caller, res } = resolved(c);
  const disp = caller.display;
  const cfg = tenantConfig();
  const contact = res.kind === 'contact' ? res.contact : null;
  const vars = flatten(templateVars(caller, contact, c.id));
  const device = me!.extensions.find((d) => c.connections.some((x) => x.device === d)) ?? me!.extensions[0];
  const conn = c.connections.find((x) => x.device === device);
  const actions = actionsFor(c, device);
  const pending = caller.lookup === 'pending' && res.kind === 'unknown';
  let contactPart: Node;
  if (res.kind === 'contact') {
    const card = h('div', { class: 'contact' });
    if (cfg.card_template) card.appendChild(renderCard(cfg.card_template, vars));
    else card.append(h('strong', { class: 'contact-name' }, res.contact.name), h('div', {}, res.contact.company ?? ''),
      h('small', {}, `source: ${res.contact.source ?? ''}${res.contact.match === 'company' ? ' (company number)' : ''}`));
    if (caller.contacts.length > 1) card.append(h('button', { class: 'link', onclick: () => { manualChoice.delete(c.id); if (caller.key) memory.forget(caller.key); render(); } }, 'Choose another'));
    contactPart = card;
  } else if (res.kind === 'choose') {
    contactPart = h('fieldset', { class: 'chooser' }, h('legend', {}, `${res.options.length} contacts match — who is it?`),
      res.options.map((o) => h('button', { class: 'choice', dataset: { contactId: o.id }, onclick: () => {
        manualChoice.set(c.id, o);
        if (caller.key) memory.remember(caller.key, o);
        render();
        refreshNotifications();
        (document.querySelector(`article[data-call-id="${CSS.escape(c.id)}"] .controls button`) as HTMLElement | null)?.focus();
      } },
        h('strong', {}, o.name), ' ', h('span', {}, [o.company, o.source, o.match === 'company' ? 'company number' : ''].filter(Boolean).join(' · ')))));
  } else if (pending) {
    contactPart = h('div', { class: 'contact pending', 'aria-busy': 'true' }, h('span', {}, 'Looking up contact…'));
  } else {
    const colleague = colleagueName(caller);
    contactPart = colleague
      ? h('div', { class: 'contact colleague' }, h('strong', {}, colleague), h('small', {}, ' colleague'))
      : h('div', { class: 'contact unknown' }, h('strong', {}, caller.kind === 'withheld' ? 'number withheld' : 'unknown'));
  }
  const links = (res.kind === 'contact' ? cfg.actions : res.kind === 'unknown' && !pending ? cfg.unknown_actions : []) ?? [];
  const linkEls = links.map((l) => { const u = expandUrl(l.url, vars); return u ? h('a', { href: u, target: '_blank', rel: 'noopener noreferrer', class: 'action-link' }, l.label) : null; }).filter(Boolean);
  const needsTarget = actions.includes('consult') || actions.includes('transfer') || actions.includes('deflect');
  const intl = caller.international && caller.international !== disp ? caller.international : '';
  return h('article', { class: `card ${incoming ? 'ringing' : ''}`, 'aria-label': `${incoming ? 'Incoming call' : 'Call'} ${disp}`, dataset: { callId: c.id, lookup: caller.lookup, source: caller.fromServer ? 'server' : 'client' } },
    h('div', { class: 'card-head' },
      h('span', { class: 'number' }, disp, intl ? h('small', { class: 'intl' }, ` ${intl}`) : null),
      h('span', { class: `badge state-${conn?.state ?? ''}` }, conn?.state ?? '')),
    contactPart,
    linkEls.length ? h('div', { class: 'links' }, linkEls as Node[]) : null,
    needsTarget ? h('span', { class: 'target' }, h('label', { for: `target-${c.id}` }, 'Transfer/consult/deflect to'), h('input', { id: `target-${c.id}`, type: 'tel', autocomplete: 'off', value: targets.get(c.id) ?? '', oninput: (ev: Event) => targets.set(c.id, (ev.target as HTMLInputElement).value) })) : null,
    h('div', { class: 'controls', role: 'group', 'aria-label': 'Call control' },
      actions.map((a) => h('button', { id: `ctl-${c.id}-${a}`, class: `ctl ctl-${a}`, dataset: { action: a }, onclick: () => void control(c, device, a) }, actionLabel(a)))));
}

function actionLabel(a: string) {
  return ({ answer: 'Answer', hangup: 'Hang up', hold: 'Hold', retrieve: 'Retrieve', consult: 'Consult', alternate: 'Alternate', transfer: 'Transfer', conference: 'Conference', deflect: 'Deflect',
    make_call: 'Call', make: 'Call', dial: 'Call', originate: 'Call', callback: 'Call back' } as Record<string, string>)[a] ?? a;
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
  const hasId = typeof e.id === 'number';
  const note = h('input', { id: `note-${e.id}`, disabled: !hasId, title: hasId ? null : 'Saving…', type: 'text', value: noteDrafts.get(e.id) ?? e.note ?? '', 'aria-label': `Note for call ${e.id}`, maxlength: 2000,
    oninput: (ev: Event) => noteDrafts.set(e.id, (ev.target as HTMLInputElement).value),
    onchange: (ev: Event) => void saveNote(e, (ev.target as HTMLInputElement).value) });
  return h('tr', { class: missed ? 'missed' : '', dataset: { entryId: String(e.id) } },
    h('td', {}, new Date(e.started_at).toLocaleString()),
    h('td', {}, e.direction === 'inbound' ? '←' : e.direction === 'outbound' ? '→' : '↔', h('span', { class: 'sr-only' }, e.direction)),
    h('td', { class: 'num' }, e.remote_withheld ? 'withheld' : displayNumber(e.remote, uiConfig.home_country)),
    h('td', { class: 'who' }, e.contact?.name
      ? [h('span', { class: 'contact-name' }, e.contact.name),
         e.contact.company ? h('span', { class: 'company' }, `, ${e.contact.company}`) : null,
         e.contact.source ? h('small', { class: 'source', title: 'directory source' }, ` · ${e.contact.source}`) : null]
      : e.remote_name ?? ''),
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
    uiSettingsSection(),
    h('section', {}, h('h3', {}, 'Desktop integration'),
      h('button', { onclick: () => { try { (navigator as any).registerProtocolHandler('tel', `${location.origin}/app/dial?to=%s`); setFlash('ok', 'Asked the browser to open tel: links here'); } catch (e) { setFlash('error', String(e)); } } }, 'Open tel: links with callbridge'),
      'Notification' in window ? h('button', { onclick: () => void Notification.requestPermission().then((p) => setFlash('ok', `Notifications: ${p}`)) }, 'Enable call notifications') : null));
}

// Tenant UI settings editor: action links (URL templates) and the HTML card template, with a
// preview rendered exactly as a pop would (escaped values, sanitized HTML). Saved with
// PUT /api/v1/ui-settings; on servers without that endpoint the template can only be overridden
// for this browser (the tenant-wide place is then ui-config.json).
let settingsDraft: UiSettings | null = null;
let settingsErrors: Record<number, string> = {};
let previewKnown = true;

function currentSettings(): UiSettings {
  if (uiSettings) return uiSettings;
  const c = tenantConfig();
  return { action_links: [...(c.actions ?? []), ...(c.unknown_actions ?? [])], card_template: c.card_template ?? '' };
}

const SAMPLE_CALLER: Caller = { key: '+4989123456', e164: '+4989123456', extension: null, kind: 'external', display: '089 123456',
  international: '+49 89 123456', lookup: 'done', contacts: [], fromServer: true };
const SAMPLE_CONTACT: Contact = { id: 'c-17', name: 'Max Muster', company: 'ACME GmbH', source: 'store', match: 'exact', number: '+4989123456' };

function settingsPreview(d: UiSettings): Node[] {
  const contact = previewKnown ? SAMPLE_CONTACT : null;
  const vars = flatten(templateVars(SAMPLE_CALLER, contact, 'sample-call-1'));
  const card = h('div', { class: 'contact' });
  if (contact && d.card_template) card.appendChild(renderCard(d.card_template, vars));
  else if (contact) card.append(h('strong', {}, contact.name), h('div', {}, contact.company ?? ''), h('small', {}, `source: ${contact.source}`));
  else card.append(h('strong', {}, 'unknown'));
  const links = d.action_links.map((l) => ({ l, u: urlTemplateProblem(l.url) ? null : expandUrl(l.url, vars) }));
  return [
    h('div', { class: 'card-head' }, h('span', { class: 'number' }, SAMPLE_CALLER.display)),
    card,
    h('div', { class: 'links' }, links.filter((x) => x.u && x.l.label).map((x) => h('a', { href: x.u!, target: '_blank', rel: 'noopener noreferrer', class: 'action-link' }, x.l.label))),
    h('p', { class: 'hint' }, links.filter((x) => !x.u).length ? `Hidden for this caller: ${links.filter((x) => !x.u).map((x) => x.l.label || '(no label)').join(', ')}` : ''),
  ];
}

function uiSettingsSection(): HTMLElement {
  if (!settingsDraft) settingsDraft = structuredClone(currentSettings());
  const d = settingsDraft;
  const onServer = uiSettingsState === 'server';
  const preview = h('div', { class: 'card preview', id: 'settings-preview', 'aria-label': 'Preview of a screen pop', role: 'region' });
  const redraw = () => preview.replaceChildren(...settingsPreview(d));
  redraw();
  const rows = d.action_links.map((l, i) => {
    const err = settingsErrors[i];
    return h('fieldset', { class: 'link-row' }, h('legend', { class: 'sr-only' }, `Action link ${i + 1}`),
      h('label', { for: `sl-label-${i}` }, 'Label'),
      h('input', { id: `sl-label-${i}`, value: l.label, required: true, maxlength: 80, oninput: (ev: Event) => { l.label = (ev.target as HTMLInputElement).value; redraw(); } }),
      h('label', { for: `sl-url-${i}` }, 'URL'),
      h('input', { id: `sl-url-${i}`, class: 'url', value: l.url, required: true, 'aria-invalid': err ? 'true' : null, 'aria-describedby': err ? `sl-err-${i}` : null,
        oninput: (ev: Event) => { l.url = (ev.target as HTMLInputElement).value; redraw(); if (settingsErrors[i]) { delete settingsErrors[i]; render(); } } }),
      h('button', { type: 'button', id: `sl-del-${i}`, 'aria-label': `Remove action link ${i + 1}${l.label ? ` (${l.label})` : ''}`,
        onclick: () => { d.action_links.splice(i, 1); settingsErrors = {}; render(); document.getElementById('sl-add')?.focus(); } }, 'Remove'),
      err ? h('span', { class: 'field-error', id: `sl-err-${i}` }, err) : null);
  });
  const save = async () => {
    settingsErrors = {};
    d.action_links.forEach((l, i) => { const p = !l.label.trim() ? 'enter a label' : urlTemplateProblem(l.url); if (p) settingsErrors[i] = p; });
    const bad = Object.keys(settingsErrors).map(Number);
    if (bad.length) {
      render();
      alertUser(`Action link ${bad[0] + 1}: ${settingsErrors[bad[0]]}`);
      document.getElementById(`sl-url-${bad[0]}`)?.focus();
      return;
    }
    const body: UiSettings = { action_links: d.action_links.map((l) => ({ label: l.label.trim(), url: l.url.trim() })), card_template: d.card_template };
    if (onServer) {
      try {
        const r = await api.request<any>('PUT', '/api/v1/ui-settings', body);
        uiSettings = normalizeSettings(r && typeof r === 'object' && 'action_links' in r ? r : body);
        settingsDraft = null;
        setFlash('ok', 'UI settings saved for the tenant');
      } catch (e) { alertUser(`Saving the UI settings failed: ${errText(e)}`); }
    } else {
      localStorage.setItem('cb.cardTemplateOverride', body.card_template);
      setFlash('ok', 'Card template saved for this browser only (the server has no UI settings API)');
    }
  };
  return h('section', { class: 'ui-settings', 'aria-labelledby': 'ui-settings-h' },
    h('h3', { id: 'ui-settings-h' }, 'Screen pop: action links and card template'),
    h('p', { class: 'hint' }, onServer
      ? 'Stored on the server for the whole tenant. Placeholders: {contact.id}, {contact.name}, {contact.company}, {remote.e164}, {remote.display}, {call.id}, … Values are percent-encoded in URLs and HTML-escaped in the card; the card HTML is sanitized (no scripts, styles, forms or event handlers). A link whose placeholders have no value for a caller is hidden.'
      : uiSettingsState === 'error'
        ? `The server's UI settings could not be loaded (${uiSettingsError}); showing ui-config.json.`
        : 'This server has no UI settings API: the tenant-wide settings come from ui-config.json (docs/web.md). Only a card template override for this browser can be saved here.'),
    h('div', { class: 'link-rows' }, rows.length ? rows : h('p', { class: 'empty' }, 'No action links.')),
    h('button', { type: 'button', id: 'sl-add', disabled: !onServer, onclick: () => { d.action_links.push({ label: '', url: '' }); render(); document.getElementById(`sl-label-${d.action_links.length - 1}`)?.focus(); } }, 'Add link'),
    h('label', { for: 'tpl', class: 'block' }, 'Card template (HTML; {contact.name}, {contact.company}, {contact.source}, {remote.display}, …)'),
    h('textarea', { id: 'tpl', rows: 4, oninput: (ev: Event) => { d.card_template = (ev.target as HTMLTextAreaElement).value; redraw(); } }, d.card_template),
    h('div', { class: 'preview-head' }, h('h4', {}, 'Preview'),
      h('label', { class: 'inline' }, h('input', { type: 'checkbox', id: 'preview-known', checked: previewKnown, onchange: (ev: Event) => { previewKnown = (ev.target as HTMLInputElement).checked; redraw(); } }), ' known caller (Max Muster, ACME GmbH)')),
    preview,
    h('div', { class: 'inline-form' },
      h('button', { type: 'button', id: 'settings-save', class: 'primary', onclick: () => void save() }, onServer ? 'Save for the tenant' : 'Save for this browser'),
      h('button', { type: 'button', id: 'settings-reset', onclick: () => { settingsDraft = null; settingsErrors = {}; if (!onServer) localStorage.removeItem('cb.cardTemplateOverride'); render(); } }, onServer ? 'Discard changes' : 'Reset')));
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
(window as any).__cb = { get seq() { return stream?.lastSeq ?? null; }, get dropped() { return stream?.duplicatesDropped ?? 0; }, applied, received, live,
  get uiSettings() { return uiSettingsState; } };

void boot();
