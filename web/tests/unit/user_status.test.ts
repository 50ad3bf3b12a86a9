// The users' own status in the client (app/user_status, ui/MyStatus, the presence board): the
// sentence of a pop ("Anna is in a meeting until 14:00"), the end at `until`, the stream's
// user_status events reaching the board, and what the header control sends.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render as mount } from 'preact';
import { effective, mine, saveMyStatus, statusEvent, statusOfExtension, statusSentence, statusShort, statuses, untilIso, untilWords } from '../../src/app/user_status';
import { live, state } from '../../src/app/state';
import type { UserStatus } from '../../src/lib/types';
import { PresencePage } from '../../src/ui/Presence';

const at = (h: number, m: number) => { const d = new Date(2026, 11, 7, h, m, 0, 0); return d; };
const meeting: UserStatus = { status: 'away', note: 'in a meeting', until: at(14, 0).toISOString(), updated_at: at(9, 0).toISOString() };

let root: HTMLElement;
beforeEach(() => {
  root = document.createElement('div');
  document.body.appendChild(root);
  statuses.clear();
  mine.status = undefined;
  live.lines.clear();
  state.me = { user: 'ben', role: 'user', extensions: ['101'], tenant: 'default', display_name: 'Ben' } as never;
});
afterEach(() => { vi.unstubAllGlobals(); mount(null, root); root.remove(); });

describe('user status', () => {
  it('says who is in a meeting until when, and nothing once it ended', () => {
    const now = at(10, 0).getTime();
    expect(statusSentence('Anna', meeting, now)).toMatch(/^Anna is in a meeting until 14:00$/);
    expect(statusSentence('Anna', { ...meeting, note: '' }, now)).toMatch(/^Anna is away until 14:00$/);
    expect(statusSentence('Anna', { ...meeting, status: 'dnd', note: '', until: null }, now)).toBe('Anna is not to be disturbed');
    expect(statusSentence('Anna', meeting, at(14, 0).getTime())).toBe('');
    expect(effective({ ...meeting, status: 'available', note: '', until: null })).toBeNull();
  });

  it('a stream event puts the status on the board and in the pop lookup', () => {
    live.lines.set('100', { device: '100', state: 'idle', name: 'Anna', user: 'anna', team: 'Sales' });
    const later = { ...meeting, until: new Date(Date.now() + 3_600_000).toISOString() };
    statusEvent({ type: 'user_status', seq: 9, user: 'anna', display_name: 'Anna', extensions: ['100'], user_status: later });
    expect(statusOfExtension('100')?.status.note).toBe('in a meeting');
    mount(h(PresencePage, {}), root);
    const li = root.querySelector('button[data-device="100"]')!;
    expect(li.querySelector('.pstatus')?.getAttribute('data-user-status')).toBe('away');
    expect(li.querySelector('.pnote')?.textContent).toBe('in a meeting');
    // Cleared: available again, gone from the board.
    statusEvent({ type: 'user_status', seq: 10, user: 'anna', extensions: ['100'], user_status: { status: 'available', note: '', until: null, updated_at: null } });
    expect(statusOfExtension('100')).toBeNull();
    mount(h(PresencePage, {}), root);
    expect(root.querySelector('button[data-device="100"] .pstatus')).toBeNull();
  });

  it('the header control sends status, note and the next 14:00', async () => {
    let sent: Record<string, unknown> | undefined;
    vi.stubGlobal('fetch', vi.fn(async (_url: string, init: RequestInit = {}) => {
      sent = JSON.parse(String(init.body));
      return new Response(JSON.stringify({ user_status: { status: 'away', note: 'in a meeting', until: sent!.until, updated_at: null } }),
        { status: 200, headers: { 'Content-Type': 'application/json' } });
    }));
    expect(await saveMyStatus('away', ' in a meeting ', '14:00')).toBe(true);
    expect(sent?.status).toBe('away');
    expect(sent?.note).toBe('in a meeting');
    const until = new Date(String(sent?.until));
    expect(until.getHours()).toBe(14);
    expect(until.getTime()).toBeGreaterThan(Date.now());
    expect(mine.status?.note).toBe('in a meeting');
    expect(await saveMyStatus('away', '', 'soon')).toBe(false);
    expect(untilIso('9:30', at(10, 0))).toBe(new Date(2026, 11, 8, 9, 30).toISOString());  // tomorrow
    expect(untilIso('10:30', at(10, 0))).toBe(new Date(2026, 11, 7, 10, 30).toISOString());
  });

  it('an until past midnight reads "tomorrow", later days name their date, all on the 24-hour clock', () => {
    const now = at(22, 47).getTime();
    expect(untilWords(at(23, 30).toISOString(), now)).toBe('23:30');
    expect(untilWords(new Date(2026, 11, 8, 0, 47).toISOString(), now)).toBe('tomorrow 00:47');
    const later = untilWords(new Date(2026, 11, 10, 9, 5).toISOString(), now);
    expect(later).toMatch(/^\S+ 09:05$/);
    expect(later).not.toMatch(/AM|PM|tomorrow/);
    expect(statusShort({ status: 'away', note: '', until: new Date(2026, 11, 8, 0, 47).toISOString(), updated_at: null }, now))
      .toBe('Away until tomorrow 00:47');
  });
});

describe('user status in a pop', () => {
  it('a call from a colleague says their status on the card', async () => {
    const { CallsPage } = await import('../../src/ui/Calls');
    live.lines.set('100', { device: '100', state: 'busy', name: 'Anna', user: 'anna', team: 'Sales' });
    statuses.clear();
    const later = new Date(Date.now() + 3_600_000);
    statusEvent({ type: 'user_status', seq: 3, user: 'anna', display_name: 'Anna', extensions: ['100'],
      user_status: { status: 'away', note: 'in a meeting', until: later.toISOString(), updated_at: null } });
    live.apply({ type: 'call', seq: 4, event: 'delivered', device: '101',
      call: { id: 'c1', tenant: 'default', created_at: new Date().toISOString(),
        connections: [{ device: '100', state: 'connected', remote: '101' }, { device: '101', state: 'alerting', remote: '100',
          remote_info: { kind: 'internal', extension: '100', display: '100', lookup: 'none', contacts: [] } }] } } as never);
    mount(h(CallsPage, {}), root);
    const line = root.querySelector('article[data-call-id="c1"] .colleague-status');
    const hhmm = `${String(later.getHours()).padStart(2, '0')}:${String(later.getMinutes()).padStart(2, '0')}`;
    const day = later.toDateString() === new Date().toDateString() ? '' : 'tomorrow ';  // an hour from 23:30 is tomorrow
    expect(line?.textContent).toBe(`Anna is in a meeting until ${day}${hhmm}`);
    live.calls.clear();
  });
});
