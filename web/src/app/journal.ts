// The journal's data: loading with the page's filters (stored entries plus live ones not stored
// yet), entries pushed by the event stream, notes, call back, the CSV link. The page is
// ui/Journal.tsx. Main thread.
import { displayNumber } from '../lib/phone';
import { ApiError } from '../lib/api';
import type { Contact, JournalEntry } from '../lib/types';
import { track, type CommandAccepted } from './commands';
import { api, errText, live, render, say, setFlash, state, t } from './state';

export const noteDrafts = new Map<number, string>();  // entry id -> note being typed (survives re-renders)
// Notes typed on a call's card while it runs: call id -> text. Saved on the call's journal entry
// (or entries: one per own line) when they arrive; kept 10 minutes after the call for that.
export const callNotes = new Map<string, { text: string; at: number }>();

function callNoteFor(callId: string | undefined): string | undefined {
  if (!callId) return undefined;
  const now = Date.now();
  for (const [id, n] of callNotes) if (now - n.at > 600_000 && !live.calls.has(id)) callNotes.delete(id);
  for (const [id, n] of callNotes) if (id === callId || id.endsWith(`-${callId}`) || callId.endsWith(`-${id}`)) return n.text;
  return undefined;
}
export const filters: Record<string, string> = { direction: '', disposition: '', q: '' };
let reloadTimer: number | null = null;

function query(extra: Record<string, string> = {}): URLSearchParams {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return q;
}
export function csvHref(): string { return `/api/v1/journal.csv?${query({ limit: '10000' })}`; }

export async function loadJournal() {
  try {
    const r = await api.get<{ entries?: JournalEntry[] }>(`/api/v1/journal?${query({ limit: '200' })}`);
    const stored = r.entries ?? [];
    // Live entries (no id yet) stay until the store returns them.
    const key = (e: JournalEntry) => `${e.call_id ?? ''}|${e.party}|${e.started_at}`;
    const have = new Set(stored.map(key));
    const unfiltered = Object.values(filters).every((v) => !v);
    state.journal = [...(unfiltered ? state.journal.filter((e) => e.id == null && !have.has(key(e))) : []), ...stored];
    render();
    void loadMissedCount();
  } catch (e) {
    setFlash('error', `${t('journal.title')}: ${errText(e)}`);
  }
}

// The open missed calls counter from the server (GET /api/v1/journal/missed-count); servers without
// it (404) leave it undefined and the page counts itself.
let countMissing = false;
export async function loadMissedCount() {
  if (countMissing) return;
  try {
    const r = await api.get<{ missed?: number }>('/api/v1/journal/missed-count');
    state.journalMissed = typeof r.missed === 'number' ? r.missed : undefined;
  } catch (e) {
    state.journalMissed = undefined;
    if (e instanceof ApiError && e.status === 404) countMissing = true;
  }
  render();
}

// The contact the user chose in the pop, stored on the call's entry when it arrives (servers that
// take `contact` in PATCH /journal/{id}; others refuse it and the entry keeps the best match).
async function storeChoice(entry: JournalEntry, c: Contact) {
  if (typeof entry.id !== 'number' || (entry.contact?.id === c.id && entry.contact?.source === c.source)) return;
  try {
    const r = await api.patch<JournalEntry>(`/api/v1/journal/${entry.id}`, { contact: { id: c.id, source: c.source ?? 'store', name: c.name, company: c.company ?? '' } });
    if (r && r.contact) { entry.contact = r.contact; render(); }
  } catch { /* an older server: the entry keeps the contact it has */ }
}

// A journal entry from the event stream: shown at once; when it has no id yet (stored later) and
// the journal is on screen, the stored version is fetched shortly after. `resolves` names missed
// entries the server marked done with it.
export function journalPushed(entry: JournalEntry, resolves: number[] = [], chosen?: Contact) {
  state.journal = [entry, ...state.journal.filter((e) => e.id == null || e.id !== entry.id)];
  for (const e of state.journal) if (resolves.includes(e.id)) e.done = true;
  if (chosen) void storeChoice(entry, chosen);
  const note = callNoteFor(entry.call_id)?.trim();
  if (note && typeof entry.id === 'number' && !(entry.note ?? '').includes(note)) {
    const text = entry.note ? `${entry.note}\n${note}` : note;
    void api.patch(`/api/v1/journal/${entry.id}`, { note: text }).then(() => { entry.note = text; render(); say(t('journal.noteSaved')); })
      .catch((e: unknown) => setFlash('error', `${t('journal.note')}: ${errText(e)}`));
  }
  if (!countMissing) void loadMissedCount(); else state.journalMissed = undefined;
  if (state.view === 'journal' && entry.id == null && reloadTimer == null)
    reloadTimer = window.setTimeout(() => { reloadTimer = null; void loadJournal(); }, 300);
}

// Saves a note when it differs from the stored one and is not being saved already: Enter, the
// input's change event and leaving the field all call this (Firefox fires no change on Enter in
// an input outside a form, nor on leaving a field whose text a script or autofill set), so the
// same note may come two or three times and is sent once.
const notesSending = new Map<number, string>();  // entry id -> note on its way
export async function saveNote(e: JournalEntry, note: string) {
  if (note === (e.note ?? '') || notesSending.get(e.id) === note) return;
  notesSending.set(e.id, note);
  try {
    await api.patch(`/api/v1/journal/${e.id}`, { note });
    e.note = note;
    if (noteDrafts.get(e.id) === note) noteDrafts.delete(e.id);
    say(t('journal.noteSaved'));
    render();
  } catch (err) { setFlash('error', `${t('journal.note')}: ${errText(err)}`); }
  finally { if (notesSending.get(e.id) === note) notesSending.delete(e.id); }
}

export async function callback(e: JournalEntry) {
  const number = displayNumber(e.remote, state.uiConfig.home_country);
  try {
    // Entries pushed by the event stream have no id until the journal is reloaded.
    const r = typeof e.id === 'number' ? await api.post<CommandAccepted>(`/api/v1/journal/${e.id}/callback`)
      : await api.post<CommandAccepted>('/api/v1/calls', { to: e.remote, from: e.party });
    track(r, 'callback', number);
    setFlash('ok', t('journal.callingBack', { number }));
  } catch (err) { setFlash('error', t('journal.callbackFailed', { error: errText(err) })); }
}
