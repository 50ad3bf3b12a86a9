// The client's shared state: the API client, the live call/line state, the signed-in user, the
// tenant's UI configuration and the page-level status (view, flash message, stream state). One
// object instead of loose module globals; the modules of web/src/app read and change it and call
// render() afterwards. render()/renderStatus() are installed by shell.ts (no import cycle).
import { Api, ApiError } from '../lib/api';
import { ChooserMemory } from '../lib/chooser';
import type { EventStream } from '../lib/events';
import { LiveState } from '../lib/store';
import type { JournalEntry, Me, UiSettings } from '../lib/types';

export interface ActionLink { label: string; url: string }
export interface UiTenantConfig { actions?: ActionLink[]; unknown_actions?: ActionLink[]; card_template?: string }
export interface UiConfig { home_country?: string; tenants?: Record<string, UiTenantConfig> }
export interface StreamStatus { state: string; offlineSince: number | null; lastError?: string }
export interface Flash { kind: 'ok' | 'error'; text: string }

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
  journal: JournalEntry[];  // newest first: stored entries plus live ones not stored yet
  flash: Flash | null;
}

export const api = new Api();
export const live = new LiveState();
export const memory = new ChooserMemory(window.localStorage);
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
  flash: null,
};

const hooks = { render: () => {}, renderStatus: () => {} };
export function installRenderer(render: () => void, renderStatus: () => void) {
  hooks.render = render;
  hooks.renderStatus = renderStatus;
}
export function render() { hooks.render(); }
export function renderStatus() { hooks.renderStatus(); }

export function myExtensions(): string[] { return state.me?.extensions ?? []; }

export function tenantConfig(): UiTenantConfig {
  const s = state.uiSettings;
  if (s) {
    // Server settings: one list of links; those whose placeholders have no value are hidden, so
    // contact links show for known callers and e.g. "create contact" links only when wanted.
    return { actions: s.action_links, unknown_actions: s.action_links, card_template: s.card_template || undefined };
  }
  const t = state.uiConfig.tenants ?? {};
  const base = t['*'] ?? {};
  const own = (state.me && t[state.me.tenant]) || {};
  const override = localStorage.getItem('cb.cardTemplateOverride');
  return { ...base, ...own, ...(override ? { card_template: override } : {}) };
}

export function say(text: string) {
  const announcer = document.getElementById('live');
  if (announcer) announcer.textContent = text;
}
export function setFlash(kind: 'ok' | 'error', text: string) { state.flash = { kind, text }; render(); }
export function errText(e: unknown) { return e instanceof ApiError ? e.message : String(e); }
