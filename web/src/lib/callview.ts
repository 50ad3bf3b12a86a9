// How a call reads on its card, in plain words: the state of the user's own connection ("Ringing",
// "Connected", "On hold", ...; never CSTA's "alerting"/"initiated"), the direction, and the running
// talk time. Pure: the store records first sightings, the card asks these functions.
import type { Call, Connection } from './types';

export type StateWord = 'ringing' | 'ringingOut' | 'dialing' | 'connected' | 'held' | 'queued' | 'failed' | 'ended';
export type Direction = 'in' | 'out' | null;

// The connection of `call` on one of `devices` (the user's own), the first one that is there.
export function ownConnection(call: Call, devices: string[]): Connection | undefined {
  return call.connections.find((x) => devices.includes(x.device));
}

export function stateWord(call: Call, devices: string[]): StateWord {
  const own = ownConnection(call, devices);
  if (!own) return 'ended';
  const others = call.connections.filter((x) => x !== own);
  switch (own.state) {
    case 'alerting': return 'ringing';
    case 'initiated': return others.some((x) => x.state === 'alerting') ? 'ringingOut' : 'dialing';
    case 'connected': return others.some((x) => x.state === 'alerting') ? 'ringingOut'
      : others.length === 0 || others.some((x) => x.state === 'connected' || x.state === 'held') ? 'connected' : 'dialing';
    case 'held': return 'held';
    case 'queued': return 'queued';
    case 'failed': return 'failed';
    default: return 'dialing';
  }
}

// Which way a call goes, decided when the client first sees the user's connection: ringing there
// means incoming, dialing (initiated) means outgoing; a call first seen in a later state (after a
// reload) takes the direction of the event that reported it, else stays unknown.
export function firstDirection(own: Connection | undefined, event?: string): Direction {
  if (!own) return null;
  if (own.state === 'alerting') return 'in';
  if (own.state === 'initiated' || event === 'originated') return 'out';
  return null;
}

// 02:13, 1:02:13
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(2, '0'), ss = String(r).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

// The start of the talk time from a connection's `since` when it is believable (not in the future,
// not older than 12 h: PBX clocks and replayed captures differ), else `now`.
export function talkStart(since: string | undefined, now: number): number {
  const t = since ? Date.parse(since) : NaN;
  return Number.isFinite(t) && t <= now + 1000 && t > now - 12 * 3600_000 ? Math.min(t, now) : now;
}

// The problem+json of a refused command in words a user understands (no raw 409): the server's
// `detail` when it has one that is not just a status, else a sentence for the problem type/status.
export type ErrorWords = 'error.network' | 'error.auth' | 'error.forbidden' | 'error.notAllowed' | 'error.notFound'
  | 'error.pbx' | 'error.number' | 'error.busy' | 'error.other';
export function errorWords(status: number, type: string): ErrorWords {
  const t = type.replace(/^.*\//, '');
  if (status === 0 || t === 'network') return 'error.network';
  if (t === 'action-not-allowed' || t === 'conflict' || status === 409) return 'error.notAllowed';
  if (t === 'pbx-unavailable') return 'error.pbx';
  if (t === 'invalid-number') return 'error.number';
  if (status === 401) return 'error.auth';
  if (status === 403) return 'error.forbidden';
  if (status === 404) return 'error.notFound';
  if (status === 429 || status === 503) return 'error.busy';
  return 'error.other';
}

// Why actions are missing for `device`, when the server says so (a phone that cannot be answered
// or held remotely): `unavailable_actions` as {device: {action: reason}} or {device: [{action,
// reason}]}; anything else is ignored.
export function missingReasons(call: Call, device: string): { action: string; reason: string }[] {
  const raw = (call as unknown as Record<string, unknown>).unavailable_actions;
  if (!raw || typeof raw !== 'object') return [];
  const v = (raw as Record<string, unknown>)[device];
  const out: { action: string; reason: string }[] = [];
  if (Array.isArray(v)) {
    for (const x of v) {
      const o = x && typeof x === 'object' ? (x as Record<string, unknown>) : {};
      if (typeof o.action === 'string' && typeof o.reason === 'string') out.push({ action: o.action, reason: o.reason });
    }
  } else if (v && typeof v === 'object') {
    for (const [action, reason] of Object.entries(v)) if (typeof reason === 'string') out.push({ action, reason });
  }
  return out;
}
