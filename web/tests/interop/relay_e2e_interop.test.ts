// Cross-implementation test: the browser's e2e twin (src/lib/relay/e2e.ts) against the C++ layer
// (src/relay/e2e through build/.../relay_e2e_peer), both roles each way: a JS client pairs with a C++
// edge, a C++ client with a JS edge; data both ways; a tampered frame and a replay are refused by
// the other implementation. Run by ctest relay_e2e_interop (CB_E2E_PEER = the peer program).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as e2e from '../../src/lib/relay/e2e';
import { decodeHeader, encodeHeader, FLAG_HANDSHAKE, KIND_CLIENT_TO_EDGE, KIND_EDGE_TO_CLIENT } from '../../src/lib/relay/wire';

const peerPath = process.env.CB_E2E_PEER;
let peer: ChildProcessWithoutNullStreams;
const answers: string[] = [];
const waiters: ((l: string) => void)[] = [];

function ask(line: string): Promise<string> {
  return new Promise((resolve) => { waiters.push(resolve); peer.stdin.write(line + '\n'); });
}
const hex = (b: Uint8Array) => e2e.toHex(b);
const utf8 = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);
function frame(answer: string) {
  const [kind, h, p] = answer.split(' ');
  expect(kind, answer).toBe('frame');
  return { h: e2e.fromHex(h), p: e2e.fromHex(p ?? '') };
}

beforeAll(async () => {
  if (!peerPath) throw new Error('CB_E2E_PEER is not set (run through ctest relay_e2e_interop)');
  await e2e.ready();
  peer = spawn(peerPath, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  createInterface({ input: peer.stdout }).on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l); else answers.push(l);
  });
});
afterAll(() => { peer?.stdin.end(); });

describe('e2e interop: JS client, C++ edge', () => {
  it('pairs, exchanges data, refuses tampering and replay, and resumes with a hello', async () => {
    const init = await ask('edge-init acme-7');
    expect(init).toMatch(/^ok pair=acme-7\./);
    const link = e2e.parsePairingFragment(init.slice(3));
    const client = e2e.generateKeyPair();
    const cid = e2e.clientId(client.pk);
    let seq = 5000n;

    // A relay guessing the secret is refused by the C++ edge.
    const forged = e2e.clientStartPair(link.edgeId, client, e2e.newSecret(), link.edgeFingerprint);
    forged.msg = { ...forged.msg, pairId: e2e.pairingId(link.secret) } as typeof forged.msg;
    const fp = e2e.encodeHandshake(forged.msg);
    let f = frame(await ask(`edge-recv ${hex(encodeHeader({ kind: KIND_CLIENT_TO_EDGE, flags: FLAG_HANDSHAKE, payloadLen: fp.length, client: cid, seq: ++seq, callTag: 0n }))} ${hex(fp)}`));
    expect(e2e.decodeHandshake(f.p)).toEqual({ type: 'reject', code: e2e.REJECT.bad_pairing });

    // The real pairing.
    const start = e2e.clientStartPair(link.edgeId, client, link.secret, link.edgeFingerprint);
    const pm = e2e.encodeHandshake(start.msg);
    const helloSeq = ++seq;
    f = frame(await ask(`edge-recv ${hex(encodeHeader({ kind: KIND_CLIENT_TO_EDGE, flags: FLAG_HANDSHAKE, payloadLen: pm.length, client: cid, seq: helloSeq, callTag: 0n }))} ${hex(pm)}`));
    const wh = decodeHeader(f.h);
    expect(wh.kind).toBe(KIND_EDGE_TO_CLIENT);
    expect(wh.flags).toBe(FLAG_HANDSHAKE);
    const welcome = e2e.decodeHandshake(f.p);
    let session = e2e.clientFinish(link.edgeId, client, start.state, welcome, helloSeq, wh.seq);
    const edgePk = (welcome as { edgePk: Uint8Array }).edgePk;

    // Client -> edge.
    const msg = utf8.encode('{"t":"req","id":1,"method":"GET","path":"/api/v1/calls"}');
    const h = encodeHeader({ kind: KIND_CLIENT_TO_EDGE, flags: 0, payloadLen: msg.length + e2e.SEAL_OVERHEAD, client: cid, seq: ++seq, callTag: 0n });
    const sealed = session.seal(h, seq, msg);
    expect(await ask(`edge-recv ${hex(h)} ${hex(sealed)}`)).toBe(`plain ${hex(msg)}`);
    expect(await ask(`edge-recv ${hex(h)} ${hex(sealed)}`)).toMatch(/^error .*replayed/);
    const h2 = encodeHeader({ kind: KIND_CLIENT_TO_EDGE, flags: 0, payloadLen: 2 + e2e.SEAL_OVERHEAD, client: cid, seq: ++seq, callTag: 0n });
    const s2 = session.seal(h2, seq, utf8.encode('{}'));
    s2[s2.length - 1] ^= 1;
    expect(await ask(`edge-recv ${hex(h2)} ${hex(s2)}`)).toMatch(/^error .*authentication/);

    // Edge -> client.
    const ev = utf8.encode('{"t":"ev","event":{"type":"call","state":"ringing"}}');
    f = frame(await ask(`edge-send ${hex(ev)}`));
    expect(text(session.open(f.h, decodeHeader(f.h).seq, f.p))).toBe(text(ev));
    expect(() => session.open(f.h, decodeHeader(f.h).seq, f.p)).toThrow(/replayed/);

    // A second pairing with the used secret fails; a hello with the pinned keys gives a new session.
    const again = e2e.encodeHandshake(e2e.clientStartPair(link.edgeId, client, link.secret, link.edgeFingerprint).msg);
    f = frame(await ask(`edge-recv ${hex(encodeHeader({ kind: KIND_CLIENT_TO_EDGE, flags: FLAG_HANDSHAKE, payloadLen: again.length, client: cid, seq: ++seq, callTag: 0n }))} ${hex(again)}`));
    expect(e2e.decodeHandshake(f.p)).toEqual({ type: 'reject', code: e2e.REJECT.bad_pairing });
    const hello = e2e.clientStartHello(client, edgePk);
    const hm = e2e.encodeHandshake(hello.msg);
    const hs = ++seq;
    f = frame(await ask(`edge-recv ${hex(encodeHeader({ kind: KIND_CLIENT_TO_EDGE, flags: FLAG_HANDSHAKE, payloadLen: hm.length, client: cid, seq: hs, callTag: 0n }))} ${hex(hm)}`));
    session = e2e.clientFinish(link.edgeId, client, hello.state, e2e.decodeHandshake(f.p), hs, decodeHeader(f.h).seq);
    f = frame(await ask(`edge-send ${hex(utf8.encode('again'))}`));
    expect(text(session.open(f.h, decodeHeader(f.h).seq, f.p))).toBe('again');
  });
});

