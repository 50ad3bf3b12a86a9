// The parked calls (app/parking, the Parked calls panel of ui/Calls, the call card's Park): the
// list in space order with the contact, who parked it and for how long, the stream's parking
// events, Pick up through the API and its outcomes in words, and the park's space when done.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render as mount } from 'preact';
import { commandOutcome, control } from '../../src/app/commands';
import { loadParking, parkedCaller, parking, parkingEvent, unpark } from '../../src/app/parking';
import { state } from '../../src/app/state';
import { actionsFor } from '../../src/lib/store';
import type { ParkedCall } from '../../src/lib/types';
import { CallsPage } from '../../src/ui/Calls';

const since = new Date(Date.now() - 75_000).toISOString();
const p701: ParkedCall = {
  id: 'lab:default:701', pbx: 'lab', lot: 'default', space: '701', call_id: 'ctilab-1.37', channel: 'PJSIP/trunk-1f',
  number: '+4989123001', name: null, parked_by: '101', since, parked_seconds: 75, times_out_at: null,
  remote_info: { e164: '+4989123001', extension: null, kind: 'external', display: '089 123001', lookup: 'done',
    contacts: [{ id: 'c1', name: 'Erika Muster', company: 'Muster GmbH' }] } as never,
};
const p703: ParkedCall = { ...p701, id: 'lab:default:703', space: '703', call_id: 'x', number: null, remote_info: null, parked_by: null };

function answer(status: number, body: unknown) {
  return vi.fn(async () => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } }));
}

let root: HTMLElement;
beforeEach(() => {
  root = document.createElement('div');
  document.body.appendChild(root);
  parking.list = undefined;
  parking.error = undefined;
  parking.supported = true;
  state.me = { user: 'anna', tenant: 'default', role: 'user', extensions: ['100'] } as never;
});
afterEach(() => { vi.unstubAllGlobals(); mount(null, root); root.remove(); });

describe('parked calls panel', () => {
  it('lists the parked calls by space with the contact, who parked it and for how long, and follows the stream', async () => {
    vi.stubGlobal('fetch', answer(200, { lot: 'default', parked: [p703, p701] }));
    await loadParking();
    mount(h(CallsPage, {}), root);
    const rows = [...root.querySelectorAll('tr[data-space]')];
    expect(rows.map((r) => r.getAttribute('data-space'))).toEqual(['701', '703']);
    expect(rows[0].querySelector('.caller')?.textContent).toBe('Erika Muster Muster GmbH · 089 123001');
    expect(rows[0].querySelector('.by')?.textContent).toBe('101');
    expect(rows[0].querySelector('.for .timer')?.textContent).toMatch(/1:1[5-6]/);
    expect(rows[1].querySelector('.caller')?.textContent).toBe('Withheld number');
    const button = rows[0].querySelector('button.ctl-unpark')!;
    expect(button.getAttribute('aria-label')).toBe('Pick up the call parked at 701: Erika Muster');
    parkingEvent({ type: 'parking', seq: 1, event: 'left', reason: 'retrieved', by: '102', parked_call: p701 });
    parkingEvent({ type: 'parking', seq: 2, event: 'parked', reason: null, by: null, parked_call: { ...p701, id: 'lab:default:702', space: '702' } });
    expect(parking.list!.map((p) => p.space)).toEqual(['702', '703']);
  });
  it('says when nothing is parked, and stays away on a server without parking', async () => {
    vi.stubGlobal('fetch', answer(200, { lot: 'default', parked: [] }));
    await loadParking();
    mount(h(CallsPage, {}), root);
    expect(root.querySelector('section.parked .empty')?.textContent).toBe('No parked calls.');
    vi.stubGlobal('fetch', answer(404, { type: '/problems/not-found', title: 'Not Found', detail: 'no resource at /api/v1/parking' }));
    await loadParking();
    mount(h(CallsPage, {}), root);
    expect(root.querySelector('section.parked')).toBeNull();
  });
  it('a parked caller without a contact shows the number and the PBX name', () => {
    expect(parkedCaller({ ...p701, remote_info: null, name: 'Reception' })).toEqual({ name: '+4989123001', detail: 'Reception' });
  });
});

describe('pick up a parked call', () => {
  it('posts to the space, says the phone rings, and a late pickup says nothing is parked there any more', async () => {
    const f = answer(202, { call_id: 'ctilab-1.37', command_id: 'cmd-9', status: 'submitted' });
    vi.stubGlobal('fetch', f);
    await unpark(p701);
    const [url, init] = f.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/v1/parking/701/pickup');
    expect(init.method).toBe('POST');
    expect(state.flash?.text).toContain('701');
    const before = state.alerts.length;
    commandOutcome({ id: 'cmd-9', action: 'unpark', state: 'failed', call_id: 'ctilab-1.37',
      reason: 'Nothing was parked at 701 any more when your phone (100) answered: someone else picked it up, or the caller hung up.' });
    expect(state.alerts.length).toBe(before + 1);
    expect(state.alerts[state.alerts.length - 1].text).toBe('Nothing is parked at 701 any more: it was picked up, timed out or the caller hung up.');
  });
  it('an empty space (404) says so and drops the row', async () => {
    parking.list = [p701, p703];
    vi.stubGlobal('fetch', answer(404, { type: '/problems/not-found', title: 'Not Found',
      detail: 'Nothing is parked at 701 any more: it was picked up, timed out or the caller hung up.' }));
    await unpark(p701);
    expect(state.alerts[state.alerts.length - 1].text).toContain('Nothing is parked at 701');
    expect(parking.list.map((p) => p.space)).toEqual(['703']);
  });
});

describe('park from the call card', () => {
  it('offers Park after Transfer when allowed, posts it and names the space when done', async () => {
    const call = { id: 'c1', connections: [{ device: '100', state: 'connected', remote: '+4989123001' }],
      allowed_actions: { '100': ['hangup', 'transfer', 'consult', 'park'] } } as never;
    expect(actionsFor(call, '100')).toEqual(['hangup', 'consult', 'transfer', 'park']);
    const f = answer(202, { call_id: 'c1', command_id: 'cmd-10', status: 'submitted' });
    vi.stubGlobal('fetch', f);
    await control(call, '100', 'park');
    const sent = (f.mock.calls as unknown as [string, RequestInit][]).filter(([u]) => u.startsWith('/api/v1/calls/'));
    expect(sent.length).toBe(1);
    expect(sent[0][0]).toBe('/api/v1/calls/c1/park');
    expect(sent[0][1].method).toBe('POST');
    expect(sent[0][1].body).toBe('{}');
    commandOutcome({ id: 'cmd-10', action: 'park', state: 'done', call_id: 'c1', space: '701' });
    expect(state.flash?.text).toMatch(/is parked at 701: pick it up here or dial 701\.$/);
  });
});
