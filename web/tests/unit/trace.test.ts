// The explain trace view (app/trace, ui/TraceDialog; issue 17): admins get an Explain button on
// journal entries, which loads GET /api/v1/calls/{id}/trace and shows the steps per part in the
// parts' order with their times; an expired trace shows the API's words; Close hides it.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render as mount } from 'preact';
import { closeTrace, mayExplain, openTrace, traceGroups, traceView, type CallTrace } from '../../src/app/trace';
import { state } from '../../src/app/state';
import { TraceDialog } from '../../src/ui/TraceDialog';

const trace: CallTrace = {
  call_id: '1795382753.0', first: '2026-12-07T10:01:02.120Z', last: '2026-12-07T10:01:19.004Z', dropped: 2,
  steps: [
    { at: '2026-12-07T10:01:19.004Z', stage: 'journal', what: 'kept', detail: 'party 201, inbound, missed: it rang here and nobody in the conversation answered' },
    { at: '2026-12-07T10:01:02.300Z', stage: 'delivery', what: 'not delivered', detail: "delivered at 201. Sent to nobody. Device 201: no connected client shows it (anna's client disconnected at 2026-12-07T09:58:40.001Z)" },
    { at: '2026-12-07T10:01:02.120Z', stage: 'pbx', what: 'Newchannel', detail: 'Channel=PJSIP/trunk-00000001 CallerIDNum=089123456' },
    { at: '2026-12-07T10:01:03.200Z', stage: 'directory', what: 'timeout', detail: 'source crm: 800 ms, deadline passed' },
    { at: '2026-12-07T10:01:02.150Z', stage: 'directory', what: 'lookup started', detail: 'asking the tenant\'s directories for +4989123456' },
  ],
};

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

let root: HTMLElement;
beforeEach(() => {
  root = document.createElement('div');
  document.body.appendChild(root);
  closeTrace();
});
afterEach(() => { vi.unstubAllGlobals(); mount(null, root); root.remove(); state.me = null; });

describe('explain trace', () => {
  it('groups the steps by part in order, each part by time', () => {
    const g = traceGroups(trace);
    expect(g.map((x) => x.stage)).toEqual(['pbx', 'directory', 'delivery', 'journal']);
    expect(g[1].steps.map((s) => s.what)).toEqual(['lookup started', 'timeout']);
  });

  it('only admins may explain', () => {
    state.me = { user: 'adm', tenant: 'default', role: 'admin', extensions: [] };
    expect(mayExplain()).toBe(true);
    state.me = { user: 'sup', tenant: 'default', role: 'supervisor', extensions: [] };
    expect(mayExplain()).toBe(false);
  });

  it('loads the trace of the call and shows each part with times', async () => {
    const f = vi.fn(async () => json(trace));
    vi.stubGlobal('fetch', f);
    await openTrace('1795382753.0');
    expect(f).toHaveBeenCalledTimes(1);
    expect((f.mock.calls[0] as unknown as [string])[0]).toBe('/api/v1/calls/1795382753.0/trace');
    mount(h(TraceDialog, {}), root);
    const dialog = root.querySelector('[role="dialog"]')!;
    expect(dialog).toBeTruthy();
    const parts = [...root.querySelectorAll('.trace-stage')].map((s) => s.getAttribute('data-stage'));
    expect(parts).toEqual(['pbx', 'directory', 'delivery', 'journal']);
    expect(root.querySelector('.trace-stage[data-stage="pbx"] h4')?.textContent).toBe('PBX events');
    const delivery = root.querySelector('.trace-stage[data-stage="delivery"] li')!;
    expect(delivery.querySelector('time')?.textContent).toBe('10:01:02.300');
    expect(delivery.querySelector('.what')?.textContent).toBe('not delivered');
    expect(delivery.textContent).toContain("anna's client disconnected");
    expect(root.querySelector('.trace-dropped')?.textContent).toContain('2 later steps');
    (root.querySelector('.trace-close') as HTMLButtonElement).click();
    expect(traceView.callId).toBeUndefined();
    mount(h(TraceDialog, {}), root);
    expect(root.querySelector('[role="dialog"]')).toBeNull();
  });

  it('an expired or unknown trace shows the API\'s words', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json({ type: 'about:blank', title: 'Not Found', status: 404,
      detail: 'no trace of call x (unknown, another tenant\'s, or older than the retention window)' }, 404)));
    await openTrace('x');
    mount(h(TraceDialog, {}), root);
    expect(root.querySelector('.trace-error')?.textContent).toContain('older than the retention window');
    expect(root.querySelectorAll('.trace-stage').length).toBe(0);
  });
});
