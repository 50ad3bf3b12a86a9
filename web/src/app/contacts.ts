// Contacts for the dial box, the transfer target and the contacts page: a search over the
// directory (GET /api/v1/contacts?q=, the built-in store; the server's search over every source
// when it offers one), cached per query for a minute; favorites (server /me/favorites when it has
// them, else this browser). Main thread.
import { ApiError } from '../lib/api';
import type { Favorite, SuggestContact } from '../lib/suggest';
import { api, render, state } from './state';

export interface StoreContact { id: string; display_name: string; company?: string; email?: string; note?: string; kind?: string; source?: string;
  numbers: { label?: string; number: string; e164?: string }[]; readonly?: boolean }

export function asContact(v: unknown): StoreContact | null {
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  if (o.id == null) return null;
  const name = typeof o.display_name === 'string' ? o.display_name : typeof o.name === 'string' ? o.name : '';
  const nums = Array.isArray(o.numbers) ? o.numbers : [];
  return { id: String(o.id), display_name: name, company: typeof o.company === 'string' ? o.company : undefined,
    email: typeof o.email === 'string' ? o.email : undefined, note: typeof o.note === 'string' ? o.note : undefined,
    kind: typeof o.kind === 'string' ? o.kind : undefined, source: typeof o.source === 'string' ? o.source : undefined,
    readonly: o.editable === false || (typeof o.source === 'string' && o.source !== 'store'),
    numbers: nums.filter((n): n is Record<string, unknown> => !!n && typeof n === 'object' && typeof (n as Record<string, unknown>).number === 'string')
      .map((n) => ({ label: typeof n.label === 'string' ? n.label : undefined, number: n.number as string, e164: typeof n.e164 === 'string' ? n.e164 : undefined })) };
}

const cache = new Map<string, { at: number; list: StoreContact[] | null }>();
let searchMissing = false;

// The contacts matching `q`, or null while the search runs (a render follows when it is back).
export function searchContacts(q: string): StoreContact[] | null {
  const key = q.trim().toLowerCase();
  const hit = cache.get(key);
  if (hit && (hit.list == null || Date.now() - hit.at < 60_000)) return hit.list;
  if (cache.size > 200) cache.clear();
  cache.set(key, { at: Date.now(), list: hit?.list ?? null });
  // Every directory source (GET /contacts/search) where the server has it and there is a query;
  // else the built-in store.
  const url = key && !searchMissing ? `/api/v1/contacts/search?${new URLSearchParams({ q: key, limit: '50' })}`
    : `/api/v1/contacts?${new URLSearchParams({ q: key, limit: '50' })}`;
  void api.get<unknown>(url)
    .catch((e: unknown) => {
      if (!(e instanceof ApiError && e.status === 404 && url.includes('/search?'))) throw e;
      searchMissing = true;
      return api.get<unknown>(`/api/v1/contacts?${new URLSearchParams({ q: key, limit: '50' })}`);
    })
    .then((r) => {
      const list = Array.isArray(r) ? r : (r as { contacts?: unknown[] })?.contacts ?? [];
      cache.set(key, { at: Date.now(), list: list.map(asContact).filter((c): c is StoreContact => c != null) });
    })
    .catch(() => cache.set(key, { at: Date.now(), list: [] }))
    .finally(render);
  return hit?.list ?? null;
}
export function forgetSearches() { cache.clear(); }

export function forSuggest(list: StoreContact[] | null): SuggestContact[] {
  return (list ?? []).map((c) => ({ id: c.id, name: c.display_name, company: c.company, source: c.source, numbers: c.numbers }));
}

export function isFavorite(number: string): boolean { return state.favorites.some((f) => f.number === number); }

export async function toggleFavorite(f: Favorite) {
  const next = isFavorite(f.number) ? state.favorites.filter((x) => x.number !== f.number) : [...state.favorites, f].slice(-50);
  state.favorites = next;
  localStorage.setItem('cb.favorites', JSON.stringify(next));
  render();
  if (state.favoritesOnServer) {
    // The server's shape: label (1-64 characters) and number.
    const body = { favorites: next.map((f) => ({ label: (f.name || f.number).slice(0, 64), number: f.number })) };
    try { await api.request('PUT', '/api/v1/me/favorites', body); } catch { /* kept locally */ }
  }
}
