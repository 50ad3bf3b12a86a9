// The client's view of live calls and lines, built from the event stream (snapshot + deltas).
// Pure: the UI re-renders from it.
import type { Call, Line, ServerMessage, JournalEntry } from './types';
import { firstDirection, ownConnection, talkStart, type Direction } from './callview';

// What the client noticed about a call of the user's own devices: its direction (from the first
// sighting) and when the talk began (for the card's running timer; reset by nothing but the end).
export interface CallMeta { direction: Direction; connectedAt: number | null; firstSeen: number }

const CLEARED = new Set(['connectionCleared', 'failed']);

export class LiveState {
  calls = new Map<string, Call>();
  lines = new Map<string, Line>();
  journal: JournalEntry[] = [];
  ringingSince = new Map<string, number>();
  meta = new Map<string, CallMeta>();
  devices: string[] = [];

  private note(c: Call, event: string | undefined, now: number, live: boolean): void {
    const own = ownConnection(c, this.devices);
    let m = this.meta.get(c.id);
    if (!m) {
      if (!own) return;
      m = { direction: firstDirection(own, event), connectedAt: null, firstSeen: now };
      this.meta.set(c.id, m);
    } else if (m.direction == null && own) {
      m.direction = firstDirection(own, event);
    }
    if (m.connectedAt == null && own && (own.state === 'connected' || own.state === 'held'))
      m.connectedAt = live ? now : talkStart(own.since, now);
  }

  apply(m: ServerMessage, now = Date.now()): void {
    switch (m.type) {
      case 'snapshot':
        this.calls.clear();
        const known = new Map(this.lines);  // names/teams from GET /lines survive a snapshot
        this.lines.clear();
        for (const c of m.calls ?? []) { this.calls.set(c.id, c); this.note(c, undefined, now, false); }
        for (const id of [...this.meta.keys()]) if (!this.calls.has(id)) this.meta.delete(id);
        for (const l of m.lines ?? []) this.lines.set(l.device, { ...known.get(l.device), ...l });
        break;
      case 'resync':
        this.calls.clear();
        break;
      case 'call': {
        const c = m.call;
        if (!c || !c.id) break;
        let conns = (c.connections ?? []).filter((x) => !['null', 'cleared', 'failed'].includes(x.state));
        if (CLEARED.has(m.event) && m.device) conns = conns.filter((x) => x.device !== m.device);
        if (conns.length === 0) {
          this.calls.delete(c.id);
          this.ringingSince.delete(c.id);
          this.meta.delete(c.id);
        } else {
          const kept = { ...c, connections: conns };
          this.calls.set(c.id, kept);
          this.note(kept, m.event, now, true);
          if (m.event === 'delivered' && !this.ringingSince.has(c.id)) this.ringingSince.set(c.id, now);
        }
        break;
      }
      case 'calls_resynced':
        // Calls that ended while no node of the cluster owned their PBX link: their cards go as if
        // they had ended; nothing is added to the journal (the server's journal keeps its own).
        for (const id of Array.isArray(m.ended) ? m.ended : []) {
          this.calls.delete(id);
          this.ringingSince.delete(id);
          this.meta.delete(id);
        }
        break;
      case 'line': {
        const old = this.lines.get(m.device);
        this.lines.set(m.device, { ...old, device: m.device, state: m.state });  // name/team stay
        break;
      }
      case 'journal':
        if (!this.journal.some((e) => e.id === m.entry.id)) this.journal.unshift(m.entry);
        break;
      case 'heartbeat':
        break;
    }
  }

  // Calls with a connection on one of `devices` ringing there (incoming, alerting).
  incoming(devices: string[]): Call[] {
    return [...this.calls.values()].filter((c) =>
      c.connections.some((x) => devices.includes(x.device) && x.state === 'alerting'));
  }

  mine(devices: string[]): Call[] {
    return [...this.calls.values()].filter((c) => c.connections.some((x) => devices.includes(x.device)));
  }

  // Calls ringing at a colleague's line that the owner of `devices` could take over: none of
  // `devices` is in the call and the server offers "pickup" on the ringing connection (it sends
  // other people's calls only to those who may see them: supervisors and admins). Oldest first.
  pickable(devices: string[]): { call: Call; device: string }[] {
    if (!devices.length) return [];
    const out: { call: Call; device: string; since: string }[] = [];
    for (const c of this.calls.values()) {
      if (c.connections.some((x) => devices.includes(x.device))) continue;
      const ringing = c.connections.find((x) => x.state === 'alerting' && (c.allowed_actions?.[x.device] ?? []).includes('pickup'));
      if (ringing) out.push({ call: c, device: ringing.device, since: ringing.since ?? c.created_at ?? '' });
    }
    return out.sort((a, b) => a.since.localeCompare(b.since)).map(({ call, device }) => ({ call, device }));
  }
}

// The control buttons for a call as one device sees it, from allowed_actions only, in a fixed order.
export const ACTION_ORDER = ['answer', 'hangup', 'hold', 'retrieve', 'consult', 'alternate', 'transfer', 'park', 'conference', 'deflect'] as const;

export function actionsFor(call: Call, device: string): string[] {
  const allowed = call.allowed_actions?.[device] ?? [];
  return ACTION_ORDER.filter((a) => allowed.includes(a));
}

// The other side's number as `devices` see it: the call's `remote` when the server sends one,
// else the remote of the first of our connections that has one (event payloads carry it per
// connection), else any connection's.
export function remoteOf(call: Call, devices: string[] = []): string | null {
  if (call.remote?.number) return call.remote.number;
  const mine = call.connections.find((x) => devices.includes(x.device) && x.remote);
  if (mine?.remote) return mine.remote;
  return call.connections.find((x) => x.remote)?.remote ?? null;
}
