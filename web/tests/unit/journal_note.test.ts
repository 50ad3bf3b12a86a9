// The journal's note saving (app/journal saveNote): Enter, the change event and leaving the field
// each call it (Firefox fires no change on Enter in an input outside a form, nor on leaving a field
// a script filled), so one note must be sent once, and an unchanged note not at all.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { noteDrafts, saveNote } from '../../src/app/journal';
import type { JournalEntry } from '../../src/lib/types';

afterEach(() => { vi.unstubAllGlobals(); noteDrafts.clear(); });

const entry = (): JournalEntry => ({ id: 7, party: '100', direction: 'inbound', remote: '+4989123456', disposition: 'answered',
  started_at: '2026-12-06T10:00:00Z', ended_at: '2026-12-06T10:01:00Z', note: '' });

describe('saveNote', () => {
  it('Enter, change and blur with the same text: one PATCH', async () => {
    const f = vi.fn(async () => new Response(JSON.stringify({}), { status: 200, headers: { 'Content-Type': 'application/json' } }));
    vi.stubGlobal('fetch', f);
    const e = entry();
    noteDrafts.set(7, 'invoice 42');
    await Promise.all([saveNote(e, 'invoice 42'), saveNote(e, 'invoice 42')]);  // Enter, then change while the first is on its way
    await saveNote(e, 'invoice 42');  // blur after it was saved
    expect(f).toHaveBeenCalledTimes(1);
    const [url, init] = f.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/v1/journal/7');
    expect(init.method).toBe('PATCH');
    expect(JSON.parse(String(init.body))).toEqual({ note: 'invoice 42' });
    expect(e.note).toBe('invoice 42');
    expect(noteDrafts.has(7)).toBe(false);
  });
  it('an unchanged note is not sent; a changed one again', async () => {
    const f = vi.fn(async () => new Response('{}', { status: 200, headers: { 'Content-Type': 'application/json' } }));
    vi.stubGlobal('fetch', f);
    const e = { ...entry(), note: 'old' };
    await saveNote(e, 'old');
    expect(f).not.toHaveBeenCalled();
    await saveNote(e, 'new');
    await saveNote(e, 'newer');
    expect(f).toHaveBeenCalledTimes(2);
  });
  it('a failed save can be tried again with the same text', async () => {
    const f = vi.fn(async () => new Response(JSON.stringify({ title: 'Service Unavailable' }), { status: 503, headers: { 'Content-Type': 'application/json' } }));
    vi.stubGlobal('fetch', f);
    const e = entry();
    await saveNote(e, 'x');
    await saveNote(e, 'x');
    expect(f).toHaveBeenCalledTimes(2);
    expect(e.note).toBe('');
  });
});
