// The relay transport against a JS edge (the e2e twin's edge side) behind a fake WebSocket:
// pairing from the link, requests and an event stream, resume after a reconnect without a new
// handshake, a forgotten session (reject no-session -> hello), a tampered frame, an unpaired key.
import { beforeAll, describe, expect, it } from 'vitest';
import * as e2e from '../../src/lib/relay/e2e';
import { FLAG_HANDSHAKE, KIND_EDGE_TO_CLIENT, encodeHeader, joinFrame, parseFrame } from '../../src/lib/relay/wire';
import { RelayTransport, relayPending, type RelayState } from '../../src/lib/relay/transport';

beforeAll(async () => { await e2e.ready(); });

const tick = () => new Promise((r) => setTimeout(r, 0));

class Edge {
  kp = e2e.generateKeyPair();
  secret = e2e.newSecret();
  pinned: Uint8Array | null = null;
  session: e2e.Session | null = null;
  seq = 1000n;
  requests: { path: string; headers: Record<string, string> }[] = [];
  tamperNext = false;
  link() { return e2e.pairingFragment({ edgeId: 'acme', secret: this.secret, edgeFingerprint: e2e.fingerprint(this.kp.pk) }); }

  // A client frame in; frames out to `send`.
  receive(bytes: Uint8Array, send: (b: Uint8Array) => void) {
    const f = parseFrame(bytes);
    const cid = f.header.client;
    const reply = (flags: number, payload: Uint8Array, sealed: boolean) => {
      const seq = ++this.seq;
      const len = sealed ? payload.length + e2e.SEAL_OVERHEAD : payload.length;
      const h = encodeHeader({ kind: KIND_EDGE_TO_CLIENT, flags, payloadLen: len, client: cid, seq, callTag: 0n });
      const p = sealed ? this.session!.seal(h, seq, payload) : payload;
      if (this.tamperNext && sealed) { this.tamperNext = false; p[p.length - 1] ^= 1; }
      send(joinFrame(h, p));
    };
    const msg = (o: object) => reply(0, new Uint8Array([0, ...new TextEncoder().encode(JSON.stringify(o))]), true);
    if (f.header.flags & FLAG_HANDSHAKE) {
      const m = e2e.decodeHandshake(f.payload);
      const welcomeSeq = this.seq + 1n;
      if (m.type === 'pair') {
        const acc = e2e.edgeAcceptPair('acme', this.kp, this.secret, m, f.header.seq, welcomeSeq);
        this.pinned = m.clientPk;
        this.session = acc.session;
        reply(FLAG_HANDSHAKE, e2e.encodeHandshake(acc.welcome), false);
      } else if (m.type === 'hello') {
        if (!this.pinned || !e2e.toHex(this.pinned).startsWith(e2e.toHex(m.clientPk))) {
          reply(FLAG_HANDSHAKE, e2e.encodeHandshake({ type: 'reject', code: e2e.REJECT.not_paired }), false);
          return;
        }
        const acc = e2e.edgeAcceptHello('acme', this.kp, m, f.header.seq, welcomeSeq);
        this.session = acc.session;
        reply(FLAG_HANDSHAKE, e2e.encodeHandshake(acc.welcome), false);
      }
      return;
    }
    if (!this.session) { reply(FLAG_HANDSHAKE, e2e.encodeHandshake({ type: 'reject', code: e2e.REJECT.no_session }), false); return; }
    const plain = this.session.open(f.headerBytes, f.header.seq, f.payload);
    const m = JSON.parse(new TextDecoder().decode(plain.subarray(1)));
    if (m.t === 'req') {
      this.requests.push({ path: m.path, headers: m.headers });
      msg({ t: 'res', id: m.id, status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: m.path }) });
    } else if (m.t === 'sub') {
      msg({ t: 'open', id: m.id });
      msg({ t: 'ev', id: m.id, data: '{"type":"snapshot","seq":1}' });
    }
  }
}

class Net {
  sockets: FakeWS[] = [];
  urls: string[] = [];
  timers: (() => void)[] = [];
  edgeOnline = true;
  constructor(public edge: Edge) {}
}

class FakeWS {
  static net: Net;
  readyState = 0;
  binaryType = '';
  onopen: ((e: unknown) => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: ((e: unknown) => void) | null = null;
  closedWith: number | null = null;
  constructor(public url: string) {
    FakeWS.net.sockets.push(this);
    FakeWS.net.urls.push(url);
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.({});
      this.onmessage?.({ data: JSON.stringify({ type: 'welcome', node: 'n1', edge_online: FakeWS.net.edgeOnline }) });
    }, 0);
  }
  send(b: Uint8Array) {
    FakeWS.net.edge.receive(b, (out) => setTimeout(() => this.onmessage?.({ data: out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength) }), 0));
  }
  close(code = 1000) { this.closedWith = code; this.readyState = 3; setTimeout(() => this.onclose?.({ code }), 0); }
  drop() { this.readyState = 3; this.onclose?.({ code: 1006 }); }
}

