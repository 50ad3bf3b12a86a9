import { describe, expect, it } from 'vitest';
import { forwardingBody, forwardingShort, parseCallFeatures } from '../../src/app/call_features';

const ben = {
  user: 'ben', lines: ['101'], available: true, reason: null, dnd: true,
  forwarding: { unconditional: null, busy: '+491701234567', no_answer: '102', no_answer_seconds: 15 },
  follow_me: { enabled: false, number: null, mode: 'parallel', desk_seconds: 15 },
};

describe('call features (DND, forwarding, follow-me)', () => {
  it('parses the server state and keeps nothing it does not know', () => {
    const f = parseCallFeatures(ben);
    expect(f?.dnd).toBe(true);
    expect(f?.forwarding.no_answer).toBe('102');
    expect(f?.forwarding.no_answer_seconds).toBe(15);
    expect(parseCallFeatures({ ...ben, dnd: 'yes', follow_me: { mode: 'random' }, lines: ['101', 5] })).toMatchObject({
      dnd: false, lines: ['101'], follow_me: { enabled: false, mode: 'parallel', desk_seconds: 15 },
    });
    expect(parseCallFeatures(null)).toBeNull();
  });
  it('says why when the PBX cannot carry them', () => {
    const why = "the PBX lacks callbridge's dialplan (contrib/asterisk/callbridge.conf; docs/dialplan.md)";
    const f = parseCallFeatures({ ...ben, available: false, reason: why });
    expect(f?.available).toBe(false);
    expect(f?.reason).toBe(why);
  });
  it('an empty field turns that forwarding off', () => {
    expect(forwardingBody({ unconditional: ' ', busy: ' 0170 1234567 ', no_answer: '', no_answer_seconds: 20 })).toEqual({
      unconditional: null, busy: '0170 1234567', no_answer: null, no_answer_seconds: 20,
    });
  });
  it('the header note names an unconditional destination', () => {
    expect(forwardingShort(parseCallFeatures({ ...ben, forwarding: { ...ben.forwarding, unconditional: '102' } }))).toBe('→ 102');
    expect(forwardingShort(parseCallFeatures(ben))).toBe('→ forwarding on');
    expect(forwardingShort(parseCallFeatures({ ...ben, forwarding: { unconditional: null, busy: null, no_answer: null } }))).toBe('');
  });
});
