// The admin page: diagnostics (every scalar of GET /api/v1/diagnostics, objects as their own
// tables), users and tokens, the tenant's UI settings, desktop integration.
import { h } from './dom';
import { api, errText, render, setFlash } from './state';
import { uiSettingsSection } from './ui_settings';

type Json = Record<string, unknown>;
interface AdminData { diag?: Json; users?: Json[]; error?: string; newToken?: string }
let data: AdminData = {};

export async function loadAdmin() {
  const out: AdminData = {};
  try { out.diag = await api.get<Json>('/api/v1/diagnostics'); } catch (e) { out.error = `diagnostics: ${errText(e)}`; }
  try {
    const u = await api.get<Json[] | { users?: Json[] }>('/api/v1/users');
    out.users = Array.isArray(u) ? u : u.users ?? [];
  } catch (e) { out.error = [out.error, `users: ${errText(e)}`].filter(Boolean).join('; '); }
  data = { ...out, newToken: data.newToken };
  render();
}

function isObject(v: unknown): v is Json { return v != null && typeof v === 'object' && !Array.isArray(v); }

function kvTable(obj: unknown, caption: string): HTMLElement {
  if (obj == null) return h('p', {}, 'not reported');
  if (Array.isArray(obj)) {
    if (!obj.length) return h('p', {}, 'none');
    const rows: unknown[] = obj;
    const cols = [...new Set(rows.flatMap((o) => (isObject(o) ? Object.keys(o) : [])))];
    return h('table', { 'aria-label': caption }, h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.map((o) => h('tr', {}, cols.map((c) => h('td', {}, fmt(isObject(o) ? o[c] : undefined)))))));
  }
  const entries = isObject(obj) ? Object.entries(obj) : [];
  return h('table', { 'aria-label': caption }, h('tbody', {}, entries.filter(([, v]) => typeof v !== 'object' || v == null).map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, fmt(v))))));
}

function fmt(v: unknown): string {
  if (v == null) return '';
  if (Array.isArray(v)) return v.map(fmt).join(', ');
  if (typeof v === 'object') return Object.entries(v as Json).map(([k, x]) => `${k.replace(/_/g, ' ')}: ${fmt(x)}`).join(' · ');
  return String(v);
}

export function adminView() {
  const d = data.diag ?? {};
  const sections: HTMLElement[] = [];
  sections.push(h('section', {}, h('h3', {}, 'Server'), kvTable(d, 'Server')));  // scalar fields; objects below
  for (const [k, v] of Object.entries(d)) if (v && typeof v === 'object') sections.push(h('section', {}, h('h3', {}, k.replace(/_/g, ' ')), kvTable(v, k)));
  const user = h('input', { id: 'new-user', required: true }), ext = h('input', { id: 'new-ext' }), role = h('select', { id: 'new-role' }, ['user', 'supervisor', 'admin'].map((r) => h('option', {}, r)));
  return h('div', { class: 'admin' },
    h('h2', { tabindex: -1 }, 'Admin'),
    data.error ? h('p', { class: 'flash error' }, data.error) : null,
    h('button', { onclick: () => void loadAdmin() }, 'Refresh'),
    sections,
    h('section', {}, h('h3', {}, 'Users and tokens'),
      data.users ? kvTable(data.users, 'Users') : h('p', {}, '…'),
      h('form', { class: 'inline-form', onsubmit: async (ev: Event) => {
        ev.preventDefault();
        try {
          await api.post('/api/v1/users', { user: user.value, role: role.value, extensions: ext.value ? ext.value.split(/[ ,]+/) : [] });
          const t = await api.post<{ token?: string }>(`/api/v1/users/${encodeURIComponent(user.value)}/tokens`, {});
          data.newToken = t.token ?? JSON.stringify(t);
          await loadAdmin();
        } catch (e) { setFlash('error', errText(e)); }
      } }, h('label', { for: 'new-user' }, 'User'), user, h('label', { for: 'new-ext' }, 'Extensions'), ext, h('label', { for: 'new-role' }, 'Role'), role, h('button', { type: 'submit' }, 'Create user + token')),
      data.newToken ? h('p', { class: 'flash ok' }, 'New token (shown once): ', h('code', {}, data.newToken)) : null),
    uiSettingsSection(),
    h('section', {}, h('h3', {}, 'Desktop integration'),
      h('button', { onclick: () => { try { navigator.registerProtocolHandler('tel', `${location.origin}/app/dial?to=%s`); setFlash('ok', 'Asked the browser to open tel: links here'); } catch (e) { setFlash('error', String(e)); } } }, 'Open tel: links with callbridge'),
      'Notification' in window ? h('button', { onclick: () => void Notification.requestPermission().then((p) => setFlash('ok', `Notifications: ${p}`)) }, 'Enable call notifications') : null));
}
