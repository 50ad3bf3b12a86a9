// The browser's e2e twin alone (both roles in JS): pairing, a relay without the secret, replay,
// reordering and tampering. The cross-implementation test against src/relay/e2e is
// tests/interop/relay_e2e_interop.test.ts (ctest relay_e2e_interop).
import { beforeAll, describe, expect, it } from 'vitest';
import * as e2e from '../../src/lib/relay/e2e';
import { encodeHeader, decodeHeader, FLAG_HANDSHAKE } from '../../src/lib/relay/wire';

beforeAll(async () => { await e2e.ready(); });

const EDGE = 'acme-edge';
const text = new TextEncoder();
const hdr = (kind: number, len: number, client: Uint8Array, seq: bigint, flags = 0) =>
  encodeHeader({ kind, flags, payloadLen: len, client, seq, callTag: 0n });

function pair() {
  const edge = e2e.generateKeyPair();
  const client = e2e.generateKeyPair();
  const secret = e2e.newSecret();
  const link = e2e.parsePairingFragment('#' + e2e.pairingFragment({ edgeId: EDGE, secret, edgeFingerprint: e2e.fingerprint(edge.pk) }));
  const start = e2e.clientStartPair(link.edgeId, client, link.secret, link.edgeFingerprint);
  const acc = e2e.edgeAcceptPair(EDGE, edge, secret, e2e.decodeHandshake(e2e.encodeHandshake(start.msg)), 10n, 900n);
  const cs = e2e.clientFinish(EDGE, client, start.state, e2e.decodeHandshake(e2e.encodeHandshake(acc.welcome)), 10n, 900n);
  return { edge, client, secret, es: acc.session, cs };
}

describe('relay e2e (JS)', () => {
  it('pairs and carries data both ways', () => {
    const p = pair();
    const cid = e2e.clientId(p.client.pk);
    const msg = text.encode('{"t":"req","id":1}');
    const h = hdr(2, msg.length + e2e.SEAL_OVERHEAD, cid, 11n);
    const sealed = p.cs.seal(h, 11n, msg);
    expect(new TextDecoder().decode(p.es.open(h, 11n, sealed))).toBe('{"t":"req","id":1}');
    const h2 = hdr(1, 3 + e2e.SEAL_OVERHEAD, cid, 901n);
    expect(new TextDecoder().decode(p.cs.open(h2, 901n, p.es.seal(h2, 901n, text.encode('abc'))))).toBe('abc');
    expect(decodeHeader(h2).seq).toBe(901n);
  });

  it('refuses a relay without the secret and a swapped edge key', () => {
    const edge = e2e.generateKeyPair();
    const secret = e2e.newSecret();
    const relay = e2e.generateKeyPair();
    const forged = e2e.clientStartPair(EDGE, relay, e2e.newSecret(), e2e.fingerprint(edge.pk));
    forged.msg = { ...forged.msg, pairId: e2e.pairingId(secret) } as typeof forged.msg;
    expect(() => e2e.edgeAcceptPair(EDGE, edge, secret, forged.msg, 1n, 2n)).toThrow(/MAC/);
    const client = e2e.generateKeyPair();
    const real = e2e.clientStartPair(EDGE, client, secret, e2e.fingerprint(edge.pk));
    const fake = e2e.edgeAcceptHello(EDGE, relay, { type: 'hello', clientPk: client.pk, clientNonce: real.state.clientNonce }, 1n, 2n);
    expect(() => e2e.clientFinish(EDGE, client, real.state, fake.welcome, 1n, 2n)).toThrow(/fingerprint/);
    const ok = e2e.edgeAcceptPair(EDGE, edge, secret, real.msg, 1n, 2n);
    expect(() => e2e.clientFinish(EDGE, client, real.state, ok.welcome, 1n, 2n)).not.toThrow();
  });

  it('rejects replayed, reordered and tampered frames', () => {
    const p = pair();
    const cid = e2e.clientId(p.client.pk);
    const frames = [12n, 13n, 20n].map((seq) => {
      const h = hdr(2, 1 + e2e.SEAL_OVERHEAD, cid, seq);
      return { h, seq, payload: p.cs.seal(h, seq, text.encode('x')) };
    });
    expect(() => p.es.open(frames[0].h, frames[0].seq, frames[0].payload)).not.toThrow();
    expect(() => p.es.open(frames[0].h, frames[0].seq, frames[0].payload)).toThrow(/replayed/);
    const bad = frames[2].payload.slice();
    bad[30] ^= 1;
    expect(() => p.es.open(frames[2].h, frames[2].seq, bad)).toThrow(/authentication/);
    const badH = frames[2].h.slice();
    badH[39] ^= 1;
    expect(() => p.es.open(badH, frames[2].seq, frames[2].payload)).toThrow(/authentication/);
    expect(p.es.lastRx).toBe(12n);
    expect(() => p.es.open(frames[2].h, frames[2].seq, frames[2].payload)).not.toThrow();
    expect(() => p.es.open(frames[1].h, frames[1].seq, frames[1].payload)).toThrow(/reordered/);
    const hs = hdr(2, 65, cid, 21n, FLAG_HANDSHAKE);
    expect(decodeHeader(hs).flags).toBe(FLAG_HANDSHAKE);
  });

  it('decodes handshakes and links strictly', () => {
    expect(() => e2e.decodeHandshake(Uint8Array.of(2, 1, 2))).toThrow(/size/);
    expect(() => e2e.decodeHandshake(Uint8Array.of(9))).toThrow(/type/);
    expect(e2e.decodeHandshake(Uint8Array.of(4, 3))).toEqual({ type: 'reject', code: 3 });
    expect(() => e2e.parsePairingFragment('pair=acme.abc.def')).toThrow();
    expect(() => e2e.parsePairingFragment('pair=Acme.' + e2e.b64url(e2e.newSecret()) + '.' + e2e.b64url(e2e.newSecret()))).toThrow(/edge id/);
  });
});
