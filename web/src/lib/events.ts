// The event stream client: one WebSocket to /api/v1/events, resumed with since=<last seq> after a
// loss, so the server replays exactly the missed messages. Messages at or below the last applied
// seq are dropped (no duplicates after a resume), a `resync` clears the state for the following
// snapshot. Reconnects with capped exponential backoff; the socket, ticket and timers are injected
// so tests drive it without a network or real time.
import type { ServerMessage } from './types';

export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(code?: number, reason?: string): void;
}

export interface EventStreamDeps {
  // Builds the URL for a connection attempt (e.g. fetches a ws-ticket); `since` is null at first.
  url(since: number | null): Promise<string>;
  open(url: string): SocketLike;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  random?: () => number;
  // The server closed the stream because the user's role, extensions or team changed (close code
  // USER_CHANGED): read the user again; the stream reconnects without `since` once it settles.
  userChanged?: () => Promise<void> | void;
}

// The server's close code for "your user changed: reconnect" (a fresh snapshot and filter).
export const USER_CHANGED = 4001;

export type StreamState = 'connecting' | 'online' | 'offline';

export interface StreamListener {
  message(m: ServerMessage, replayed: boolean): void;
  state(s: StreamState, info: { offlineSince: number | null; attempts: number; lastError?: string }): void;
}

export class EventStream {
  lastSeq: number | null = null;
  state: StreamState = 'offline';
  attempts = 0;
  duplicatesDropped = 0;
  private socket: SocketLike | null = null;
  private timer: unknown = null;
  private stopped = true;
  private offlineSince: number | null = null;
  private resuming = false;
  private userChangedAt: number | null = null;
  private readonly maxMessageBytes = 4 * 1024 * 1024;

  constructor(private readonly deps: EventStreamDeps, private readonly listener: StreamListener,
              private readonly now: () => number = () => Date.now(),
              private readonly backoff = { minMs: 500, maxMs: 15_000 }) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer != null) this.deps.clearTimer(this.timer);
    this.timer = null;
    const s = this.socket;
    this.socket = null;
    if (s) { s.onclose = null; s.close(1000, 'client stop'); }
    this.setState('offline');
  }

  // Applies one raw frame; exposed for tests. Returns false if it was dropped.
  handleFrame(data: unknown): boolean {
    if (typeof data !== 'string' || data.length > this.maxMessageBytes) return false;
    let m: ServerMessage;
    try { m = JSON.parse(data); } catch { return false; }
    if (!m || typeof m !== 'object' || typeof m.type !== 'string') return false;
    if (typeof m.seq !== 'number') {
      // Command outcomes are addressed to the user who sent the command; a server may send them
      // outside the tenant's seq numbering. Deliver them without touching the resume position.
      if (m.type !== 'command') return false;
      this.listener.message(m, false);
      return true;
    }
    if (m.type === 'snapshot') {
      // A snapshot replaces the state, whatever its seq.
      this.lastSeq = m.seq;
      this.resuming = false;
      this.listener.message(m, false);
      return true;
    }
    if (m.type === 'resync') {
      this.lastSeq = null;
      this.resuming = false;
      this.listener.message(m, false);
      return true;
    }
    if (this.lastSeq != null && m.seq <= this.lastSeq) {
      if (m.type !== 'heartbeat') this.duplicatesDropped++;  // heartbeats repeat the last seq
      return false;
    }
    if (m.type !== 'heartbeat' || this.lastSeq == null || m.seq > this.lastSeq) this.lastSeq = m.seq;
    this.listener.message(m, this.resuming);
    return true;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.setState('connecting');
    this.attempts++;
    let url: string;
    try {
      url = await this.deps.url(this.lastSeq);
    } catch (e) {
      this.scheduleReconnect(String(e));
      return;
    }
    if (this.stopped) return;
    const s = this.deps.open(url);
    this.socket = s;
    this.resuming = this.lastSeq != null;
    s.onopen = () => {
      if (this.socket !== s) return;
      this.attempts = 0;
      this.offlineSince = null;
      this.setState('online');
    };
    s.onmessage = (ev) => { if (this.socket === s) this.handleFrame(ev.data); };
    s.onerror = () => {};
    s.onclose = (ev) => {
      if (this.socket !== s) return;
      this.socket = null;
      if (ev.code === USER_CHANGED) { this.userChanged(ev.reason || 'user changed'); return; }
      this.scheduleReconnect(ev.reason || `closed (${ev.code})`);
    };
  }

  // What the user may see changed: start over with a snapshot (no `since`), after the user's data
  // was read again. At once the first time; a second such close within 5 s waits like any loss.
  private userChanged(why: string): void {
    this.lastSeq = null;
    this.resuming = false;
    const now = this.now();
    const again = this.userChangedAt != null && now - this.userChangedAt < 5000;
    this.userChangedAt = now;
    if (again) { this.scheduleReconnect(why); return; }
    this.setState('offline', why);
    const go = () => { if (!this.stopped && this.socket == null && this.timer == null) void this.connect(); };
    let pending: Promise<void> | void = undefined;
    try { pending = this.deps.userChanged?.(); } catch { /* reconnect anyway */ }
    if (pending) pending.then(go, go); else go();
  }

  private scheduleReconnect(why: string): void {
    if (this.stopped) return;
    if (this.offlineSince == null) this.offlineSince = this.now();
    this.setState('offline', why);
    const exp = Math.min(this.backoff.maxMs, this.backoff.minMs * 2 ** Math.max(0, this.attempts - 1));
    const jitter = (this.deps.random ?? Math.random)() * 0.25 * exp;
    this.timer = this.deps.setTimer(() => { this.timer = null; void this.connect(); }, Math.round(exp + jitter));
  }

  // Forces an immediate reconnect (e.g. the browser reports it is online again).
  reconnectNow(): void {
    if (this.stopped || this.state === 'online' || this.state === 'connecting') return;
    if (this.timer != null) this.deps.clearTimer(this.timer);
    this.timer = null;
    void this.connect();
  }

  private setState(s: StreamState, lastError?: string): void {
    this.state = s;
    this.listener.state(s, { offlineSince: this.offlineSince, attempts: this.attempts, lastError });
  }
}
