// The users' own status (docs/api.md "Presence"): mine (GET/PUT/DELETE /api/v1/me/status, the header
// control), the colleagues' from GET /api/v1/presence and the stream's user_status events, shown on
// the presence board and in call pops ("Anna is in a meeting until 14:00"). A status past its
// `until` is over here too, without waiting for the server's event. Main thread.
import type { ServerMessage, UserStatus } from '../lib/types';
import { api, errText, live, loc, render, setFlash, state, t } from './state';
import type { Key } from '../lib/i18n';

export const STATUSES = ['available', 'away', 'busy', 'dnd', 'offline'] as const;
export interface Known { user: string; display_name: string; extensions: string[]; status: UserStatus }
export const statuses = new Map<string, Known>();  // by user
export const mine: { status?: UserStatus; error?: string } = {};

// The status as it is now: null when available without note, or past its until.
export function effective(s: UserStatus | undefined | null, now = Date.now()): UserStatus | null {
  if (!s || !STATUSES.includes(s.status)) return null;
  if (s.until && Date.parse(s.until) <= now) return null;
  if (s.status === 'available' && !s.note) return null;
  return s;
}

// "14:00" today, "tomorrow 00:30" the next day, else date and time; always the 24-hour clock,
// the one the "until" field is typed in.
export function untilWords(iso: string, now = Date.now()): string {
  const d = new Date(iso);
  const today = new Date(now);
  const tomorrow = new Date(today.getFullYear(), today.getMonth(), today.getDate() + 1);
  const time = d.toLocaleTimeString(loc(), { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  if (d.toDateString() === today.toDateString()) return time;
  if (d.toDateString() === tomorrow.toDateString()) return t('us.tomorrow', { time });
  return `${d.toLocaleDateString(loc(), { dateStyle: 'short' })} ${time}`;
}

// "Anna is in a meeting until 14:00", "Anna is away", "" when available.
export function statusSentence(name: string, s: UserStatus | null | undefined, now = Date.now()): string {
  const e = effective(s, now);
  if (!e) return '';
  const what = e.note || t(`us.w.${e.status}` as Key);
  return e.until ? t('us.sentenceUntil', { name, what, time: untilWords(e.until, now) }) : t('us.sentence', { name, what });
}

// Short words for the board: "Away · in a meeting · until 14:00".
export function statusShort(s: UserStatus | null | undefined, now = Date.now()): string {
  const e = effective(s, now);
  if (!e) return '';
  return [t(`us.${e.status}` as Key), e.until ? t('us.until', { time: untilWords(e.until, now) }) : ''].filter(Boolean).join(' ');
}

// The colleague on extension `ext` and their status, if any.
export function statusOfExtension(ext: string): Known | null {
  const user = live.lines.get(ext)?.user;
  const k = user ? statuses.get(user) : [...statuses.values()].find((x) => x.extensions.includes(ext));
  return k && effective(k.status) ? k : null;
}

let expiryTimer: number | null = null;
function scheduleExpiry() {
  if (expiryTimer != null) { window.clearTimeout(expiryTimer); expiryTimer = null; }
  const now = Date.now();
  const ends = [...statuses.values(), ...(mine.status ? [{ status: mine.status }] : [])]
    .map((k) => (k.status.until ? Date.parse(k.status.until) : NaN)).filter((x) => x > now);
  if (!ends.length) return;
  expiryTimer = window.setTimeout(() => { expiryTimer = null; render(); scheduleExpiry(); }, Math.min(...ends) - now + 50);
}

export function setKnown(user: string, display_name: string, extensions: string[], status: UserStatus) {
  statuses.set(user, { user, display_name, extensions, status });
  if (user === state.me?.user) mine.status = status;
  scheduleExpiry();
}

// A user_status message of the stream.
export function statusEvent(m: Extract<ServerMessage, { type: 'user_status' }>) {
  if (!m.user || !m.user_status) return;
  setKnown(m.user, m.display_name ?? m.user, Array.isArray(m.extensions) ? m.extensions : [], m.user_status);
}

export async function loadMyStatus() {
  try {
    const r = await api.get<{ user_status?: UserStatus }>('/api/v1/me/status');
    mine.status = r.user_status;
    mine.error = undefined;
    scheduleExpiry();
  } catch (e) { mine.error = errText(e); }
  render();
}

// `until`: "HH:MM" local (today, or tomorrow once passed), or "" for none.
export function untilIso(hhmm: string, now = new Date()): string | null {
  const m = /^(\d{1,2}):(\d{2})$/.exec(hhmm.trim());
  if (!m) return null;
  const d = new Date(now);
  d.setHours(Number(m[1]), Number(m[2]), 0, 0);
  if (d.getTime() <= now.getTime()) d.setDate(d.getDate() + 1);
  return d.toISOString();
}

export async function saveMyStatus(status: string, note: string, until: string): Promise<boolean> {
  const body: Record<string, unknown> = { status };
  if (note.trim()) body.note = note.trim();
  if (until.trim()) {
    const iso = untilIso(until);
    if (!iso) { setFlash('error', t('us.badUntil')); return false; }
    body.until = iso;
  }
  try {
    const r = await api.request<{ user_status?: UserStatus }>('PUT', '/api/v1/me/status', body);
    mine.status = r.user_status;
    if (state.me && r.user_status) setKnown(state.me.user, state.me.display_name ?? state.me.user, state.me.extensions, r.user_status);
    setFlash('ok', t('us.saved'));
    render();
    return true;
  } catch (e) { setFlash('error', errText(e)); return false; }
}

export async function clearMyStatus() {
  try {
    await api.del('/api/v1/me/status');
    mine.status = undefined;
    if (state.me) statuses.delete(state.me.user);
    setFlash('ok', t('us.cleared'));
  } catch (e) { setFlash('error', errText(e)); }
  render();
}
