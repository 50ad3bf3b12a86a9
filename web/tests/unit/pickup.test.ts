// The presence page's pickup (app/commands pickupLine): what it sends, and the feature detection
// that hides the button on a server without POST /api/v1/lines/{device}/pickup.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pickup, pickupLine } from '../../src/app/commands';
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