function setup(storage = new Map<string, string>()) {
  const edge = new Edge();
  const net = new Net(edge);
  FakeWS.net = net;
  const states: RelayState[] = [];
  const deps = {
    storage: { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => void storage.set(k, v), removeItem: (k: string) => void storage.delete(k) },
    wsUrl: 'wss://relay.example',
    WebSocket: FakeWS as unknown as new (url: string) => WebSocket,
    setTimer: (fn: () => void) => { net.timers.push(fn); },
    onState: (s: RelayState) => { states.push(s); },
  };
  return { edge, net, storage, deps, states };
}

describe('relay transport', () => {
  it('pairs from the link, then carries requests and an event stream', async () => {
    const { edge, net, storage, deps } = setup();
    expect(relayPending('#pair=x', deps.storage)).toBe(true);
    expect(relayPending('#calls', deps.storage)).toBe(false);
    const t = await RelayTransport.open(deps, edge.link());
    await t.ready();
    expect(net.urls[0]).toMatch(/^wss:\/\/relay\.example\/v1\/client\?edge=acme&client=[0-9a-f]{32}$/);
    expect(JSON.parse(storage.get('cb.relay')!).edgePk).toBe(e2e.b64url(edge.kp.pk));
    const r = await t.request('GET', '/api/v1/me', { authorization: 'Bearer x' }, '');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ path: '/api/v1/me' });
    expect(edge.requests[0].headers).toEqual({ authorization: 'Bearer x' });
    const s = t.subscribe('/api/v1/events?ticket=t');
    const got: unknown[] = [];
    let opened = false;
    s.onopen = () => { opened = true; };
    s.onmessage = (ev) => got.push(ev.data);
    for (let i = 0; i < 5; i++) await tick();
    expect(opened).toBe(true);
    expect(got).toEqual(['{"type":"snapshot","seq":1}']);
  });

  it('resumes after a reconnect without a new handshake, and says hello when the edge forgot it', async () => {
    const { edge, net, deps } = setup();
    const t = await RelayTransport.open(deps, edge.link());
    await t.ready();
    await t.request('GET', '/api/v1/me', {}, '');
    const sessionBefore = edge.session;
    net.sockets[0].drop();
    expect(t.state).toBe('offline');
    net.timers.pop()!();  // the reconnect (earlier ones: handshake fallbacks)
    await tick(); await tick();
    expect(net.urls[1]).toMatch(/since=\d+/);
    const r = await t.request('GET', '/api/v1/calls', {}, '');
    expect(r.status).toBe(200);
    expect(edge.session).toBe(sessionBefore);  // no handshake on resume
    // A resume the relay could not serve whole: the stream ends (its client resumes by seq).
    const sub = t.subscribe('/api/v1/events?ticket=t');
    let ended = '';
    sub.onclose = (e) => { ended = e.reason; };
    for (let i = 0; i < 5; i++) await tick();
    net.sockets[1].onmessage?.({ data: JSON.stringify({ type: 'welcome', node: 'n2', edge_online: true, gap: true }) });
    expect(ended).toMatch(/lost/);
    edge.session = null;                       // the edge restarted
    const r2 = await t.request('GET', '/api/v1/lines', {}, '').catch((e) => e);
    expect(r2).toBeInstanceOf(Error);          // in flight while the session was lost
    for (let i = 0; i < 5; i++) await tick();
    expect(edge.session).not.toBeNull();       // a new hello
    expect((await t.request('GET', '/api/v1/lines', {}, '')).status).toBe(200);
  });

  it('waits for the edge to come online before it pairs', async () => {
    const { edge, net, deps } = setup();
    net.edgeOnline = false;
    const t = await RelayTransport.open(deps, edge.link());
    for (let i = 0; i < 3; i++) await tick();
    expect(edge.session).toBeNull();  // nothing sent to an offline edge
    net.sockets[0].onmessage?.({ data: JSON.stringify({ type: 'edge', state: 'online' }) });
    await t.ready();
    expect((await t.request('GET', '/api/v1/me', {}, '')).status).toBe(200);
  });

  it('starts over after a tampered frame and stops when the edge does not know the key', async () => {
    const { edge, net, storage, deps } = setup();
    const t = await RelayTransport.open(deps, edge.link());
    await t.ready();
    edge.tamperNext = true;
    void t.request('GET', '/api/v1/me', {}, '').catch(() => undefined);
    for (let i = 0; i < 5; i++) await tick();
    expect(net.sockets[0].closedWith).toBe(1008);
    // A second browser whose key the edge never paired: refused, keys forgotten.
    const other = new Map<string, string>([['cb.relay', JSON.stringify({ edge: 'acme', sk: e2e.b64url(e2e.generateKeyPair().sk), edgePk: e2e.b64url(edge.kp.pk) })]]);
    const s2 = setup(other);
    s2.net.edge = edge;
    FakeWS.net = s2.net;
    const t2 = await RelayTransport.open(s2.deps, null);
    await expect(t2.ready()).rejects.toThrow(/not-paired/);
    expect(other.has('cb.relay')).toBe(false);
    expect(storage.has('cb.relay')).toBe(true);
  });
});
