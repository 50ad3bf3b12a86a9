// The browser's twin of src/relay/e2e (docs/relay.md "End-to-end encryption and pairing"): the same
// pairing MACs, handshake messages, session keys and sealed frames, byte for byte, over libsodium's
// JavaScript build (libsodium-wrappers). Await ready() once before anything else.
import sodium from 'libsodium-wrappers';

export const KEY_BYTES = 32;
export const SEAL_OVERHEAD = 24 + 16;
const TRANSCRIPT_LABEL = 'callbridge-e2e-v1';
const PAIR_LABEL = 'callbridge-pair-v1';

export class E2eError extends Error {}

export async function ready(): Promise<void> { await sodium.ready; }

export interface KeyPair { pk: Uint8Array; sk: Uint8Array }

export function generateKeyPair(): KeyPair {
  const kp = sodium.crypto_kx_keypair();
  return { pk: kp.publicKey, sk: kp.privateKey };
}
export function publicKeyOf(sk: Uint8Array): Uint8Array { return sodium.crypto_scalarmult_base(sk); }

const enc = new TextEncoder();
function blake2b(key: Uint8Array | null, parts: (Uint8Array | string)[], len = 32): Uint8Array {
  const st = sodium.crypto_generichash_init(key, len);
  for (const p of parts) sodium.crypto_generichash_update(st, typeof p === 'string' ? enc.encode(p) : p);
  return sodium.crypto_generichash_final(st, len);
}
function edgeIdField(edgeId: string): Uint8Array {
  const id = enc.encode(edgeId);
  const f = new Uint8Array(id.length + 1);
  f[0] = id.length;
  f.set(id, 1);
  return f;
}
function eq(a: Uint8Array, b: Uint8Array): boolean { return a.length === b.length && sodium.memcmp(a, b); }

export function fingerprint(edgePk: Uint8Array): Uint8Array { return blake2b(null, [edgePk]); }
export function clientId(clientPk: Uint8Array): Uint8Array { return blake2b(null, [clientPk]).slice(0, 16); }
export function newSecret(): Uint8Array { return sodium.randombytes_buf(32); }
function pairSubkey(secret: Uint8Array, purpose: string): Uint8Array { return blake2b(secret, [purpose]); }
export function pairingId(secret: Uint8Array): Uint8Array { return pairSubkey(secret, 'pair-id').slice(0, 16); }

export function b64url(bytes: Uint8Array): string {
  return sodium.to_base64(bytes, sodium.base64_variants.URLSAFE_NO_PADDING);
}
export function b64urlDecode(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new E2eError('not base64url without padding');
  try { return sodium.from_base64(text, sodium.base64_variants.URLSAFE_NO_PADDING); } catch { throw new E2eError('not base64url without padding'); }
}
export function toHex(b: Uint8Array): string { return sodium.to_hex(b); }
export function fromHex(h: string): Uint8Array { return sodium.from_hex(h); }

export function validEdgeId(id: string): boolean { return /^[a-z0-9][a-z0-9-]{0,62}$/.test(id); }

export interface PairingLink { edgeId: string; secret: Uint8Array; edgeFingerprint: Uint8Array }
export function pairingFragment(l: PairingLink): string {
  return `pair=${l.edgeId}.${b64url(l.secret)}.${b64url(l.edgeFingerprint)}`;
}
export function parsePairingFragment(fragment: string): PairingLink {
  const f = fragment.startsWith('#') ? fragment.slice(1) : fragment;
  if (!f.startsWith('pair=')) throw new E2eError('pairing link: fragment is not pair=...');
  const parts = f.slice(5).split('.');
  if (parts.length !== 3) throw new E2eError('pairing link: want EDGE.SECRET.FINGERPRINT');
  if (!validEdgeId(parts[0])) throw new E2eError('pairing link: invalid edge id');
  const secret = b64urlDecode(parts[1]);
  const fp = b64urlDecode(parts[2]);
  if (secret.length !== 32 || fp.length !== 32) throw new E2eError('pairing link: secret and fingerprint must be 32 bytes each');
  return { edgeId: parts[0], secret, edgeFingerprint: fp };
}

// ---- handshake messages ----
export const REJECT = { not_paired: 1, bad_pairing: 2, no_session: 3, malformed: 4 } as const;
export const REJECT_NAMES: Record<number, string> = { 1: 'not-paired', 2: 'bad-pairing', 3: 'no-session', 4: 'malformed' };

