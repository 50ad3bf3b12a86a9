// The relay's 40-byte data frame header (docs/relay.md "Data frames"), as src/relay/wire encodes it:
// version, kind (1 edge->client, 2 client->edge), flags (bit 0 call_end, bit 1 handshake), payload
// length, 16-byte client id, seq, call tag; big-endian. The e2e layer authenticates these bytes.
export const HEADER_BYTES = 40;
export const KIND_EDGE_TO_CLIENT = 1;
export const KIND_CLIENT_TO_EDGE = 2;
export const FLAG_CALL_END = 1;
export const FLAG_HANDSHAKE = 2;

export interface FrameHeader {
  kind: number;
  flags: number;
  payloadLen: number;
  client: Uint8Array;  // 16 bytes
  seq: bigint;
  callTag: bigint;
}

export function encodeHeader(h: FrameHeader): Uint8Array {
  if (h.client.length !== 16) throw new Error('relay wire: client id must be 16 bytes');
  const out = new Uint8Array(HEADER_BYTES);
  const v = new DataView(out.buffer);
  out[0] = 1;
  out[1] = h.kind;
  v.setUint16(2, h.flags);
  v.setUint32(4, h.payloadLen);
  out.set(h.client, 8);
  v.setBigUint64(24, h.seq);
  v.setBigUint64(32, h.callTag);
  return out;
}

export function decodeHeader(bytes: Uint8Array): FrameHeader {
  if (bytes.length < HEADER_BYTES) throw new Error('relay wire: frame shorter than its header');
  const v = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  if (bytes[0] !== 1) throw new Error(`relay wire: version ${bytes[0]}`);
  const kind = bytes[1];
  if (kind !== KIND_EDGE_TO_CLIENT && kind !== KIND_CLIENT_TO_EDGE) throw new Error(`relay wire: kind ${kind}`);
  const flags = v.getUint16(2);
  if (flags & ~(FLAG_CALL_END | FLAG_HANDSHAKE)) throw new Error('relay wire: unknown flags');
  return { kind, flags, payloadLen: v.getUint32(4), client: bytes.slice(8, 24), seq: v.getBigUint64(24),
    callTag: v.getBigUint64(32) };
}

// A whole binary message: header + payload, length checked.
export function parseFrame(msg: Uint8Array): { header: FrameHeader; headerBytes: Uint8Array; payload: Uint8Array } {
  const header = decodeHeader(msg);
  if (header.payloadLen !== msg.length - HEADER_BYTES) throw new Error('relay wire: payload length mismatch');
  return { header, headerBytes: msg.slice(0, HEADER_BYTES), payload: msg.slice(HEADER_BYTES) };
}

export function joinFrame(headerBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(headerBytes.length + payload.length);
  out.set(headerBytes, 0);
  out.set(payload, headerBytes.length);
  return out;
}
