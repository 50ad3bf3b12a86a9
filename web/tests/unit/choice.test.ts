// The contact chosen in the screen pop goes to the server during the call (app/caller resolved ->
// sendChoice: PUT /api/v1/calls/{id}/contact), so the call's journal entry gets it even when this
// page is closed before the call ends (issue 13).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { choiceRoute, clearChoice, manualChoice, resolved } from '../../src/app/caller';
import { state } from '../../src/app/state';
import type { Call } from '../../src/lib/types';

function answer(status: number, body: unknown) {
  return vi.fn(async () => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } }));
}
const flush = () => new Promise((r) => setTimeout(r, 0));
// The PUTs among the page's requests (the card also looks the number up: GET /contacts/lookup).
const puts = (f: ReturnType<typeof vi.fn>) => (f.mock.calls as unknown as [string, RequestInit][]).filter(([, init]) => init?.method === 'PUT');
const max = { id: '7', name: 'Max Muster', company: 'ACME', source: 'store' };
const call = (id: string, device: string): Call => ({
  id, connections: [{ device, state: 'alerting', remote: '+4989123456', since: '2026-12-07T00:00:00Z' }],
  allowed_actions: { [device]: ['hangup'] } } as Call);

afterEach(() => { vi.unstubAllGlobals(); manualChoice.clear(); choiceRoute.supported = true; });

describe('the contact chosen in the pop', () => {
  it('is sent once per call while it rings, for the user\'s own calls only', async () => {
    state.me = { user: 'anna', role: 'user', extensions: ['100'], tenant: 'default' } as never;
    const f = answer(200, { call_id: 'c1', device: '100', contact: max });
    vi.stubGlobal('fetch', f);
    manualChoice.set('c1', max);
    resolved(call('c1', '100'));
    resolved(call('c1', '100'));  // a re-render: nothing new to send
    await flush();
    expect(puts(f)).toHaveLength(1);
    const [url, init] = puts(f)[0];
    expect(url).toBe('/api/v1/calls/c1/contact');
    expect(init.method).toBe('PUT');
    expect(JSON.parse(String(init.body))).toEqual({ contact: { id: '7', source: 'store', name: 'Max Muster', company: 'ACME' } });
    manualChoice.set('c2', max);
    resolved(call('c2', '101'));  // a colleague's call a supervisor sees: not the user's to choose
    await flush();
    expect(puts(f)).toHaveLength(1);
    // "Choose another" takes it back on the server; a call never sent is not asked about.
    clearChoice('c1');
    clearChoice('c2');
    await flush();
    expect(puts(f)).toHaveLength(2);
    expect(puts(f)[1][0]).toBe('/api/v1/calls/c1/contact');
    expect(JSON.parse(String(puts(f)[1][1].body))).toEqual({ contact: null });
  });
  it('a server without the route is not asked again', async () => {
    state.me = { user: 'anna', role: 'user', extensions: ['100'], tenant: 'default' } as never;
    const f = answer(404, { type: '/problems/not-found', title: 'Not Found', detail: 'no resource at /api/v1/calls/c3/contact' });
    vi.stubGlobal('fetch', f);
    manualChoice.set('c3', max);
    resolved(call('c3', '100'));
    await flush(); await flush();
    expect(choiceRoute.supported).toBe(false);
    manualChoice.set('c4', max);
    resolved(call('c4', '100'));
    await flush();
    expect(puts(f)).toHaveLength(1);
  });
});
