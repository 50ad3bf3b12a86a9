// Signing in and out, and the session's event stream: boot (token from the URL, saved token or
// session cookie), the WebSocket client (ticket per connection, resume by seq) and what each server
// message changes (live state, journal, pops, command outcomes).
import { ApiError } from '../lib/api';
import { EventStream, type SocketLike } from '../lib/events';
import { dialTarget } from '../lib/phone';
import type { Me, ServerMessage } from '../lib/types';
import { commandOutcome } from './commands';
import { journalPushed, loadJournal } from './journal';
import { popped, pruneNotifications, refreshNotifications } from './notify';
import { loadAdmin } from './admin';
import { api, errText, live, myExtensions, render, renderStatus, setFlash, state, type UiConfig } from './state';
import { discardSettingsDraft, normalizeSettings } from './ui_settings';

// Diagnostics for the e2e tests (window.__cb): seqs applied (bounded) and message counts by type.
export const applied: number[] = [];
export const received: Record<string, number> = {};

export async function boot() {
  try { state.uiConfig = (await (await fetch('/ui-config.json', { cache: 'no-cache' })).json()) as UiConfig; } catch { state.uiConfig = {}; }
  const p = new URLSearchParams(location.search);
  const to = p.get('to');
  if (to) state.pendingDial = dialTarget(to);
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
    setFlash('error', `Sign-in failed: ${errText(e)}`);
  }
}

export async function signOut() {
  state.stream?.stop();
  state.stream = null;
  try { if (!api.token) await api.del('/api/v1/session'); } catch { /* already gone */ }
  sessionStorage.removeItem('cb.token');
  api.token = null;
  state.me = null;
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

// The browser's WebSocket behind the stream client's SocketLike.
function openSocket(url: string): SocketLike {
  const ws = new WebSocket(url);
  const s: SocketLike = { onopen: null, onmessage: null, onclose: null, onerror: null, close: (code, reason) => ws.close(code, reason) };
  ws.onopen = (ev) => s.onopen?.(ev);
  ws.onmessage = (ev) => s.onmessage?.({ data: ev.data });
  ws.onclose = (ev) => s.onclose?.({ code: ev.code, reason: ev.reason });
  ws.onerror = (ev) => s.onerror?.(ev);
  return s;
}

function startSession() {
  void loadUiSettings();
  const stream = new EventStream({
    url: async (since) => {
      const t = await api.post<{ ticket: string }>('/api/v1/ws-ticket');
      return api.eventsUrl(t.ticket, since, state.me && state.me.role !== 'user' ? 'tenant' : 'team');
    },
    open: openSocket,
    setTimer: (fn, ms) => window.setTimeout(fn, ms),
    clearTimer: (t) => window.clearTimeout(t as number),
  }, {
    message: onMessage,
    state: (s, info) => {
      state.streamState = { state: s, offlineSince: info.offlineSince, lastError: info.lastError };
      renderStatus();
    },
  });
  state.stream = stream;
  window.addEventListener('online', () => state.stream?.reconnectNow());
  stream.start();
  render();
  if (state.view === 'journal') void loadJournal();
  if (state.view === 'admin') void loadAdmin();
}

function onMessage(m: ServerMessage) {
  received[m.type] = (received[m.type] ?? 0) + 1;
  if (m.type === 'command') { commandOutcome(m.command); return; }
  if (typeof m.seq === 'number') applied.push(m.seq);
  if (applied.length > 2000) applied.splice(0, 1000);
  const before = new Set(live.incoming(myExtensions()).map((c) => c.id));
  live.apply(m);
  if (m.type === 'journal') journalPushed(m.entry);
  const now = live.incoming(myExtensions());
  for (const c of now) if (!before.has(c.id)) popped(c);
  pruneNotifications(now);
  render();
  refreshNotifications();
}
