import { describe, expect, it } from 'vitest';
import { ChooserMemory, MemoryStore, resolveContact } from '../../src/lib/chooser';

const a = { id: 'c-1', name: 'Max Muster', company: 'ACME', source: 'store' };
const b = { id: 'c-2', name: 'Erika Muster', company: 'Beta', source: 'crm' };

describe('chooser memory', () => {
  it('asks to choose among several matches until one is remembered', () => {
    const m = new ChooserMemory(new MemoryStore());
    expect(resolveContact(m, '+49891', [a, b]).kind).toBe('choose');
    m.remember('+49891', b);
    expect(resolveContact(m, '+49891', [a, b])).toEqual({ kind: 'contact', contact: b, remembered: true });
    // per number only
    expect(resolveContact(m, '+49892', [a, b]).kind).toBe('choose');
  });
  it('ignores a remembered contact that no longer matches or comes from another source', () => {
    const m = new ChooserMemory(new MemoryStore());
    m.remember('+1', b);
    expect(resolveContact(m, '+1', [a, { ...b, id: 'c-3' }]).kind).toBe('choose');
    expect(resolveContact(m, '+1', [a, { ...b, source: 'ldap' }]).kind).toBe('choose');
  });
  it('single and no matches', () => {
    const m = new ChooserMemory(new MemoryStore());
    expect(resolveContact(m, '+1', [])).toEqual({ kind: 'unknown' });
    expect(resolveContact(m, null, [a])).toEqual({ kind: 'contact', contact: a, remembered: false });
  });
  it('is bounded, forgetting the oldest numbers', () => {
    const s = new MemoryStore();
    const m = new ChooserMemory(s, 3);
    for (const n of ['1', '2', '3', '4']) m.remember(n, a);
    expect(m.recall('1', [a])).toBeUndefined();
    expect(m.recall('4', [a])).toEqual(a);
    expect(s.size).toBe(4);  // 3 entries + index
    m.forget('4');
    expect(m.recall('4', [a])).toBeUndefined();
  });
  it('survives a corrupt index', () => {
    const s = new MemoryStore();
    s.setItem('cb.choice.index', '{not json');
    const m = new ChooserMemory(s);
    m.remember('+1', a);
    expect(m.recall('+1', [a])).toEqual(a);
  });
});
