// Signing in and out, and the session's event stream: boot (token from the URL, saved token or
// session cookie), the WebSocket client (ticket per connection, resume by seq) and what each server
// message changes (live state, journal, pops, command outcomes). Also loads what the session needs
// once: the tenant's UI settings, the user's settings and favorites (server when it has them).
import { ApiError } from '../lib/api';
import { EventStream, type SocketLike } from '../lib/events';
import { relayPending } from '../lib/relay/mode';
import { dialTarget } from '../lib/phone';
import { parseSettings } from '../lib/settings';
import type { Line, Me, ServerMessage } from '../lib/types';
import { prepareAudio, syncAlerting, popped } from './alerting';
import { commandOutcome, consultCallSeen, pairEnded } from './commands';
import { chosenForEntry } from './caller';
import { journalPushed, loadJournal } from './journal';
import { loadAdmin } from './admin_data';
import { deviceEvent, loadDevices } from './devices';
import { loadQueues, queueEvent } from './queues';
import { loadParking, parkingEvent } from './parking';
import { loadMyDevices, myDevicesPushed } from './any_device';
import { callFeaturesPushed, loadCallFeatures } from './call_features';
import { loadMyStatus, setKnown, statusEvent } from './user_status';
import type { UserStatus } from '../lib/types';
import { api, errText, live, myExtensions, parseFavorites, render, setFlash, state, t, type UiConfig } from './state';
import { discardSettingsDraft, normalizeSettings } from './ui_settings';

// Diagnostics for the e2e tests (window.__cb): seqs applied (bounded) and message counts by type.
export const applied: number[] = [];
export const received: Record<string, number> = {};

// The relay transport when the page was opened from the cloud relay.
let relay: { subscribe(path: string): SocketLike } | null = null;

