// The client's view of live calls and lines, built from the event stream (snapshot + deltas).
// Pure: the UI re-renders from it.
import type { Call, Line, ServerMessage, JournalEntry } from './types';

const CLEARED = new Set(['connectionCleared', 'failed']);

export class LiveState {
  calls = new Map<string, Call>();
  lines = new Map<string, Line>();
  journal: JournalEntry[] = [];
  ringingSince = new Map<string, number>();

  apply(m: ServerMessage, now = Date.now()): void {
    switch (m.type) {
      case 'snapshot':
        this.calls.clear();
        this.lines.clear();
        for (const c of m.calls ?? []) this.calls.set(c.id, c);
        for (const l of m.lines ?? []) this.lines.set(l.device, l);
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
        } else {
          this.calls.set(c.id, { ...c, connections: conns });
          if (m.event === 'delivered' && !this.ringingSince.has(c.id)) this.ringingSince.set(c.id, now);
        }
        break;
      }
      case 'line': {
        const old = this.lines.get(m.device);
        this.lines.set(m.device, { ...old, device: m.device, state: m.state });
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
}

// The control buttons for a call as one device sees it, from allowed_actions only, in a fixed order.
export const ACTION_ORDER = ['answer', 'hangup', 'hold', 'retrieve', 'consult', 'alternate', 'transfer', 'conference', 'deflect'] as const;

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
