// The queue board (app/queues, ui/Queues, ui/AgentControls): waiting callers in position order with
// the directory's contact and their wait, agents in words (paused with the reason, wrap-up, on a
// call), the stream's queue events, pause with a reason / unpause / log out through the API, and
// the header's agent control for the user's own queues.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render as mount } from 'preact';
import { callerText, loadQueues, myAgents, queueEvent, queues, setPaused, waitOf } from '../../src/app/queues';
import { state } from '../../src/app/state';
import type { Queue, QueueAgent } from '../../src/lib/types';
import { AgentControls } from '../../src/ui/AgentControls';
import { QueuesPage } from '../../src/ui/Queues';

const agent = (ext: string, name: string, extra: Partial<QueueAgent> = {}): QueueAgent => ({
  interface: `PJSIP/${ext}`, name, extension: ext, membership: 'dynamic', state: 'available', paused: false, paused_reason: null,
  in_call: false, ringing: false, penalty: 0, calls_taken: 2, last_call: null, last_pause: null, login_time: null,
  wrapup_seconds: 0, wrapup_until: null, ...extra,
});
const joined = new Date(Date.now() - 75_000).toISOString();
const support: Queue = {
  id: 'lab:support', pbx: 'lab', name: 'support', strategy: 'ringall', max: 0, wrapup_seconds: null, waiting: 2, longest_wait: 75,
  answered_today: 12, abandoned_today: 3, pbx_completed: 40, pbx_abandoned: 5, holdtime: 9, talktime: 120,
  callers: [
    { position: 1, channel: 'PJSIP/trunk-1', uniqueid: 'u1', linkedid: 'u1', number: '+4989123456', name: null, joined, wait: 75,
      remote_info: { e164: '+4989123456', extension: null, kind: 'external', display: '089 123456', lookup: 'done',
        contacts: [{ id: 'c1', name: 'Erika Muster', company: 'Muster GmbH' }] } },
    { position: 2, channel: 'PJSIP/trunk-2', uniqueid: 'u2', linkedid: 'u2', number: null, name: null, joined, wait: 10,
      remote_info: { e164: null, extension: null, kind: 'withheld', display: '', lookup: 'none', contacts: [] } },
  ],
  agents: [
    agent('100', 'Anna Alpha', { state: 'paused', paused: true, paused_reason: 'lunch' }),
    agent('101', 'Ben Bravo', { state: 'busy', in_call: true, membership: 'static' }),
  ],
};

let root: HTMLElement;
beforeEach(() => {
  root = document.createElement('div');
  document.body.appendChild(root);
  queues.list = undefined;
  queues.error = undefined;
  state.me = { user: 'anna', tenant: 'default', role: 'user', extensions: ['100'] } as never;
});
afterEach(() => { vi.unstubAllGlobals(); mount(null, root); root.remove(); });

