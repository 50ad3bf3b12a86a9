// The web client through the cloud relay (docs/relay.md "Browser"): one WebSocket to the relay's
// /v1/client, the end-to-end session with the edge (pairing from a #pair= link, else hello with the
// pinned keys), and over it the API's REST requests ({"t":"req"}) and event streams ({"t":"sub"}).
// Loaded on demand (dynamic import) only when the page is opened from a relay, so the edge's own
// page does not carry libsodium. The keys stay in this origin's localStorage ('cb.relay').
import * as e2e from './e2e';
import { FLAG_HANDSHAKE, KIND_CLIENT_TO_EDGE, encodeHeader, joinFrame, parseFrame } from './wire';
import type { SocketLike } from '../events';
import { RELAY_STORE_KEY as STORE_KEY } from './mode';

export { relayPending } from './mode';

export interface RelayResponse { status: number; headers: Record<string, string>; body: string }

interface Stored { edge: string; sk: string; edgePk?: string }
const PART_BYTES = 60_000;          // a frame's plaintext, under the relay's 64 KiB frame limit
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export type RelayState = 'connecting' | 'pairing' | 'online' | 'offline' | 'unpaired';

export interface RelayDeps {
  storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
  wsUrl: string;  // wss://relay.example (no path)
  WebSocket: new (url: string) => WebSocket;
  setTimer(fn: () => void, ms: number): unknown;
  onState?(s: RelayState, detail?: string): void;
}

export class RelayError extends Error {}

export class RelayTransport {
  state: RelayState = 'connecting';
  private stored: Stored;
  private kp: e2e.KeyPair;
  private cid: Uint8Array;
  private link: e2e.PairingLink | null;
  private ws: WebSocket | null = null;
  private session: e2e.Session | null = null;
  private pendingHs: { state: e2e.ClientStart; seq: bigint; offline: boolean } | null = null;
  private edgeOnline = false;
  private seq = BigInt(Date.now()) * 1000n;
  private nextId = 1;
  private parts: Uint8Array[] = [];
  private partsLen = 0;
  private queue: string[] = [];
  private requests = new Map<number, { resolve(r: RelayResponse): void; reject(e: Error): void }>();
  private streams = new Map<number, SocketLike>();
  private attempts = 0;
  private closed = false;

  private constructor(private deps: RelayDeps, link: e2e.PairingLink | null) {
    this.link = link;
    const raw = deps.storage.getItem(STORE_KEY);
    let stored: Stored | null = null;
    try { stored = raw ? JSON.parse(raw) as Stored : null; } catch { stored = null; }
    if (link && (!stored || stored.edge !== link.edgeId || !stored.edgePk)) {
      // A new pairing (or another edge): a fresh key pair for it.
      const kp = e2e.generateKeyPair();
      stored = { edge: link.edgeId, sk: e2e.b64url(kp.sk) };
    } else if (link) {
      this.link = null;  // already paired with this edge: the link is not needed again
    }
    if (!stored) throw new RelayError('this browser is not paired with an edge: open the pairing link from `callbridge pair`');
    this.stored = stored;
    const sk = e2e.b64urlDecode(stored.sk);
    this.kp = { sk, pk: e2e.publicKeyOf(sk) };
    this.cid = e2e.clientId(this.kp.pk);
    deps.storage.setItem(STORE_KEY, JSON.stringify(stored));
  }

  static async open(deps: RelayDeps, fragment: string | null): Promise<RelayTransport> {
    await e2e.ready();
    const link = fragment ? e2e.parsePairingFragment(fragment) : null;
    const t = new RelayTransport(deps, link);
    t.connect();
    return t;
  }

  get edgeId(): string { return this.stored.edge; }
  get clientHex(): string { return e2e.toHex(this.cid); }

