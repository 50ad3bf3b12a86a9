// The client's shared state: the API client, the live call/line state, the signed-in user, the
// tenant's UI configuration, the user's settings and the page-level status (view, flash, alerts,
// stream state). The app's modules change it and call render(); the Preact roots (App.tsx) listen
// and re-render with keyed children, so DOM nodes, focus and what is typed survive every update.
// Main thread of the page.
import { useEffect, useReducer } from 'preact/hooks';
import { Api, ApiError } from '../lib/api';
import { ChooserMemory } from '../lib/chooser';
import { errorWords } from '../lib/callview';
import type { EventStream } from '../lib/events';
import { locale, pickLang, translator, type Lang, type Translate } from '../lib/i18n';
import { DEFAULT_SETTINGS, parseSettings, type UserSettings } from '../lib/settings';
import { LiveState } from '../lib/store';
import type { Favorite } from '../lib/suggest';
import type { CallFeatures, JournalEntry, Me, UiSettings, UserDevices } from '../lib/types';

export interface ActionLink { label: string; url: string }
export interface UiTenantConfig { actions?: ActionLink[]; unknown_actions?: ActionLink[]; card_template?: string }
export interface UiConfig { home_country?: string; tenants?: Record<string, UiTenantConfig> }
export interface StreamStatus { state: string; offlineSince: number | null; lastError?: string }
export interface Flash { kind: 'ok' | 'error'; text: string; at: number }
export interface Alert { id: number; text: string }

export interface AppState {
  me: Me | null;
  uiConfig: UiConfig;
  // Tenant UI settings from GET /api/v1/ui-settings; null when the server has no such endpoint
  // (404) or it failed: then /ui-config.json applies.
  uiSettings: UiSettings | null;
  uiSettingsState: 'server' | 'absent' | 'error';
  uiSettingsError: string;
  stream: EventStream | null;
  streamState: StreamStatus;
  view: string;
  lastDialed: string;
  pendingDial: string;
  journal: JournalEntry[];  // stored entries plus live ones not stored yet (shown newest first)
  journalMissed: unknown;   // the server's missed counter when it sends one
  flash: Flash | null;
  alerts: Alert[];
  settings: UserSettings;
  settingsOnServer: boolean;
  favorites: Favorite[];
  favoritesOnServer: boolean;
  // AnyDevice (GET /api/v1/me/devices); null: not loaded, or a server without the routes.
  myDevices: UserDevices | null;
  myDevicesOpen: boolean;  // the devices dialog
  callFeatures: CallFeatures | null;  // DND, forwarding, follow-me (null: not served)
  forwardingOpen: boolean;  // the forwarding dialog
}

export const api = new Api();
export const live = new LiveState();
export const memory = new ChooserMemory(window.localStorage);

function loadLocal<T>(key: string, parse: (v: unknown) => T, fallback: T): T {
  try { const v = localStorage.getItem(key); return v == null ? fallback : parse(JSON.parse(v)); } catch { return fallback; }
}
export function parseFavorites(v: unknown): Favorite[] {
  const list = Array.isArray(v) ? v : v && typeof v === 'object' && Array.isArray((v as { favorites?: unknown }).favorites) ? (v as { favorites: unknown[] }).favorites : [];
  const out: Favorite[] = [];
  for (const f of list) {
    if (!f || typeof f !== 'object') continue;
    const o = f as Record<string, unknown>;
    const number = typeof o.number === 'string' ? o.number : '';
    if (number) out.push({ number, name: typeof o.name === 'string' ? o.name : typeof o.label === 'string' ? o.label : '' });
  }
  return out.slice(0, 50);
}