export async function boot() {
  try { state.uiConfig = (await (await fetch('/ui-config.json', { cache: 'no-cache' })).json()) as UiConfig; } catch { state.uiConfig = {}; }
  const p = new URLSearchParams(location.search);
  const to = p.get('to');
  if (to) state.pendingDial = dialTarget(to);
  // Opened from the cloud relay (a pairing link, or keys of an earlier visit): everything goes
  // through the end-to-end transport, loaded only here (docs/relay.md "Browser").
  if (relayPending(location.hash, localStorage)) {
    const fragment = location.hash.startsWith('#pair=') ? location.hash.slice(1) : null;
    if (fragment) history.replaceState(null, '', location.pathname + location.search);  // the secret leaves the URL
    try {
      const { RelayTransport } = await import('../lib/relay/transport');
      const transport = await RelayTransport.open({
        storage: localStorage,
        wsUrl: `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}`,
        WebSocket,
        setTimer: (fn, ms) => window.setTimeout(fn, ms),
        onState: (s) => { document.body.dataset.relay = s; },
      }, fragment);
      relay = transport;
      api.transport = transport;
      await transport.ready();
    } catch (e) {
      setFlash('error', t('relay.failed', { error: errText(e) }));
      render();
      return;
    }
  }
  const hash = location.hash.replace(/^#\/?/, '');
  if (hash) state.view = hash;
  // Demo mode / links from an admin: ?token= signs in once (session cookie) and leaves the URL.
  const urlToken = p.get('token');
  if (urlToken) {
    p.delete('token');
    history.replaceState(null, '', location.pathname + (p.size ? `?${p}` : '') + location.hash);
    await signIn(urlToken, 'session');
    if (state.me) return;
  }
  const saved = sessionStorage.getItem('cb.token');
  if (saved) api.token = saved;
  try {
    state.me = await api.get<Me>('/api/v1/me');
  } catch {
    state.me = null;
    api.token = null;
  }
  if (state.me) startSession(); else render();
}

export async function signIn(token: string, remember: 'session' | 'tab') {
  try {
    if (remember === 'session') {
      state.me = await api.post<Me>('/api/v1/session', { token });
      if (!state.me || !state.me.user) state.me = await api.get<Me>('/api/v1/me');
    } else {
      api.token = token;
      state.me = await api.get<Me>('/api/v1/me');
      sessionStorage.setItem('cb.token', token);
    }
    state.flash = null;
    startSession();
  } catch (e) {
    api.token = null;
    state.me = null;
    setFlash('error', t('signin.failed', { error: errText(e) }));
  }
}

export async function signOut() {
  state.stream?.stop();
  state.stream = null;
  try { if (!api.token) await api.del('/api/v1/session'); } catch { /* already gone */ }
  sessionStorage.removeItem('cb.token');
  api.token = null;
  state.me = null;
  syncAlerting();
  render();
}

async function loadUiSettings() {
  try {
    state.uiSettings = normalizeSettings(await api.get<unknown>('/api/v1/ui-settings'));
    state.uiSettingsState = 'server';
    state.uiSettingsError = '';
    discardSettingsDraft();
  } catch (e) {
    state.uiSettings = null;
    // 404: a server without tenant UI settings -> /ui-config.json (loaded at boot) applies.
    state.uiSettingsState = e instanceof ApiError && e.status === 404 ? 'absent' : 'error';
    state.uiSettingsError = state.uiSettingsState === 'error' ? errText(e) : '';
  }
  render();
}

// The user's settings and favorites from the server when it has the routes (404: kept in this
// browser only).
async function loadUserData() {
  try {
    // Settings the user never saved on the server (`updated_at: null`) are its defaults: the
    // browser's own settings stay then.
    const s = await api.get<Record<string, unknown>>('/api/v1/me/settings');
    if (s && typeof s === 'object' && s.updated_at != null) state.settings = parseSettings({ ...state.settings, ...s });
    state.settingsOnServer = true;
  } catch { state.settingsOnServer = false; }
  try {
    state.favorites = parseFavorites(await api.get<unknown>('/api/v1/me/favorites'));
    state.favoritesOnServer = true;
  } catch { state.favoritesOnServer = false; }
  render();
}

// Display names (and teams, status, note when the server sends them) of the lines: the event
// stream carries states only, GET /api/v1/lines the rest. Loaded at the start and after a snapshot.
let linesLoading = false;
// A line's PBX features changed (docs/dialplan.md): the presence board shows its unconditional forwarding.
function lineFeaturesEvent(line: string, features: unknown) {
  const have = live.lines.get(line);
  if (!have || !features || typeof features !== 'object') return;
  const to = (features as { forwarding?: { unconditional?: unknown } }).forwarding?.unconditional;
  live.lines.set(line, { ...have, forwarded_to: typeof to === 'string' ? to : undefined });
}

export async function loadLines() {
  if (linesLoading) return;
  linesLoading = true;
  try {
    const r = await api.get<{ lines?: Line[] }>('/api/v1/lines');
    for (const l of r.lines ?? []) {
      if (!l || typeof l.device !== 'string') continue;
      const have = live.lines.get(l.device);
      live.lines.set(l.device, { ...have, ...l, forwarded_to: typeof l.forwarded_to === 'string' ? l.forwarded_to : undefined, ...(have ? { state: have.state } : {}) });
    }
    await loadColleagues();
    render();
  } catch { /* names stay unknown; states still come from the stream */ } finally { linesLoading = false; }
}

// Colleagues as people (GET /api/v1/presence: display name, team, extensions) on servers that
// have it: their extensions get the name and team, including lines no PBX link reports yet.
interface Colleague { user?: string; display_name?: string; team?: string; extensions?: string[]; lines?: { device: string; state: string }[]; user_status?: UserStatus }
let presenceMissing = false;
async function loadColleagues() {
  if (presenceMissing) return;
  try {
    const r = await api.get<{ colleagues?: Colleague[] }>('/api/v1/presence');
    for (const c of r.colleagues ?? []) {
      if (c.user && c.user_status) setKnown(c.user, c.display_name || c.user, (c.extensions ?? []).filter((x) => typeof x === 'string'), c.user_status);
      for (const device of c.extensions ?? []) {
        if (typeof device !== 'string') continue;
        const have = live.lines.get(device);
        const st = have?.state ?? c.lines?.find((l) => l.device === device)?.state ?? 'offline';
        live.lines.set(device, { ...have, device, state: st, name: c.display_name || have?.name || c.user, team: c.team ?? have?.team, user: c.user });
      }
    }
  } catch (e) { if (e instanceof ApiError && e.status === 404) presenceMissing = true; }
}

let linesTimer: number | null = null;
function scheduleLines() {
  if (linesTimer == null) linesTimer = window.setTimeout(() => { linesTimer = null; void loadLines(); }, 500);
}

// The browser's WebSocket behind the stream client's SocketLike (through the relay: its stream).
function openSocket(url: string): SocketLike {
  if (relay) return relay.subscribe(url);
  const ws = new WebSocket(url);
  const s: SocketLike = { onopen: null, onmessage: null, onclose: null, onerror: null, close: (code, reason) => ws.close(code, reason) };
  ws.onopen = (ev) => s.onopen?.(ev);
  ws.onmessage = (ev) => s.onmessage?.({ data: ev.data });
  ws.onclose = (ev) => s.onclose?.({ code: ev.code, reason: ev.reason });
  ws.onerror = (ev) => s.onerror?.(ev);
  return s;
}

let onlineHooked = false;
function startSession() {
  live.devices = myExtensions();
  void loadUiSettings();
  void loadUserData();
  void loadMyDevices();
  void loadCallFeatures();
  const stream = new EventStream({
    url: async (since) => {
      const tk = await api.post<{ ticket: string }>('/api/v1/ws-ticket');
      return api.eventsUrl(tk.ticket, since, state.me && state.me.role !== 'user' ? 'tenant' : 'team');
    },
    open: openSocket,
    setTimer: (fn, ms) => window.setTimeout(fn, ms),
    clearTimer: (h) => window.clearTimeout(h as number),
    // An admin changed this user's role, extensions or team: read them again before the stream
    // reconnects (its scope follows the role).
    userChanged: async () => {
      try { state.me = await api.get<Me>('/api/v1/me'); } catch { /* the stream reconnects anyway */ }
      void loadMyDevices();
      render();
    },
  }, {
    message: onMessage,
    state: (s, info) => {
      state.streamState = { state: s, offlineSince: info.offlineSince, lastError: info.lastError };
      document.body.dataset.stream = s;
      syncAlerting();
      render();
    },
  });
  state.stream = stream;
  prepareAudio();
  if (!onlineHooked) { onlineHooked = true; window.addEventListener('online', () => state.stream?.reconnectNow()); }
  stream.start();
  void loadMyStatus();
  render();
  if (state.view === 'journal' || state.view === 'calls') void loadJournal();
  if (state.view === 'admin') void loadAdmin();
  if (state.view === 'devices') void loadDevices();
  void loadQueues();  // the header's agent control and the queue board
  void loadParking();  // the Parked calls panel
}

// One message of the event stream (exported for the unit tests, which feed it messages in both orders).
export function onMessage(m: ServerMessage) {
  received[m.type] = (received[m.type] ?? 0) + 1;
  if (m.type === 'command') { commandOutcome(m.command); render(); return; }
  if (typeof m.seq === 'number') applied.push(m.seq);
  if (applied.length > 2000) applied.splice(0, 1000);
  if (m.type === 'device') { deviceEvent(m); render(); return; }
  if (m.type === 'queue') { queueEvent(m); render(); return; }
  if (m.type === 'parking') { parkingEvent(m); render(); return; }
  if (m.type === 'user_status') { statusEvent(m); render(); return; }
  if (m.type === 'user_devices') { myDevicesPushed(m.devices); void loadCallFeatures(); render(); return; }
  if (m.type === 'line_features') { lineFeaturesEvent(m.line, m.features); callFeaturesPushed(m.line); render(); return; }
  const mine = myExtensions();
  const before = new Set(live.incoming(mine).map((c) => c.id));
  const had = new Set(live.mine(mine).map((c) => c.id));
  const newLine = m.type === 'line' && !live.lines.get(m.device)?.name;
  live.apply(m);
  if (newLine) scheduleLines();
  if (m.type === 'snapshot') void loadLines();
  if (m.type === 'journal') journalPushed(m.entry, Array.isArray(m.resolves) ? m.resolves : [], chosenForEntry(m.entry.call_id));
  const now = live.mine(mine);
  const still = new Set(now.map((c) => c.id));
  for (const c of now) if (!had.has(c.id)) consultCallSeen(c);
  for (const id of had) if (!still.has(id)) pairEnded(id);  // gone, or no longer on our devices
  for (const c of live.incoming(mine)) if (!before.has(c.id)) popped(c);
  syncAlerting();
  render();
}
