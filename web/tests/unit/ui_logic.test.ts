import { describe, expect, it } from 'vitest';
import { errorWords, firstDirection, formatElapsed, missingReasons, stateWord, talkStart } from '../../src/lib/callview';
import { missingKeys, pickLang, translator } from '../../src/lib/i18n';
import { looksLikeNumber, suggestions } from '../../src/lib/suggest';
import { carriedBy, durationEstimated, isUnseenOutcome, missedCount, missedDone, newestFirst, openMissed, recentWith } from '../../src/lib/journalview';
import { faviconHref, pageTitle } from '../../src/lib/badge';
import { DEFAULT_SETTINGS, parseSettings, serverSettings } from '../../src/lib/settings';
import { LiveState } from '../../src/lib/store';
import type { Call, JournalEntry } from '../../src/lib/types';

const call = (own: string, other?: string): Call => ({ id: 'c1', connections: [{ device: '100', state: own }, ...(other ? [{ device: 'ext', state: other }] : [])] });

describe('call state in words', () => {
  it('never CSTA words: ringing, dialing, ringing at the other end, connected, on hold', () => {
    expect(stateWord(call('alerting'), ['100'])).toBe('ringing');
    expect(stateWord(call('initiated'), ['100'])).toBe('dialing');
    expect(stateWord(call('initiated', 'alerting'), ['100'])).toBe('ringingOut');
    expect(stateWord(call('connected', 'alerting'), ['100'])).toBe('ringingOut');
    expect(stateWord(call('connected', 'connected'), ['100'])).toBe('connected');
    expect(stateWord(call('connected'), ['100'])).toBe('connected');
    expect(stateWord(call('held', 'connected'), ['100'])).toBe('held');
    expect(stateWord(call('connected'), ['200'])).toBe('ended');
  });
  it('direction from the first sighting', () => {
    expect(firstDirection({ device: '100', state: 'alerting' })).toBe('in');
    expect(firstDirection({ device: '100', state: 'initiated' })).toBe('out');
    expect(firstDirection({ device: '100', state: 'connected' }, 'originated')).toBe('out');
    expect(firstDirection({ device: '100', state: 'connected' }, 'established')).toBeNull();
  });
  it('timer text and a believable start', () => {
    expect(formatElapsed(133_400)).toBe('02:13');
    expect(formatElapsed(3_723_000)).toBe('1:02:03');
    expect(formatElapsed(-5)).toBe('00:00');
    const now = Date.parse('2026-12-06T12:00:00Z');
    expect(talkStart('2026-12-06T11:59:00Z', now)).toBe(now - 60_000);
    expect(talkStart('2026-11-22T21:26:00Z', now)).toBe(now);  // replayed capture: too old
    expect(talkStart('2026-12-06T13:00:00Z', now)).toBe(now);  // PBX clock ahead
    expect(talkStart(undefined, now)).toBe(now);
  });
  it('the store keeps direction and talk start per call', () => {
    const s = new LiveState();
    s.devices = ['100'];
    const ring: Call = { id: 'x', connections: [{ device: '100', state: 'alerting' }] };
    s.apply({ type: 'call', seq: 1, event: 'delivered', call: ring, device: '100' }, 1000);
    expect(s.meta.get('x')).toEqual({ direction: 'in', connectedAt: null, firstSeen: 1000 });
    s.apply({ type: 'call', seq: 2, event: 'established', call: { id: 'x', connections: [{ device: '100', state: 'connected' }] }, device: '100' }, 5000);
    s.apply({ type: 'call', seq: 3, event: 'held', call: { id: 'x', connections: [{ device: '100', state: 'held' }] }, device: '100' }, 9000);
    expect(s.meta.get('x')?.connectedAt).toBe(5000);
    s.apply({ type: 'call', seq: 4, event: 'connectionCleared', call: { id: 'x', connections: [{ device: '100', state: 'held' }] }, device: '100' }, 9000);
    expect(s.meta.has('x')).toBe(false);
  });
  it('why buttons are missing, in both shapes, junk ignored', () => {
    const c = (u: unknown) => ({ id: 'x', connections: [], unavailable_actions: u }) as unknown as Call;
    expect(missingReasons(c({ '105': { answer: 'this phone cannot be answered from here' } }), '105'))
      .toEqual([{ action: 'answer', reason: 'this phone cannot be answered from here' }]);
    expect(missingReasons(c({ '105': [{ action: 'hold', reason: 'no remote hold' }, { action: 3 }, null] }), '105'))
      .toEqual([{ action: 'hold', reason: 'no remote hold' }]);
    expect(missingReasons(c({ '105': { answer: 1 } }), '105')).toEqual([]);
    expect(missingReasons(c('x'), '105')).toEqual([]);
    expect(missingReasons(c({}), '100')).toEqual([]);
  });
  it('errors in words, not status codes', () => {
    expect(errorWords(409, '/problems/action-not-allowed')).toBe('error.notAllowed');
    expect(errorWords(503, '/problems/pbx-unavailable')).toBe('error.pbx');
    expect(errorWords(400, '/problems/invalid-number')).toBe('error.number');
    expect(errorWords(0, 'network')).toBe('error.network');
    expect(errorWords(401, '')).toBe('error.auth');
    expect(errorWords(503, '/problems/overloaded')).toBe('error.busy');
  });
});