describe('e2e interop: C++ client, JS edge', () => {
  it('pairs and exchanges data', async () => {
    const edge = e2e.generateKeyPair();
    const secret = e2e.newSecret();
    const frag = e2e.pairingFragment({ edgeId: 'beta', secret, edgeFingerprint: e2e.fingerprint(edge.pk) });
    expect(await ask(`client-init ${frag}`)).toBe('ok');
    let f = frame(await ask('client-pair'));
    const ph = decodeHeader(f.h);
    expect(ph.kind).toBe(KIND_CLIENT_TO_EDGE);
    const pair = e2e.decodeHandshake(f.p);
    expect(ph.client).toEqual(e2e.clientId((pair as { clientPk: Uint8Array }).clientPk));
    const acc = e2e.edgeAcceptPair('beta', edge, secret, pair, ph.seq, 77n);
    const w = e2e.encodeHandshake(acc.welcome);
    expect(await ask(`client-recv ${hex(encodeHeader({ kind: KIND_EDGE_TO_CLIENT, flags: FLAG_HANDSHAKE, payloadLen: w.length, client: ph.client, seq: 77n, callTag: 0n }))} ${hex(w)}`)).toBe('session');

    f = frame(await ask(`client-send ${hex(utf8.encode('from c++'))}`));
    expect(text(acc.session.open(f.h, decodeHeader(f.h).seq, f.p))).toBe('from c++');
    const out = utf8.encode('from js');
    const h = encodeHeader({ kind: KIND_EDGE_TO_CLIENT, flags: 0, payloadLen: out.length + e2e.SEAL_OVERHEAD, client: ph.client, seq: 78n, callTag: 9n });
    const sealed = acc.session.seal(h, 78n, out);
    expect(await ask(`client-recv ${hex(h)} ${hex(sealed)}`)).toBe(`plain ${hex(out)}`);
    expect(await ask(`client-recv ${hex(h)} ${hex(sealed)}`)).toMatch(/^error .*replayed/);
    // The header is authenticated: the same ciphertext under another call tag is refused.
    const moved = encodeHeader({ kind: KIND_EDGE_TO_CLIENT, flags: 0, payloadLen: out.length + e2e.SEAL_OVERHEAD, client: ph.client, seq: 79n, callTag: 10n });
    expect(await ask(`client-recv ${hex(moved)} ${hex(sealed)}`)).toMatch(/^error .*authentication/);
  });
});