  // Resolves once the session is up (or rejects when the edge refused this browser).
  ready(): Promise<void> {
    if (this.state === 'online') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const prev = this.deps.onState;
      this.deps.onState = (s, d) => {
        prev?.(s, d);
        if (s === 'online') resolve();
        if (s === 'unpaired') reject(new RelayError(d ?? 'not paired'));
      };
    });
  }

  request(method: string, path: string, headers: Record<string, string>, body: string): Promise<RelayResponse> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.requests.set(id, { resolve, reject });
      this.post({ t: 'req', id, method, path, headers, body });
    });
  }

  // An event stream at `path` (/api/v1/events?...) as the EventStream client's socket.
  subscribe(path: string, headers: Record<string, string> = {}): SocketLike {
    const id = this.nextId++;
    const s: SocketLike = {
      onopen: null, onmessage: null, onclose: null, onerror: null,
      close: () => { if (this.streams.delete(id)) this.post({ t: 'unsub', id }); },
    };
    this.streams.set(id, s);
    this.post({ t: 'sub', id, path, headers });
    return s;
  }

  close(): void {
    this.closed = true;
    this.ws?.close(1000, 'client stop');
  }

  private setState(s: RelayState, detail?: string) {
    this.state = s;
    this.deps.onState?.(s, detail);
  }

  private connect() {
    if (this.closed) return;
    this.setState(this.session ? 'connecting' : this.link ? 'pairing' : 'connecting');
    const q = new URLSearchParams({ edge: this.stored.edge, client: e2e.toHex(this.cid) });
    if (this.session) q.set('since', String(this.session.lastRx));
    const ws = new this.deps.WebSocket(`${this.deps.wsUrl}/v1/client?${q}`);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      this.attempts = 0;
      // A handshake waits for the relay's welcome saying the edge is online (frames to an offline
      // edge are lost); without one within 2 s it goes anyway.
      if (!this.session) this.deps.setTimer(() => { if (this.ws === ws && !this.session && !this.pendingHs) this.handshake(); }, 2000);
      else { this.setState('online'); this.flush(); }
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data === 'string') { this.onControl(ev.data); return; }
      try { this.onFrame(new Uint8Array(ev.data as ArrayBuffer)); } catch (e) {
        // A frame that does not open: the relay or the network changed it. Start over.
        this.session = null;
        ws.close(1008, String(e).slice(0, 100));
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.pendingHs = null;
      this.edgeOnline = false;
      if (this.closed || this.state === 'unpaired') return;
      this.setState('offline');
      const delay = Math.min(15_000, 500 * 2 ** Math.min(this.attempts++, 5));
      this.deps.setTimer(() => this.connect(), delay);
    };
  }

  // The relay's control messages: frames sent while the edge was offline were lost, so a handshake
  // still waiting for its answer goes again when the edge comes (back) online.
  private onControl(text: string) {
    let m: { type?: string; state?: string; edge_online?: boolean; gap?: boolean };
    try { m = JSON.parse(text); } catch { return; }
    // The relay could not resume us whole: answers and events in between are gone. Requests in
    // flight fail and streams end (the event stream client resumes by its own seq from the API).
    if (m.type === 'welcome' && m.gap === true && this.session) this.failInFlight('frames were lost on the way; try again');
    if (m.type === 'welcome') this.edgeOnline = m.edge_online === true;
    else if (m.type === 'edge') this.edgeOnline = m.state === 'online';
    else return;
    if (!this.edgeOnline || this.session || this.ws?.readyState !== 1) return;
    // No handshake yet, or one sent while the edge was away: (again) now.
    if (!this.pendingHs || this.pendingHs.offline) this.handshake();
  }

  private sendFrame(flags: number, plain: Uint8Array, sealed: boolean) {
    const seq = ++this.seq;
    const len = sealed ? plain.length + e2e.SEAL_OVERHEAD : plain.length;
    const h = encodeHeader({ kind: KIND_CLIENT_TO_EDGE, flags, payloadLen: len, client: this.cid, seq, callTag: 0n });
    const payload = sealed ? this.session!.seal(h, seq, plain) : plain;
    this.ws!.send(joinFrame(h, payload) as Uint8Array<ArrayBuffer>);
    return seq;
  }

  private handshake() {
    let msg: e2e.Handshake;
    let state: e2e.ClientStart;
    if (this.link) {
      ({ msg, state } = e2e.clientStartPair(this.link.edgeId, this.kp, this.link.secret, this.link.edgeFingerprint));
      this.setState('pairing');
    } else if (this.stored.edgePk) {
      ({ msg, state } = e2e.clientStartHello(this.kp, e2e.b64urlDecode(this.stored.edgePk)));
    } else {
      this.setState('unpaired', 'this browser is not paired with an edge: open the pairing link again');
      return;
    }
    const seq = this.sendFrame(FLAG_HANDSHAKE, e2e.encodeHandshake(msg), false);
    this.pendingHs = { state, seq, offline: !this.edgeOnline };
  }

  private onFrame(bytes: Uint8Array) {
    const f = parseFrame(bytes);
    if (f.header.flags & FLAG_HANDSHAKE) {
      const m = e2e.decodeHandshake(f.payload);
      if (m.type === 'reject') {
        if (m.code === e2e.REJECT.no_session) { this.lostSession(); this.handshake(); return; }
        if (m.code === e2e.REJECT.not_paired || m.code === e2e.REJECT.bad_pairing) {
          if (m.code === e2e.REJECT.not_paired) this.deps.storage.removeItem(STORE_KEY);
          this.link = null;
          this.lostSession();
          this.setState('unpaired', `the edge refused this browser (${e2e.REJECT_NAMES[m.code]})`);
          this.ws?.close(1000, 'unpaired');
          return;
        }
        throw new RelayError(`edge: ${e2e.REJECT_NAMES[m.code]}`);
      }
      if (!this.pendingHs) throw new RelayError('unexpected welcome');
      this.session = e2e.clientFinish(this.stored.edge, this.kp, this.pendingHs.state, m, this.pendingHs.seq, f.header.seq);
      this.pendingHs = null;
      if (m.type === 'welcome' && !this.stored.edgePk) {
        this.stored.edgePk = e2e.b64url(m.edgePk);  // pinned
        this.deps.storage.setItem(STORE_KEY, JSON.stringify(this.stored));
      }
      this.link = null;
      this.setState('online');
      this.flush();
      return;
    }
    if (!this.session) return;  // frames of an older session (before our hello was answered)
    const plain = this.session.open(f.headerBytes, f.header.seq, f.payload);
    const kind = plain[0];
    const body = plain.subarray(1);
    if (kind === 0 && this.partsLen === 0) return this.onMessage(new TextDecoder().decode(body));
    if (kind !== 1 && kind !== 2) throw new RelayError('bad message part');
    this.partsLen += body.length;
    if (this.partsLen > MAX_MESSAGE_BYTES) throw new RelayError('message too large');
    this.parts.push(body.slice());
    if (kind === 2) {
      const all = new Uint8Array(this.partsLen);
      let o = 0;
      for (const p of this.parts) { all.set(p, o); o += p.length; }
      this.parts = [];
      this.partsLen = 0;
      this.onMessage(new TextDecoder().decode(all));
    }
  }

  private onMessage(text: string) {
    const m = JSON.parse(text) as { t: string; id: number; [k: string]: unknown };
    if (m.t === 'res') {
      const r = this.requests.get(m.id);
      this.requests.delete(m.id);
      r?.resolve({ status: Number(m.status), headers: (m.headers ?? {}) as Record<string, string>, body: String(m.body ?? '') });
    } else {
      const s = this.streams.get(m.id);
      if (!s) return;
      if (m.t === 'open') s.onopen?.({});
      else if (m.t === 'ev') s.onmessage?.({ data: m.data });
      else if (m.t === 'end') { this.streams.delete(m.id); s.onclose?.({ code: Number(m.code), reason: String(m.reason ?? '') }); }
    }
  }

  // The edge forgot us: what was in flight is lost (requests fail, streams end; the event stream
  // client reconnects and resumes by its own seq).
  private lostSession() {
    this.session = null;
    this.failInFlight('the edge restarted; try again');
  }

  private failInFlight(why: string) {
    this.parts = [];
    this.partsLen = 0;
    for (const [, r] of this.requests) r.reject(new RelayError(why));
    this.requests.clear();
    for (const [id, s] of this.streams) { s.onclose?.({ code: 1012, reason: why }); if (this.session) this.post({ t: 'unsub', id }); }
    this.streams.clear();
  }

  private post(msg: object) {
    this.queue.push(JSON.stringify(msg));
    this.flush();
  }

  private flush() {
    if (!this.session || !this.ws || this.ws.readyState !== 1) return;
    const enc = new TextEncoder();
    while (this.queue.length) {
      const bytes = enc.encode(this.queue.shift()!);
      if (bytes.length <= PART_BYTES) {
        this.sendFrame(0, concat1(0, bytes), true);
        continue;
      }
      for (let off = 0; off < bytes.length; off += PART_BYTES) {
        const last = off + PART_BYTES >= bytes.length;
        this.sendFrame(0, concat1(last ? 2 : 1, bytes.subarray(off, off + PART_BYTES)), true);
      }
    }
  }
}

function concat1(first: number, rest: Uint8Array): Uint8Array {
  const out = new Uint8Array(rest.length + 1);
  out[0] = first;
  out.set(rest, 1);
  return out;
}
