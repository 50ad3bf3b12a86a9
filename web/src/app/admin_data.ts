// The admin page's data: diagnostics, users and tokens of the tenant (GET/POST/DELETE /users,
// /tokens), the token just issued (shown once, with a copy button and a sign-in link). The page is
// ui/Admin.tsx. Main thread.
import { ApiError } from '../lib/api';
import { api, errText, render, setFlash, t } from './state';
import { loadWebhooks } from './webhooks';

export type Json = Record<string, unknown>;
export interface AdminUser { user: string; role: string; extensions: string[]; display_name: string; team: string }
export interface AdminToken { id: string; user: string; created_at?: string; expires_at?: string | null; revoked?: boolean }
export interface AdminData { diag?: Json; users?: AdminUser[]; tokens?: AdminToken[]; error?: string; newToken?: { user: string; token: string }; newLink?: { user: string; url: string; expires_at?: string }; editing?: string; canEditUsers?: boolean }
export const admin: AdminData = {};

function asUser(v: unknown): AdminUser | null {
  if (!v || typeof v !== 'object') return null;
  const o = v as Json;
  if (typeof o.user !== 'string') return null;
  return { user: o.user, role: typeof o.role === 'string' ? o.role : 'user',
    extensions: Array.isArray(o.extensions) ? o.extensions.filter((x): x is string => typeof x === 'string') : [],
    display_name: typeof o.display_name === 'string' ? o.display_name : '', team: typeof o.team === 'string' ? o.team : '' };
}

export async function loadAdmin() {
  const errors: string[] = [];
  try { admin.diag = await api.get<Json>('/api/v1/diagnostics'); } catch (e) { errors.push(`diagnostics: ${errText(e)}`); }
  try {
    const u = await api.get<unknown>('/api/v1/users');
    const list = Array.isArray(u) ? u : (u as { users?: unknown[] })?.users ?? [];
    admin.users = list.map(asUser).filter((x): x is AdminUser => x != null);
  } catch (e) { errors.push(`users: ${errText(e)}`); }
  try {
    const r = await api.get<{ tokens?: AdminToken[] }>('/api/v1/tokens');
    admin.tokens = (r.tokens ?? []).filter((x) => x && typeof x.id === 'string');
  } catch (e) { errors.push(`tokens: ${errText(e)}`); }
  admin.error = errors.join('; ') || undefined;
  await loadWebhooks();
  render();
}

export async function createUser(u: AdminUser) {
  try {
    await api.post('/api/v1/users', u);
    await issueToken(u.user);
  } catch (e) { setFlash('error', errText(e)); }
}

// Changes a user: PATCH when the server has it; older servers answer 404/405 and the page says so.
export async function updateUser(name: string, u: Partial<AdminUser>) {
  try {
    await api.patch(`/api/v1/users/${encodeURIComponent(name)}`, u);
    admin.editing = undefined;
    setFlash('ok', t('adm.saved'));
    await loadAdmin();
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) admin.canEditUsers = false;
    setFlash('error', errText(e));
  }
}

export async function deleteUser(name: string) {
  try { await api.del(`/api/v1/users/${encodeURIComponent(name)}`); await loadAdmin(); } catch (e) { setFlash('error', errText(e)); }
}

export async function issueToken(user: string) {
  try {
    const r = await api.post<{ token?: string }>(`/api/v1/users/${encodeURIComponent(user)}/tokens`, {});
    if (r.token) { admin.newToken = { user, token: r.token }; admin.newLink = undefined; }
    await loadAdmin();
  } catch (e) { setFlash('error', errText(e)); }
}

export async function revokeToken(id: string) {
  try { await api.del(`/api/v1/tokens/${encodeURIComponent(id)}`); await loadAdmin(); } catch (e) { setFlash('error', errText(e)); }
}

export function signInLink(token: string): string { return `${location.origin}/?token=${encodeURIComponent(token)}`; }

// A sign-in link for `user`: the server's one-time link (POST /users/{user}/sign-in-link, expires
// in 10 minutes) where it has the route, else a new token in a /?token= link (shown once).
export async function makeSignInLink(user: string) {
  try {
    const r = await api.post<{ url?: string | null; path?: string; expires_at?: string }>(`/api/v1/users/${encodeURIComponent(user)}/sign-in-link`, {});
    const url = r.url || (r.path ? `${location.origin}${r.path}` : '');
    if (url) { admin.newLink = { user, url, expires_at: r.expires_at }; admin.newToken = undefined; }
    await loadAdmin();
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) { await issueToken(user); return; }
    setFlash('error', errText(e));
  }
}
