// The journal as the page shows it: newest first whatever order entries arrived in, which missed
// calls are still open (not called back), and how a transfer reads. Pure.
import type { JournalEntry } from './types';

const time = (e: JournalEntry) => { const t = Date.parse(e.started_at); return Number.isFinite(t) ? t : 0; };

// Newest first by start time, then by id (stored entries), live ones without id first among equals.
export function newestFirst(entries: JournalEntry[]): JournalEntry[] {
  return [...entries].sort((a, b) => time(b) - time(a) || (b.id ?? Infinity) - (a.id ?? Infinity));
}

export function isMissedEntry(e: JournalEntry): boolean { return e.direction === 'inbound' && e.disposition === 'missed'; }

// The call ended while callbridge could not hear the phone system, before an answer was seen:
// it may have been answered (disposition `unknown`). Never counted as missed.
export function isUnseenOutcome(e: JournalEntry): boolean { return e.disposition === 'unknown'; }

// Whether a duration rests on a time callbridge estimated: ring time on the start or the answer
// (or the end, when never answered), talk time on the answer or the end.
export function durationEstimated(e: JournalEntry, which: 'ring' | 'talk'): boolean {
  const est = new Set(e.estimated ?? []);
  if (which === 'ring') return est.has('started_at') || est.has('answered_at') || (!e.answered_at && est.has('ended_at'));
  return !!e.answered_at && (est.has('answered_at') || est.has('ended_at'));
}

// A missed call is done when the server says so (`done`: servers mark a party's missed calls of a
// number done when a later call with it was answered, and users may mark them)
// or when the user called that number back later and was answered (an outgoing answered call).
export function missedDone(e: JournalEntry, all: JournalEntry[]): boolean {
  const flag = (e as unknown as Record<string, unknown>);
  for (const k of ['done', 'callback_done', 'called_back']) if (typeof flag[k] === 'boolean') return flag[k] as boolean;
  if (!e.remote) return false;
  const t = time(e);
  return all.some((x) => x !== e && x.remote === e.remote && time(x) > t && x.direction === 'outbound' && x.disposition === 'answered');
}

export function openMissed(entries: JournalEntry[]): JournalEntry[] {
  return entries.filter((e) => isMissedEntry(e) && !missedDone(e, entries));
}

// The server's missed counter (GET /journal/missed-count) when it has one, else our own count.
export function missedCount(serverValue: unknown, entries: JournalEntry[]): number {
  return typeof serverValue === 'number' && serverValue >= 0 ? serverValue : openMissed(entries).length;
}

// Earlier calls with the same remote number, newest first (the pop's "recent calls").
export function recentWith(entries: JournalEntry[], remote: string | null, max = 3): JournalEntry[] {
  if (!remote) return [];
  return newestFirst(entries.filter((e) => e.remote === remote)).slice(0, max);
}

// AnyDevice: the external device that carried the call, as the journal row names it ("mobile",
// else its number); null for the desk phone.
export function carriedBy(e: JournalEntry): string | null {
  if (!e.device || !e.device.number) return null;
  return e.device.name || e.device.number;
}