describe('i18n', () => {
  it('German and English, from the setting, else the browser', () => {
    expect(pickLang('auto', ['de-AT', 'en'])).toBe('de');
    expect(pickLang('auto', ['fr-FR', 'en-GB'])).toBe('en');
    expect(pickLang('auto', ['fr'])).toBe('en');
    expect(pickLang('en', ['de-DE'])).toBe('en');
    expect(pickLang(null, ['DE'])).toBe('de');
  });
  it('every English text has a German one, placeholders filled', () => {
    expect(missingKeys()).toEqual([]);
    expect(translator('de')('dial.calling', { number: '0211 1' })).toBe('Rufe 0211 1 an…');
    expect(translator('en')('journal.missedOpen', { n: 3 })).toBe('3 missed calls not called back');
    expect(translator('en')('state.connected')).toBe('Connected');
    expect(translator('de')('disp.parked' as never)).toBe('parked');
  });
});

describe('dial box suggestions', () => {
  const contacts = [{ id: '1', name: 'Max Muster', company: 'ACME', numbers: [{ label: 'work', number: '+4989123456' }, { label: 'mobile', number: '+491701234567' }] },
    { id: '2', name: 'Erika Mustermann', numbers: [{ number: '+4930555' }] }];
  const lines = [{ device: '101', name: 'Ben Bravo' }, { device: '102', name: 'Clara Charlie' }];
  it('numbers vs names', () => {
    expect(looksLikeNumber('0211 339903-12')).toBe(true);
    expect(looksLikeNumber('+49 (89) 123')).toBe(true);
    expect(looksLikeNumber('tel:+4989')).toBe(true);
    expect(looksLikeNumber('Max')).toBe(false);
    expect(looksLikeNumber('')).toBe(false);
  });
  it('a name finds every number of the contact and colleagues by name', () => {
    const s = suggestions('mus', contacts, lines, []);
    expect(s.map((x) => x.number)).toEqual(['+4989123456', '+491701234567', '+4930555']);
    expect(suggestions('ben', contacts, lines, []).map((x) => [x.kind, x.number])).toEqual([['colleague', '101']]);
    expect(suggestions('müs', contacts, lines, []).length).toBe(3);  // accents ignored
    expect(suggestions('xyz', contacts, lines, []).length).toBe(0);
  });
  it('digits find the number (national or international form), the typed number first', () => {
    const s = suggestions('089 123', contacts, lines, []);
    expect(s[0]).toMatchObject({ kind: 'number', number: '089 123' });
    expect(s[1]).toMatchObject({ kind: 'contact', number: '+4989123456', label: 'Max Muster' });
    expect(suggestions('10', contacts, lines, []).map((x) => x.number)).toEqual(['10', '101', '102']);
  });
  it('favorites when empty, no duplicates, bounded', () => {
    const fav = [{ number: '+4989123456', name: 'Max' }];
    expect(suggestions('', contacts, lines, fav)).toEqual([{ number: '+4989123456', label: 'Max', detail: '+4989123456', kind: 'favorite' }]);
    expect(suggestions('max', contacts, lines, fav).filter((x) => x.number === '+4989123456').length).toBe(1);
    expect(suggestions('mus', contacts, lines, [], 2).length).toBe(2);
  });
});

