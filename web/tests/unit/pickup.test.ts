// The presence page's pickup (app/commands pickupLine): what it sends, and the feature detection
// that hides the button on a server without POST /api/v1/lines/{device}/pickup.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { commandOutcome, pickup, pickupLine } from '../../src/app/commands';
import { state } from '../../src/app/state';

function answer(status: number, body: unknown) {
  return vi.fn(async () => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } }));
}

afterEach(() => { vi.unstubAllGlobals(); pickup.supported = true; });

describe('pickupLine', () => {
  it('posts to the line and says the own phone rings', async () => {
    const f = answer(202, { call_id: 'c1', command_id: 'cmd-1', status: 'submitted' });
    vi.stubGlobal('fetch', f);
    await pickupLine('101', 'Ben');
    expect(f).toHaveBeenCalledTimes(1);
    const [url, init] = f.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/v1/lines/101/pickup');
    expect(init.method).toBe('POST');
    expect(state.flash?.kind).toBe('ok');
    expect(state.flash?.text).toContain('Ben');
    expect(pickup.supported).toBe(true);
  });
  it('a refusal (nothing rings there) keeps the button', async () => {
    vi.stubGlobal('fetch', answer(404, { type: '/problems/not-found', title: 'Not Found', detail: 'No call is ringing at 101 that you could pick up (it may have been answered or ended).' }));
    await pickupLine('101', 'Ben');
    expect(pickup.supported).toBe(true);
  });
  it('a server without the route hides it', async () => {
    vi.stubGlobal('fetch', answer(404, { type: '/problems/not-found', title: 'Not Found', detail: 'no resource at /api/v1/lines/101/pickup' }));
    await pickupLine('101', 'Ben');
    expect(pickup.supported).toBe(false);
  });
});

// Issue 13: the PBX accepts a pickup whatever it finds; when the call stopped ringing before the
// user's phone answered, the command fails "Nothing to pick up" and the page says so in its words.
describe('pickup outcome', () => {
  it('a pickup that found nothing says so and ends "your phone rings"', async () => {
    vi.stubGlobal('fetch', answer(202, { call_id: 'c1', command_id: 'cmd-7', status: 'submitted' }));
    await pickupLine('101', 'Ben');
    expect(state.flash?.kind).toBe('ok');
    const before = state.alerts.length;
    commandOutcome({ id: 'cmd-7', action: 'pickup', state: 'failed', call_id: 'c1',
      reason: 'Nothing to pick up: the call stopped ringing at 101 before your phone (102) answered; it was answered there or ended.' });
    expect(state.alerts.length).toBe(before + 1);
    expect(state.alerts[state.alerts.length - 1].text).toContain('Nothing to pick up at Ben');
    expect(state.flash).toBeNull();
  });
  it('another failure keeps the server\'s reason', async () => {
    vi.stubGlobal('fetch', answer(202, { call_id: 'c1', command_id: 'cmd-8', status: 'submitted' }));
    await pickupLine('101', 'Ben');
    commandOutcome({ id: 'cmd-8', action: 'pickup', state: 'failed', call_id: 'c1',
      reason: 'Your phone (102) did not take the call, so nothing was picked up (Originate failed: busy on PJSIP/102 (OriginateResponse Reason 5)).' });
    expect(state.alerts[state.alerts.length - 1].text).toContain('Your phone (102) did not take the call');
  });
});

// Issue 13: the call card's "Pick up": calls ringing at a colleague's line whose allowed_actions
// offer pickup there, never the user's own calls.
describe('LiveState.pickable', () => {
  it('lists colleagues\' ringing calls that offer pickup, oldest first', async () => {
    const { LiveState } = await import('../../src/lib/store');
    const s = new LiveState();
    const call = (id: string, device: string, state: string, actions: string[], since: string) => ({
      id, connections: [{ device, state, since, remote: '+4989123456' }], allowed_actions: { [device]: actions } });
    s.calls.set('a', call('a', '101', 'alerting', ['hangup', 'deflect', 'pickup'], '2026-12-07T00:00:02Z') as never);
    s.calls.set('b', call('b', '103', 'alerting', ['hangup', 'deflect', 'pickup'], '2026-12-07T00:00:01Z') as never);
    s.calls.set('c', call('c', '104', 'alerting', ['hangup', 'deflect'], '2026-12-07T00:00:00Z') as never);  // no pickup offered
    s.calls.set('d', call('d', '105', 'connected', ['hangup'], '2026-12-07T00:00:00Z') as never);
    s.calls.set('e', call('e', '102', 'alerting', ['hangup', 'deflect', 'pickup'], '2026-12-07T00:00:00Z') as never);  // own
    expect(s.pickable(['102']).map((p) => `${p.call.id}@${p.device}`)).toEqual(['b@103', 'a@101']);
    expect(s.pickable([])).toEqual([]);
  });
});
