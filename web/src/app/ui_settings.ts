// Tenant UI settings (admin page): the server's answer normalized, and the editor's draft (action
// links and card template) until saved with PUT /api/v1/ui-settings or discarded. The editor is
// ui/UiSettings.tsx. Main thread.
import type { UiSettings } from '../lib/types';
import { state, tenantConfig } from './state';

export const editor: { draft: UiSettings | null; fieldErrors: Record<number, string>; previewKnown: boolean } = { draft: null, fieldErrors: {}, previewKnown: true };

// The server's answer as UiSettings, whatever it holds (links without label or url are dropped).
export function normalizeSettings(v: unknown): UiSettings {
  const o = v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  const links: unknown[] = Array.isArray(o.action_links) ? o.action_links : [];
  const action_links: UiSettings['action_links'] = [];
  for (const l of links) {
    if (!l || typeof l !== 'object') continue;
    const { label, url } = l as Record<string, unknown>;
    if (typeof label === 'string' && typeof url === 'string') action_links.push({ label, url });
  }
  return { action_links, card_template: typeof o.card_template === 'string' ? o.card_template : '' };
}

// Forget unsaved edits (the server's settings were (re)loaded).
export function discardSettingsDraft() { editor.draft = null; editor.fieldErrors = {}; }

export function currentSettings(): UiSettings {
  if (state.uiSettings) return state.uiSettings;
  const c = tenantConfig();
  return { action_links: [...(c.actions ?? []), ...(c.unknown_actions ?? [])], card_template: c.card_template ?? '' };
}
