// Moving a call between the user's devices (AnyDevice; docs/api.md POST /api/v1/calls/{id}/move):
// the call card of a connected call offers "On <device>" for each external device the tenant
// allows and "Back to desk phone"; each posts the move, and the outcome is said in words.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render as mount } from 'preact';
import { commandOutcome } from '../../src/app/commands';
import { live, state } from '../../src/app/state';
import { CallsPage } from '../../src/ui/Calls';

function answer(status: number, body: unknown) {
  return vi.fn(async () => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } }));
}

function call(st: string) {
  live.apply({ type: 'call', seq: 1, event: st === 'connected' ? 'established' : 'delivered', device: '100',
    call: { id: 'c1', tenant: 'default', created_at: new Date().toISOString(),
      connections: [{ device: '100', state: st, remote: '+4989123001' }],
      allowed_actions: { '100': ['hangup'] } } } as never);
}

let root: HTMLElement;
beforeEach(() => {
  root = document.createElement('div');
  document.body.appendChild(root);
  state.me = { user: 'anna', tenant: 'default', role: 'user', extensions: ['100'] } as never;
  state.streamState = { ...state.streamState, state: 'online' } as never;  // offline: the buttons are inert
  state.myDevices = { user: 'anna', active: '100', chosen: false, max_external: 5, devices: [
    { name: '100', kind: 'desk', number: '' },
    { name: 'mobile', kind: 'external', number: '+491701234567', private: true, allowed: true },
    { name: 'premium', kind: 'external', number: '+4990012345', allowed: false, reason: 'deny pattern' }] };
});
const streamState = state.streamState;
afterEach(() => {
  vi.unstubAllGlobals(); mount(null, root); root.remove(); live.calls.clear(); state.myDevices = null;
  state.streamState = streamState;
});

describe('move a call to another device', () => {
  it('offers the allowed external devices and the desk phone on a connected call, and posts the move', async () => {
    call('connected');
    mount(h(CallsPage, {}), root);
    const buttons = [...root.querySelectorAll('article[data-call-id="c1"] .move-controls button')];
    expect(buttons.map((b) => b.textContent)).toEqual(['On mobile', 'Back to desk phone']);
    // The visible text starts the accessible name (axe label-content-name-mismatch, web_e2e_demo).
    expect(buttons.every((b) => b.getAttribute('aria-label')!.startsWith(b.textContent!))).toBe(true);
    expect(buttons.every((b) => !(b as HTMLButtonElement).disabled)).toBe(true);
    expect(buttons[0].getAttribute('aria-label')).toBe(
      'On mobile (+491701234567): take this call there; it rings and takes over when you answer');
    const f = answer(202, { call_id: 'c1', command_id: 'cmd-7', status: 'submitted' });
    vi.stubGlobal('fetch', f);
    (buttons[0] as HTMLButtonElement).click();
    await vi.waitFor(() => expect(f).toHaveBeenCalled());
    const [url, init] = f.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/v1/calls/c1/move');
    expect(init.method).toBe('POST');
    expect(init.body).toBe('{"device":"mobile"}');
    const before = state.alerts.length;
    commandOutcome({ id: 'cmd-7', action: 'move', state: 'failed', call_id: 'c1',
      reason: 'Your device mobile did not take the call, so it stays where it was (Originate failed: busy).' });
    expect(state.alerts.length).toBe(before + 1);
    expect(state.alerts[state.alerts.length - 1].text).toContain('Your device mobile did not take the call');
    (buttons[1] as HTMLButtonElement).click();
    await vi.waitFor(() => expect(f).toHaveBeenCalledTimes(2));
    expect((f.mock.calls[1] as unknown as [string, RequestInit])[1].body).toBe('{"device":"100"}');
  });
  it('offers nothing while the call rings, or to a user without external devices', () => {
    call('alerting');
    mount(h(CallsPage, {}), root);
    expect(root.querySelector('article[data-call-id="c1"]')).not.toBeNull();
    expect(root.querySelector('.move-controls')).toBeNull();
    live.calls.clear();
    call('connected');
    state.myDevices = { user: 'anna', active: '100', chosen: false, max_external: 5, devices: [{ name: '100', kind: 'desk', number: '' }] };
    mount(h(CallsPage, {}), root);
    expect(root.querySelector('.move-controls')).toBeNull();
  });
});