export type Handshake =
  | { type: 'pair'; clientPk: Uint8Array; clientNonce: Uint8Array; pairId: Uint8Array; mac: Uint8Array }
  | { type: 'hello'; clientPk: Uint8Array; clientNonce: Uint8Array }
  | { type: 'welcome'; edgePk: Uint8Array; clientNonce: Uint8Array; edgeNonce: Uint8Array; confirm: Uint8Array; pairMac?: Uint8Array }
  | { type: 'reject'; code: number };

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export function encodeHandshake(m: Handshake): Uint8Array {
  switch (m.type) {
    case 'pair': return concat([Uint8Array.of(1), m.clientPk, m.clientNonce, m.pairId, m.mac]);
    case 'hello': return concat([Uint8Array.of(2), m.clientPk, m.clientNonce]);
    case 'welcome': return concat([Uint8Array.of(3), m.edgePk, m.clientNonce, m.edgeNonce, m.confirm, ...(m.pairMac ? [m.pairMac] : [])]);
    case 'reject': return Uint8Array.of(4, m.code);
  }
}

export function decodeHandshake(b: Uint8Array): Handshake {
  if (b.length === 0) throw new E2eError('e2e handshake: empty');
  const at = (o: number, n: number) => b.slice(1 + o, 1 + o + n);
  const n = b.length - 1;
  switch (b[0]) {
    case 1: if (n === 112) return { type: 'pair', clientPk: at(0, 32), clientNonce: at(32, 32), pairId: at(64, 16), mac: at(80, 32) }; break;
    case 2: if (n === 64) return { type: 'hello', clientPk: at(0, 32), clientNonce: at(32, 32) }; break;
    case 3:
      if (n === 128 || n === 160) {
        return { type: 'welcome', edgePk: at(0, 32), clientNonce: at(32, 32), edgeNonce: at(64, 32), confirm: at(96, 32),
          ...(n === 160 ? { pairMac: at(128, 32) } : {}) };
      }
      break;
    case 4: if (n === 1 && b[1] >= 1 && b[1] <= 4) return { type: 'reject', code: b[1] }; break;
    default: throw new E2eError(`e2e handshake: unknown message type ${b[0]}`);
  }
  throw new E2eError(`e2e handshake: wrong size ${b.length} for type ${b[0]}`);
}

// ---- keys ----
function transcriptHash(edgeId: string, clientPk: Uint8Array, edgePk: Uint8Array, cn: Uint8Array, en: Uint8Array): Uint8Array {
  return blake2b(null, [TRANSCRIPT_LABEL, edgeIdField(edgeId), clientPk, edgePk, cn, en]);
}
function clientPairMac(edgeId: string, secret: Uint8Array, clientPk: Uint8Array, edgeFp: Uint8Array, cn: Uint8Array): Uint8Array {
  return blake2b(pairSubkey(secret, 'pair-client'), [PAIR_LABEL, edgeIdField(edgeId), clientPk, edgeFp, cn]);
}
function edgePairMac(secret: Uint8Array, th: Uint8Array): Uint8Array {
  return blake2b(pairSubkey(secret, 'pair-edge'), [PAIR_LABEL, th]);
}
function directionKeys(kxC2e: Uint8Array, kxE2c: Uint8Array, th: Uint8Array) {
  return { c2e: blake2b(kxC2e, ['c2e', th]), e2c: blake2b(kxE2c, ['e2c', th]), confirm: blake2b(kxE2c, ['confirm', th]) };
}

// ---- session ----
export class Session {
  constructor(private tx: Uint8Array, private rx: Uint8Array, public lastTx: bigint, public lastRx: bigint) {}

  // header: the 40 bytes (payload length = plaintext + SEAL_OVERHEAD, seq = seq).
  seal(header: Uint8Array, seq: bigint, plaintext: Uint8Array): Uint8Array {
    if (header.length !== 40) throw new E2eError('e2e seal: header must be 40 bytes');
    if (seq <= this.lastTx) throw new E2eError('e2e seal: seq does not grow');
    const nonce = sodium.randombytes_buf(24);
    const ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, header, null, nonce, this.tx);
    this.lastTx = seq;
    return concat([nonce, ct]);
  }

  open(header: Uint8Array, seq: bigint, payload: Uint8Array): Uint8Array {
    if (header.length !== 40) throw new E2eError('e2e open: header must be 40 bytes');
    if (seq <= this.lastRx) throw new E2eError(`e2e open: seq ${seq} not above ${this.lastRx} (replayed or reordered)`);
    if (payload.length < SEAL_OVERHEAD) throw new E2eError('e2e open: payload too short');
    let plain: Uint8Array;
    try {
      plain = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, payload.slice(24), header, payload.slice(0, 24), this.rx);
    } catch {
      throw new E2eError('e2e open: authentication failed (tampered, wrong key or wrong header)');
    }
    this.lastRx = seq;
    return plain;
  }
}