describe('queue board', () => {
  it('shows waiting callers with pop info and agents in words, and follows the stream', async () => {
    const f = vi.fn(async () => new Response(JSON.stringify({ queues: [support] }), { status: 200, headers: { 'Content-Type': 'application/json' } }));
    vi.stubGlobal('fetch', f);
    await loadQueues();
    mount(h(QueuesPage, {}), root);
    const card = root.querySelector('section[data-queue="lab:support"]')!;
    expect(card.querySelector('.waiting')?.textContent).toBe('2');
    expect(card.querySelector('.answered')?.textContent).toBe('12');
    expect(card.querySelector('.abandoned')?.textContent).toBe('3');
    expect(card.querySelector('.longest')?.textContent).toMatch(/^1:1[5-6]$/);
    const first = card.querySelector('tr[data-position="1"]')!;
    expect(first.querySelector('.caller')?.textContent).toBe('Erika Muster Muster GmbH · 089 123456');
    expect(first.querySelector('.wait')?.textContent).toMatch(/^1:1[5-6]$/);
    expect(card.querySelector('tr[data-position="2"] .caller')?.textContent).toBe('Withheld number');
    expect(card.querySelector('tr[data-agent="100"] .agent-state')?.textContent).toBe('paused: lunch');
    expect(card.querySelector('tr[data-agent="101"] .agent-state')?.textContent).toBe('on a call');
    // A user gets buttons for themself only.
    expect(card.querySelector('tr[data-agent="100"] button')).not.toBeNull();
    expect(card.querySelector('tr[data-agent="101"] button')).toBeNull();
    expect(card.querySelector('form.login-other')).toBeNull();  // users log in only themselves (header)

    queueEvent({ type: 'queue', seq: 9, event: 'changed', queue: { ...support, callers: [support.callers[1]],
      agents: [agent('100', 'Anna Alpha'), support.agents[1]] } });
    mount(h(QueuesPage, {}), root);
    expect(root.querySelectorAll('section[data-queue="lab:support"] tr[data-position]').length).toBe(1);
    expect(root.querySelector('tr[data-agent="100"] .agent-state')?.textContent).toBe('available');
    queueEvent({ type: 'queue', seq: 10, event: 'removed', id: 'lab:support', pbx: 'lab', name: 'support' });
    expect(queues.list).toEqual([]);
  });

  it('supervisors log a colleague in from the board', async () => {
    queues.list = [support];
    state.me = { user: 'sup', tenant: 'default', role: 'supervisor', extensions: [] } as never;
    mount(h(QueuesPage, {}), root);
    const f = vi.fn(async (url: string, _init?: RequestInit) => url.endsWith('/members')
      ? new Response(null, { status: 204 })
      : new Response(JSON.stringify({ queues: [support] }), { status: 200, headers: { 'Content-Type': 'application/json' } }));
    vi.stubGlobal('fetch', f);
    const input = root.querySelector('form.login-other input') as HTMLInputElement;
    input.value = '103';
    input.dispatchEvent(new Event('input'));
    await new Promise((r) => setTimeout(r, 0));  // the re-render with the typed value
    (root.querySelector('form.login-other') as HTMLFormElement).dispatchEvent(new Event('submit', { cancelable: true }));
    await vi.waitFor(() => expect(f).toHaveBeenCalled());
    expect(f.mock.calls[0][0]).toBe('/api/v1/queues/support/members');
    expect(JSON.parse(String(f.mock.calls[0][1]?.body))).toEqual({ extension: '103' });
    expect(root.querySelector('tr[data-agent="101"] button')).not.toBeNull();  // every row's buttons
  });

  it('pauses with a reason and unpauses through PATCH', async () => {
    queues.list = [support];
    const f = vi.fn(async (_url: string, _init?: RequestInit) => new Response(null, { status: 204 }));
    vi.stubGlobal('fetch', f);
    expect(await setPaused('support', '100', true, ' coffee ')).toBe(true);
    expect(f.mock.calls[0][0]).toBe('/api/v1/queues/support/members/100');
    expect(f.mock.calls[0][1]?.method).toBe('PATCH');
    expect(JSON.parse(String(f.mock.calls[0][1]?.body))).toEqual({ paused: true, reason: 'coffee' });
    await setPaused('support', '100', false, 'ignored');
    expect(JSON.parse(String(f.mock.calls[1][1]?.body))).toEqual({ paused: false });
  });

  it('says the server\'s problem when a pause is refused', async () => {
    queues.list = [support];
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ type: '/problems/bad-reason', title: 'Bad Request', status: 400,
      detail: 'reason longer than 80 bytes' }), { status: 400, headers: { 'Content-Type': 'application/problem+json' } })));
    expect(await setPaused('support', '100', true, 'x'.repeat(90))).toBe(false);
    expect(state.flash?.text).toContain('reason longer than 80 bytes');
  });

  it('the header control shows my queues and pauses me everywhere', async () => {
    const sales: Queue = { ...support, id: 'lab:sales', name: 'sales', callers: [], agents: [agent('100', 'Anna Alpha')] };
    queues.list = [sales, support];
    expect(myAgents().map(({ queue }) => queue.name)).toEqual(['sales', 'support']);
    mount(h(AgentControls, {}), root);
    expect(root.querySelector('#agent-summary')?.textContent).toBe('My queues: sales: available, support: paused: lunch');
    expect(root.querySelector('#agent-summary')?.getAttribute('data-paused')).toBe('some');
    const f = vi.fn(async (_url: string, _init?: RequestInit) => new Response(null, { status: 204 }));
    vi.stubGlobal('fetch', f);
    (root.querySelector('#agent-pause') as HTMLButtonElement).click();
    await vi.waitFor(() => expect(f).toHaveBeenCalledTimes(1));
    expect(f.mock.calls[0][0]).toBe('/api/v1/queues/sales/members/100');  // support is paused already
  });

  it('helpers: wait from joined, caller without a contact', () => {
    expect(waitOf(support.callers[0], Date.parse(joined) + 5000)).toBe(5);
    expect(callerText({ ...support.callers[0], remote_info: { ...support.callers[0].remote_info!, contacts: [] } }).name).toBe('089 123456');
  });
});
