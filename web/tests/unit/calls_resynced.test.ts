// Cluster mode (issue 19): a call that ended while no node owned its PBX link (the owner was killed
// mid-call, the call hung up before another node took the link) never gets a message about its
// end; the new owner's `calls_resynced` names it in `ended`, and its card must go then, not stay
// until a reload. Nothing about it goes to the journal view (the server journals calls itself).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { onMessage } from '../../src/app/session';
import { live, state } from '../../src/app/state';
import { LiveState } from '../../src/lib/store';
import type { Call } from '../../src/lib/types';

const ringing: Call = {
  id: 'c-ghost', connections: [{ device: '100', state: 'alerting' }, { device: 'PSTN', state: 'connected', remote: '+4989123001' }],
  allowed_actions: { '100': ['answer', 'hangup'] },
};
const talking: Call = {
  id: 'c-live', connections: [{ device: '100', state: 'connected' }, { device: '101', state: 'connected' }],
  allowed_actions: { '100': ['hangup', 'hold'] },
};
const colleague: Call = {
  id: 'c-other-link', connections: [{ device: '102', state: 'connected' }], allowed_actions: {},
};

describe('live state: calls_resynced', () => {
  it('drops the calls it names as ended, and only those', () => {
    const s = new LiveState();
    s.devices = ['100'];
    s.apply({ type: 'snapshot', seq: 1, calls: [ringing, talking, colleague], lines: [] }, 1000);
    s.apply({ type: 'call', seq: 2, event: 'delivered', call: ringing, device: '100' }, 1000);
    expect(s.ringingSince.has('c-ghost')).toBe(true);
    expect(s.meta.has('c-ghost')).toBe(true);
    s.apply({ type: 'calls_resynced', seq: 3, pbx: 'lab', calls: ['c-live'], ended: ['c-ghost', 'c-unknown'] });
    expect([...s.calls.keys()].sort()).toEqual(['c-live', 'c-other-link']);
    expect(s.ringingSince.has('c-ghost')).toBe(false);
    expect(s.meta.has('c-ghost')).toBe(false);
    expect(s.meta.has('c-live')).toBe(true);
    expect(s.incoming(['100'])).toEqual([]);
    expect(s.journal).toEqual([]);
  });
  it('a message without ended (an older server) changes nothing', () => {
    const s = new LiveState();
    s.apply({ type: 'snapshot', seq: 1, calls: [ringing, talking], lines: [] });
    s.apply({ type: 'calls_resynced', seq: 2, pbx: 'lab', calls: ['c-live'] });
    s.apply({ type: 'calls_resynced', seq: 3, pbx: 'lab', calls: [], ended: 'c-ghost' as never });
    expect([...s.calls.keys()].sort()).toEqual(['c-ghost', 'c-live']);
  });
});

describe('page: calls_resynced', () => {
  let seq = 100;
  beforeEach(() => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('{}', { status: 200, headers: { 'Content-Type': 'application/json' } })));
    state.me = { user: 'anna', tenant: 'default', role: 'user', extensions: ['100'] };
    state.journal = [];
    live.devices = ['100'];
    onMessage({ type: 'snapshot', seq: ++seq, calls: [talking], lines: [] });
    onMessage({ type: 'call', seq: ++seq, event: 'delivered', call: ringing, device: '100' });
  });
  afterEach(() => { vi.unstubAllGlobals(); live.calls.clear(); live.ringingSince.clear(); live.meta.clear(); state.alerts = []; });

  it('the ended call\'s card goes, the others stay, the journal view is untouched', () => {
    expect(live.incoming(['100']).map((c) => c.id)).toEqual(['c-ghost']);
    expect(live.mine(['100']).map((c) => c.id).sort()).toEqual(['c-ghost', 'c-live']);
    onMessage({ type: 'calls_resynced', seq: ++seq, pbx: 'lab', calls: ['c-live'], ended: ['c-ghost'] });
    expect(live.incoming(['100'])).toEqual([]);
    expect(live.mine(['100']).map((c) => c.id)).toEqual(['c-live']);
    expect(state.journal).toEqual([]);
  });
});
