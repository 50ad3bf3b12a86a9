// Remembers which contact the user picked when a number matched several: per number (E.164),
// kept in a Storage (localStorage in the browser). The remembered choice is applied only while
// that contact is still among the matches.
import type { Contact } from './types';

export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const PREFIX = 'cb.choice.';
const MAX_ENTRIES = 500;
const INDEX_KEY = 'cb.choice.index';

export class ChooserMemory {
  constructor(private readonly store: KeyValueStore, private readonly maxEntries = MAX_ENTRIES) {}

  remember(number: string, contact: Contact): void {
    const key = PREFIX + number;
    this.store.setItem(key, contact.source ? `${contact.source}\u0000${contact.id}` : contact.id);
    // Bounded: the oldest remembered numbers are forgotten first.
    const index = this.index().filter((n) => n !== number);
    index.push(number);
    while (index.length > this.maxEntries) {
      const old = index.shift()!;
      this.store.removeItem(PREFIX + old);
    }
    this.store.setItem(INDEX_KEY, JSON.stringify(index));
  }

  forget(number: string): void {
    this.store.removeItem(PREFIX + number);
    this.store.setItem(INDEX_KEY, JSON.stringify(this.index().filter((n) => n !== number)));
  }

  // The remembered contact among `matches`, or undefined.
  recall(number: string, matches: Contact[]): Contact | undefined {
    const v = this.store.getItem(PREFIX + number);
    if (v == null) return undefined;
    const sep = v.indexOf('\u0000');
    const source = sep >= 0 ? v.slice(0, sep) : undefined;
    const id = sep >= 0 ? v.slice(sep + 1) : v;
    return matches.find((c) => c.id === id && (source === undefined || c.source === source));
  }

  private index(): string[] {
    try {
      const v = JSON.parse(this.store.getItem(INDEX_KEY) ?? '[]');
      return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
    } catch {
      return [];
    }
  }
}

// What the card shows for a set of matches: none -> unknown, one -> it, several -> the
// remembered one or a chooser.
export type Resolution =
  | { kind: 'unknown' }
  | { kind: 'contact'; contact: Contact; remembered: boolean }
  | { kind: 'choose'; options: Contact[] };

export function resolveContact(memory: ChooserMemory, number: string | null, matches: Contact[]): Resolution {
  if (matches.length === 0) return { kind: 'unknown' };
  if (matches.length === 1) return { kind: 'contact', contact: matches[0], remembered: false };
  const r = number ? memory.recall(number, matches) : undefined;
  if (r) return { kind: 'contact', contact: r, remembered: true };
  return { kind: 'choose', options: matches };
}

export class MemoryStore implements KeyValueStore {
  private m = new Map<string, string>();
  getItem(k: string) { return this.m.has(k) ? this.m.get(k)! : null; }
  setItem(k: string, v: string) { this.m.set(k, v); }
  removeItem(k: string) { this.m.delete(k); }
  get size() { return this.m.size; }
}