export const state: AppState = {
  me: null,
  uiConfig: {},
  uiSettings: null,
  uiSettingsState: 'absent',
  uiSettingsError: '',
  stream: null,
  streamState: { state: 'offline', offlineSince: null },
  view: 'calls',
  lastDialed: localStorage.getItem('cb.lastDialed') ?? '',
  pendingDial: '',
  journal: [],
  journalMissed: undefined,
  flash: null,
  alerts: [],
  settings: loadLocal('cb.settings', parseSettings, DEFAULT_SETTINGS),
  settingsOnServer: false,
  favorites: loadLocal('cb.favorites', parseFavorites, []),
  favoritesOnServer: false,
  myDevices: null,
  myDevicesOpen: false,
  callFeatures: null,
  forwardingOpen: false,
};

// Re-render requests: every Preact root subscribes; several changes in one task render once
// (Preact batches the state updates).
const listeners = new Set<() => void>();
export function render() { for (const l of [...listeners]) l(); }
export function useStore(): void {
  const [, bump] = useReducer((n: number, _: void) => n + 1, 0);
  useEffect(() => { const f = () => bump(); listeners.add(f); return () => { listeners.delete(f); }; }, []);
}

// Language: the user's setting, else the browser's.
export function lang(): Lang { return pickLang(state.settings.lang, navigator.languages ?? [navigator.language]); }
let cached: { lang: Lang; t: Translate } | null = null;
export const t: Translate = (key, params) => {
  const l = lang();
  if (!cached || cached.lang !== l) cached = { lang: l, t: translator(l) };
  return cached.t(key, params);
};
export function loc(): string {
  const l = lang(), nav = navigator.language ?? '';
  return nav.toLowerCase().startsWith(l) ? nav : locale(l);
}
export function fmtTime(iso: string | number, withDate = true): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return withDate ? d.toLocaleString(loc(), { dateStyle: 'short', timeStyle: 'short' }) : d.toLocaleTimeString(loc());
}

export function myExtensions(): string[] { return state.me?.extensions ?? []; }
export function isSupervisor(): boolean { return state.me?.role === 'admin' || state.me?.role === 'supervisor'; }

export function tenantConfig(): UiTenantConfig {
  const s = state.uiSettings;
  if (s) {
    // Server settings: one list of links; those whose placeholders have no value are hidden, so
    // contact links show for known callers and e.g. "create contact" links only when wanted.
    return { actions: s.action_links, unknown_actions: s.action_links, card_template: s.card_template || undefined };
  }
  const tn = state.uiConfig.tenants ?? {};
  const base = tn['*'] ?? {};
  const own = (state.me && tn[state.me.tenant]) || {};
  const override = localStorage.getItem('cb.cardTemplateOverride');
  return { ...base, ...own, ...(override ? { card_template: override } : {}) };
}

// Screen reader announcement (the live region outside the app).
export function say(text: string) {
  const announcer = document.getElementById('live');
  if (announcer) announcer.textContent = text;
}

// The flash line under the header; it goes away by itself (ok after 6 s, errors after 15 s) so a
// stale "Calling …" never stays.
let flashTimer: number | null = null;
export function setFlash(kind: 'ok' | 'error', text: string) {
  state.flash = { kind, text, at: Date.now() };
  if (flashTimer != null) window.clearTimeout(flashTimer);
  flashTimer = window.setTimeout(() => { flashTimer = null; state.flash = null; render(); }, kind === 'ok' ? 6000 : 15000);
  render();
}
export function clearFlash() { state.flash = null; render(); }

// Persistent alerts (role=alert, read out once): at most five, dismissed by the user.
let alertSeq = 0;
export function alertUser(text: string) {
  state.alerts = [...state.alerts.slice(-4), { id: ++alertSeq, text }];
  render();
}
export function dismissAlert(id: number) { state.alerts = state.alerts.filter((a) => a.id !== id); render(); }

// An API error in words: the sentence for its kind, plus the server's detail when it says more.
export function errText(e: unknown): string {
  if (e instanceof ApiError) {
    const kind = errorWords(e.status, e.type);
    const words = t(kind);
    if (kind === 'error.other' && e.detail) return e.detail;
    const detail = e.detail && e.status !== 0 && !/^\d{3}\b/.test(e.detail) ? e.detail : '';
    return detail && detail !== words ? `${words} (${detail})` : words;
  }
  return String(e);
}
