import { describe, expect, it } from 'vitest';
import { EventStream, type EventStreamDeps, type SocketLike } from '../../src/lib/events';
import { LiveState, actionsFor, remoteOf } from '../../src/lib/store';

class FakeSocket implements SocketLike {
  onopen: any = null; onmessage: any = null; onclose: any = null; onerror: any = null;
  closed = false;
  constructor(readonly url: string) {}
  close() { this.closed = true; }
  send(m: object) { this.onmessage?.({ data: JSON.stringify(m) }); }
  drop() { this.onclose?.({ code: 1006, reason: 'network lost' }); }
}

// `extra`: more deps (e.g. userChanged).
function harness(extra: Partial<EventStreamDeps> = {}) {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const got: any[] = [];
  const states: string[] = [];
  const s = new EventStream({
    url: async (since) => `ws://x/api/v1/events?ticket=t${since == null ? '' : `&since=${since}`}`,
    open: (u) => { const k = new FakeSocket(u); sockets.push(k); return k; },
    setTimer: (fn, ms) => { timers.push({ fn, ms }); return timers.length; },
    clearTimer: () => {},
    random: () => 0,
    ...extra,
  }, { message: (m, replayed) => got.push({ ...m, replayed }), state: (st) => states.push(st) });
  return { s, sockets, timers, got, states };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('event stream', () => {
  it('a user-changed close reads the user again and reconnects without since (a snapshot)', async () => {
    let reloads = 0;
    const { s, sockets, timers } = harness({ userChanged: async () => { reloads++; } });
    s.start();
    await tick();
    sockets[0].onopen({});
    sockets[0].send({ type: 'snapshot', seq: 41, calls: [], lines: [] });
    sockets[0].send({ type: 'line', seq: 42, device: '101', state: 'busy' });
    sockets[0].onclose({ code: 4001, reason: 'user changed: reconnect' });
    await tick();
    await tick();
    expect(reloads).toBe(1);
    expect(timers).toHaveLength(0);  // at once, no backoff
    expect(sockets).toHaveLength(2);
    expect(sockets[1].url).not.toContain('since');
    sockets[1].onopen({});
    sockets[1].send({ type: 'snapshot', seq: 50, calls: [], lines: [] });
    // A second such close soon after waits like any loss (no tight loop against a server).
    sockets[1].onclose({ code: 4001, reason: 'user changed: reconnect' });
    await tick();
    expect(sockets).toHaveLength(2);
    expect(timers).toHaveLength(1);
    timers[0].fn();
    await tick();
    expect(sockets[2].url).not.toContain('since');
  });

  it('resumes with since=last seq and drops duplicates', async () => {
    const h = harness();
    h.s.start();
    await tick();
    expect(h.sockets[0].url).not.toContain('since');
    h.sockets[0].onopen({});
    h.sockets[0].send({ type: 'snapshot', seq: 41, calls: [], lines: [] });
    h.sockets[0].send({ type: 'line', seq: 42, device: '101', state: 'busy' });
    h.sockets[0].drop();
    expect(h.s.state).toBe('offline');
    expect(h.timers[0].ms).toBe(500);
    h.timers[0].fn();
    await tick();
    expect(h.sockets[1].url).toContain('since=42');
    h.sockets[1].onopen({});
    // the server replays from 42 inclusive by mistake: 42 must not apply twice
    h.sockets[1].send({ type: 'line', seq: 42, device: '101', state: 'busy' });
    h.sockets[1].send({ type: 'line', seq: 43, device: '101', state: 'idle' });
    expect(h.got.map((m) => m.seq)).toEqual([41, 42, 43]);
    expect(h.got[2].replayed).toBe(true);
    expect(h.s.duplicatesDropped).toBe(1);
    expect(h.states).toEqual(['connecting', 'online', 'offline', 'connecting', 'online']);
  });
  it('backs off exponentially with a cap, reset after a successful open', async () => {
    const h = harness();
    h.s.start();
    for (let i = 0; i < 8; i++) {
      await tick();
      h.sockets[i].drop();
      h.timers[i].fn();
    }
    expect(h.timers.map((t) => t.ms)).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    await tick();
    h.sockets[8].onopen({});
    h.sockets[8].drop();
    expect(h.timers[8].ms).toBe(500);
  });
  it('resync clears seq, the next snapshot replaces the state', async () => {
    const h = harness();
    h.s.start();
    await tick();
    h.sockets[0].send({ type: 'snapshot', seq: 5, calls: [], lines: [] });
    h.sockets[0].send({ type: 'resync', seq: 90 });
    expect(h.s.lastSeq).toBeNull();
    h.sockets[0].send({ type: 'snapshot', seq: 90, calls: [], lines: [] });
    expect(h.s.lastSeq).toBe(90);
  });
  it('rejects garbage frames', () => {
    const h = harness();
    expect(h.s.handleFrame('nope')).toBe(false);
    expect(h.s.handleFrame('{"type":"line"}')).toBe(false);
    expect(h.s.handleFrame(new ArrayBuffer(3))).toBe(false);
  });
  it('stop closes and does not reconnect', async () => {
    const h = harness();
    h.s.start();
    await tick();
    h.s.stop();
    expect(h.sockets[0].closed).toBe(true);
    expect(h.timers.length).toBe(0);
  });
});

describe('live state', () => {
  const call = (state: string, allowed: string[]) => ({ id: 'c1', connections: [{ device: '100', state }],
    remote: { number: '+4989123456' }, allowed_actions: { '100': allowed } });
  it('tracks calls through their events and removes cleared ones', () => {
    const s = new LiveState();
    s.apply({ type: 'snapshot', seq: 1, calls: [], lines: [{ device: '100', state: 'idle' }] });
    s.apply({ type: 'call', seq: 2, event: 'delivered', call: call('alerting', ['answer', 'hangup']), device: '100' });
    expect(s.incoming(['100']).length).toBe(1);
    expect(s.incoming(['101']).length).toBe(0);
    s.apply({ type: 'call', seq: 3, event: 'established', call: call('connected', ['hold', 'hangup']), device: '100' });
    expect(s.incoming(['100']).length).toBe(0);
    expect(s.mine(['100']).length).toBe(1);
    s.apply({ type: 'call', seq: 4, event: 'connectionCleared', call: call('connected', []), device: '100' });
    expect(s.calls.size).toBe(0);
    s.apply({ type: 'line', seq: 5, device: '100', state: 'busy' });
    expect(s.lines.get('100')?.state).toBe('busy');
  });
  it('buttons come from allowed_actions only, in a fixed order', () => {
    expect(actionsFor(call('connected', ['transfer', 'hangup', 'bogus', 'hold']), '100')).toEqual(['hangup', 'hold', 'transfer']);
    expect(actionsFor(call('connected', ['hangup']), '101')).toEqual([]);
  });
  it('remote number from the call or from our connection', () => {
    expect(remoteOf({ id: 'x', connections: [{ device: '100', state: 'alerting', remote: '+4989123456' }] }, ['100'])).toBe('+4989123456');
    expect(remoteOf({ id: 'x', remote: { number: '+1' }, connections: [] })).toBe('+1');
    expect(remoteOf({ id: 'x', connections: [{ device: '101', state: 'alerting' }] }, ['101'])).toBeNull();
  });
  it('journal entries are not duplicated', () => {
    const s = new LiveState();
    const e: any = { id: 7, party: '100', direction: 'inbound', remote: '+1', disposition: 'missed', started_at: '', ended_at: '' };
    s.apply({ type: 'journal', seq: 1, entry: e });
    s.apply({ type: 'journal', seq: 2, entry: e });
    expect(s.journal.length).toBe(1);
  });
});
