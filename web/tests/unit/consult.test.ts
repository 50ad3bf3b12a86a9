// The consult -> pair flow of app/commands with the event stream of app/session: the consultation
// call joins the pair whichever comes first, the 202 of the consult or the call on the stream (the
// server sends the PBX action before it answers the request, and the stream is another
// connection, so both orders happen: web_e2e_transfer failed 1 run in 8 on the second one).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { control, pairs, targets } from '../../src/app/commands';
import { onMessage } from '../../src/app/session';
import { live, state } from '../../src/app/state';
import type { Call } from '../../src/lib/types';

let seq = 0;
const held: Call = {
  id: 'c-held', connections: [{ device: '100', state: 'held' }, { device: 'PSTN', state: 'connected', remote: '+4989123001' }],
  allowed_actions: { '100': ['hangup', 'consult', 'transfer'] },
};
const consultation: Call = {
  id: 'c-consult', connections: [{ device: '100', state: 'connected' }, { device: '102', state: 'alerting' }],
  allowed_actions: { '100': ['hangup'] },
};
const ringingIn: Call = {
  id: 'c-other', connections: [{ device: '100', state: 'alerting' }, { device: 'PSTN', state: 'connected', remote: '+4930555' }],
  allowed_actions: { '100': ['answer', 'hangup'] },
};
function callEvent(c: Call, event = 'established') { onMessage({ type: 'call', seq: ++seq, event, call: c }); }

// fetch answering POST .../consult when the test says so (the 202 "on its way"); any other request
// of the page (lines, contact lookups) gets an empty answer at once.
function heldAnswer() {
  let answer!: (r: Response) => void;
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  const f = vi.fn((url: string) => url.endsWith('/consult') ? new Promise<Response>((r) => { answer = r; }) : Promise.resolve(json(200, {})));
  vi.stubGlobal('fetch', f);
  return {
    consults: () => f.mock.calls.filter(([url]) => url.endsWith('/consult')).length,
    accept: () => answer(json(202, { call_id: 'c-held', command_id: 'cmd-1', status: 'accepted' })),
    refuse: () => answer(json(409, { type: '/problems/action-not-allowed', title: 'Conflict', detail: 'consult is not allowed now' })),
  };
}

let pbx: ReturnType<typeof heldAnswer>;
beforeEach(() => {
  pbx = heldAnswer();
  state.me = { user: 'anna', tenant: 'default', role: 'user', extensions: ['100'] };
  live.devices = ['100'];
  targets.set('c-held', '102');
  onMessage({ type: 'snapshot', seq: ++seq, calls: [held], lines: [] });
});
afterEach(() => { vi.unstubAllGlobals(); pairs.clear(); live.calls.clear(); state.alerts = []; });

describe('consult: the consultation call joins the pair', () => {
  it('202 first, then the call on the stream', async () => {
    const sent = control(held, '100', 'consult');
    pbx.accept();
    await sent;
    expect(pairs.get('c-held')).toMatchObject({ phase: 'consulting', consultId: null });
    callEvent(consultation, 'originated');
    expect(pairs.get('c-held')).toMatchObject({ phase: 'consulting', consultId: 'c-consult', target: '102' });
  });

  it('the call on the stream first, then the 202', async () => {
    const sent = control(held, '100', 'consult');
    expect(pbx.consults()).toBe(1);
    expect(pairs.get('c-held')?.phase).toBe('requesting');
    callEvent(consultation, 'originated');
    expect(pairs.get('c-held')?.consultId).toBe('c-consult');
    pbx.accept();
    await sent;
    expect(pairs.get('c-held')).toMatchObject({ phase: 'consulting', consultId: 'c-consult', target: '102' });
  });

  it('a call ringing in meanwhile is not the consultation', async () => {
    const sent = control(held, '100', 'consult');
    callEvent(ringingIn, 'delivered');
    callEvent(consultation, 'originated');
    pbx.accept();
    await sent;
    expect(pairs.get('c-held')?.consultId).toBe('c-consult');
  });

  it('a refused consult leaves no pair, even with a call seen meanwhile', async () => {
    const sent = control(held, '100', 'consult');
    callEvent(consultation, 'originated');
    pbx.refuse();
    await sent;
    expect(pairs.has('c-held')).toBe(false);
    expect(state.alerts.at(-1)?.text).toMatch(/consult is not allowed now/);
  });

  it('a consult that fails later (command outcome) leaves no pair', async () => {
    const sent = control(held, '100', 'consult');
    pbx.accept();
    await sent;
    onMessage({ type: 'command', command: { id: 'cmd-1', action: 'consult', state: 'failed', reason: '102 is busy', call_id: 'c-held' } });
    expect(pairs.has('c-held')).toBe(false);
  });
});