describe('journal view', () => {
  const e = (id: number | undefined, at: string, o: Partial<JournalEntry> = {}): JournalEntry => ({ id: id as number, party: '100', direction: 'inbound', remote: '+4989',
    disposition: 'answered', started_at: at, ended_at: at, ...o });
  it('newest first whatever the order of arrival', () => {
    const list = [e(1, '2026-12-06T10:00:00Z'), e(3, '2026-12-06T12:00:00Z'), e(2, '2026-12-06T11:00:00Z'), e(undefined, '2026-12-06T12:00:00Z')];
    expect(newestFirst(list).map((x) => x.id)).toEqual([undefined, 3, 2, 1]);
  });
  it('a missed call is done after an answered callback, or when the server says so', () => {
    const missed = e(1, '2026-12-06T10:00:00Z', { disposition: 'missed' });
    const other = e(5, '2026-12-06T09:00:00Z', { disposition: 'missed', remote: '+4930' });
    const retry = e(2, '2026-12-06T10:05:00Z', { disposition: 'answered' });  // the caller again: not a callback
    expect(missedDone(missed, [missed, retry])).toBe(false);
    const cb = e(3, '2026-12-06T10:10:00Z', { direction: 'outbound', disposition: 'answered' });
    const unanswered = e(4, '2026-12-06T10:08:00Z', { direction: 'outbound', disposition: 'no_answer' });
    expect(missedDone(missed, [missed, unanswered])).toBe(false);
    expect(missedDone(missed, [missed, cb])).toBe(true);
    expect(openMissed([missed, cb, other])).toEqual([other]);
    expect(missedDone({ ...other, callback_done: true }, [])).toBe(true);
    expect(missedCount(7, [missed])).toBe(7);
    expect(missedCount(undefined, [missed, other])).toBe(2);
    expect(recentWith([missed, cb, other], '+4989').map((x) => x.id)).toEqual([3, 1]);
    expect(recentWith([missed], null)).toEqual([]);
  });
  it('a call that ended unseen is neither missed nor counted, and its estimated durations are marked', () => {
    const unseen = e(1, '2026-12-06T10:00:00Z', { disposition: 'unknown', estimated: ['ended_at', 'disposition'] });
    expect(isUnseenOutcome(unseen)).toBe(true);
    expect(openMissed([unseen])).toEqual([]);
    expect(missedCount(undefined, [unseen])).toBe(0);
    expect(durationEstimated(unseen, 'ring')).toBe(true);   // never answered: its ring ends at the estimated end
    expect(durationEstimated(unseen, 'talk')).toBe(false);
    const talked = e(2, '2026-12-06T10:00:00Z', { answered_at: '2026-12-06T10:00:03Z', estimated: ['ended_at'] });
    expect(durationEstimated(talked, 'ring')).toBe(false);
    expect(durationEstimated(talked, 'talk')).toBe(true);
    expect(durationEstimated(e(3, '2026-12-06T10:00:00Z'), 'ring')).toBe(false);
  });
});

describe('tab signals and settings', () => {
  it('favicon badge and title', () => {
    expect(faviconHref(0)).toBe('/favicon.svg');
    expect(decodeURIComponent(faviconHref(2))).toContain('>2</text>');
    expect(decodeURIComponent(faviconHref(12))).toContain('>9+</text>');
    expect(pageTitle('callbridge', [], (w) => `☎ ${w}`)).toBe('callbridge');
    expect(pageTitle('callbridge', ['Max', 'Erika'], (w) => `☎ ${w}`)).toBe('☎ 2× Max');
  });
  it('settings: bad values fall back to defaults', () => {
    expect(parseSettings({ lang: 'de', theme: 'dark', ring: false })).toEqual({ lang: 'de', theme: 'dark', ring: false, notifications: false });
    expect(parseSettings({ lang: 'fr', theme: 1, ring: 'yes' })).toEqual({ lang: 'auto', theme: 'auto', ring: true, notifications: false });
    expect(parseSettings(null)).toEqual({ lang: 'auto', theme: 'auto', ring: true, notifications: false });
    // The server's defaults (GET /api/v1/me/settings before the user saved anything, docs/api.md)
    // are the browser's: the same switch whether or not the server keeps the settings.
    expect(parseSettings({ ring_sound: true, notifications: false, language: 'auto', theme: 'auto', updated_at: null })).toEqual(DEFAULT_SETTINGS);
    expect(DEFAULT_SETTINGS.notifications).toBe(false);
  });
  it('settings: the server\'s names in and out', () => {
    const s = parseSettings({ language: 'en', theme: 'light', ring_sound: false, notifications: false, updated_at: 'x' });
    expect(s).toEqual({ lang: 'en', theme: 'light', ring: false, notifications: false });
    expect(serverSettings(s)).toEqual({ language: 'en', theme: 'light', ring_sound: false, notifications: false });
  });
});

describe('contact numbers as typed on the contacts page', () => {
  it('"label: number" per line, plain numbers without label, blank lines dropped', async () => {
    const { parseNumbers } = await import('../../src/ui/Contacts');
    expect(parseNumbers('work: 0211 339903-12\n\n+49 171 5550101\nmobile:+491715550102 ')).toEqual([
      { label: 'work', number: '0211 339903-12' }, { label: '', number: '+49 171 5550101' }, { label: 'mobile', number: '+491715550102' }]);
    expect(parseNumbers('')).toEqual([]);
    expect(parseNumbers('(0211) 12: 3')).toEqual([{ label: '', number: '(0211) 12: 3' }]);
  });
});

describe('carriedBy (AnyDevice)', () => {
  const base = { id: 1, party: '103', direction: 'outbound' as const, remote: '+4989123456', disposition: 'answered',
    started_at: '2026-12-07T10:00:00Z', ended_at: '2026-12-07T10:01:00Z' };
  it('names the external device that carried the call, else its number; nothing for the desk phone', () => {
    expect(carriedBy({ ...base, device: { name: 'mobile', number: '+491701234567', private: true } })).toBe('mobile');
    expect(carriedBy({ ...base, device: { name: null, number: '+491701234567', private: true } })).toBe('+491701234567');
    expect(carriedBy(base)).toBeNull();
    expect(carriedBy({ ...base, device: null })).toBeNull();
  });
});
