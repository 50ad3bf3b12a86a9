// Whether this page was opened from the cloud relay: a pairing link in the fragment, or keys an
// earlier visit stored (lib/relay/transport.ts). Kept apart so the page loads libsodium only then.
export const RELAY_STORE_KEY = 'cb.relay';

export function relayPending(hash: string, storage: Pick<Storage, 'getItem'>): boolean {
  return hash.startsWith('#pair=') || storage.getItem(RELAY_STORE_KEY) != null;
}