// ---- client side ----
export interface ClientStart { clientNonce: Uint8Array; secret?: Uint8Array; edgeFingerprint?: Uint8Array; edgePk?: Uint8Array }

export function clientStartPair(edgeId: string, client: KeyPair, secret: Uint8Array, edgeFingerprint: Uint8Array) {
  const clientNonce = sodium.randombytes_buf(32);
  const msg: Handshake = { type: 'pair', clientPk: client.pk, clientNonce, pairId: pairingId(secret),
    mac: clientPairMac(edgeId, secret, client.pk, edgeFingerprint, clientNonce) };
  return { msg, state: { clientNonce, secret, edgeFingerprint } as ClientStart };
}

export function clientStartHello(client: KeyPair, pinnedEdgePk: Uint8Array) {
  const clientNonce = sodium.randombytes_buf(32);
  const msg: Handshake = { type: 'hello', clientPk: client.pk, clientNonce };
  return { msg, state: { clientNonce, edgePk: pinnedEdgePk } as ClientStart };
}

export function clientFinish(edgeId: string, client: KeyPair, state: ClientStart, w: Handshake, helloSeq: bigint,
                             welcomeSeq: bigint): Session {
  if (w.type !== 'welcome') throw new E2eError(w.type === 'reject' ? `e2e: edge refused: ${REJECT_NAMES[w.code]}` : 'e2e: not a welcome');
  if (!eq(w.clientNonce, state.clientNonce)) throw new E2eError('e2e welcome: answers another hello');
  if (state.edgePk) {
    if (!eq(w.edgePk, state.edgePk)) throw new E2eError('e2e welcome: edge key is not the pinned one');
  } else if (!state.edgeFingerprint || !eq(fingerprint(w.edgePk), state.edgeFingerprint)) {
    throw new E2eError("e2e welcome: edge key does not match the link's fingerprint");
  }
  let kx: { sharedRx: Uint8Array; sharedTx: Uint8Array };
  try { kx = sodium.crypto_kx_client_session_keys(client.pk, client.sk, w.edgePk); } catch { throw new E2eError('e2e welcome: unusable edge public key'); }
  const th = transcriptHash(edgeId, client.pk, w.edgePk, state.clientNonce, w.edgeNonce);
  const k = directionKeys(kx.sharedTx, kx.sharedRx, th);
  if (!eq(k.confirm, w.confirm)) throw new E2eError('e2e welcome: key confirmation failed');
  if (state.secret && (!w.pairMac || !eq(w.pairMac, edgePairMac(state.secret, th)))) {
    throw new E2eError('e2e welcome: the edge did not prove the pairing secret');
  }
  return new Session(k.c2e, k.e2c, helloSeq, welcomeSeq);
}

// ---- edge side (the C++ edge is the real one; this twin lets tests run both roles) ----
function edgeAccept(edgeId: string, edge: KeyPair, clientPk: Uint8Array, cn: Uint8Array, helloSeq: bigint, welcomeSeq: bigint,
                    secret: Uint8Array | null) {
  const kx = sodium.crypto_kx_server_session_keys(edge.pk, edge.sk, clientPk);
  const edgeNonce = sodium.randombytes_buf(32);
  const th = transcriptHash(edgeId, clientPk, edge.pk, cn, edgeNonce);
  const k = directionKeys(kx.sharedRx, kx.sharedTx, th);
  const welcome: Handshake = { type: 'welcome', edgePk: edge.pk, clientNonce: cn, edgeNonce, confirm: k.confirm,
    ...(secret ? { pairMac: edgePairMac(secret, th) } : {}) };
  return { welcome, session: new Session(k.e2c, k.c2e, welcomeSeq, helloSeq) };
}

export function edgeAcceptPair(edgeId: string, edge: KeyPair, secret: Uint8Array, m: Handshake, helloSeq: bigint, welcomeSeq: bigint) {
  if (m.type !== 'pair') throw new E2eError('e2e pair: not a pair message');
  if (!eq(pairingId(secret), m.pairId)) throw new E2eError('e2e pair: pairing id mismatch');
  if (!eq(clientPairMac(edgeId, secret, m.clientPk, fingerprint(edge.pk), m.clientNonce), m.mac)) {
    throw new E2eError('e2e pair: MAC does not prove the pairing secret');
  }
  return edgeAccept(edgeId, edge, m.clientPk, m.clientNonce, helloSeq, welcomeSeq, secret);
}

export function edgeAcceptHello(edgeId: string, edge: KeyPair, m: Handshake, helloSeq: bigint, welcomeSeq: bigint) {
  if (m.type !== 'hello') throw new E2eError('e2e: not a hello');
  return edgeAccept(edgeId, edge, m.clientPk, m.clientNonce, helloSeq, welcomeSeq, null);
}
