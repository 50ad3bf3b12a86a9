import { describe, expect, it } from 'vitest';
import { bucketize, chartSvg } from '../../src/lib/chart';
import { dialTarget, displayNumber, formatDuration } from '../../src/lib/phone';

describe('phone helpers', () => {
  it('dial targets from tel:/callto: URIs and free text', () => {
    expect(dialTarget('tel:+49-89-123456')).toBe('+49-89-123456');
    expect(dialTarget('callto://0211%20339903')).toBe('0211 339903');
    expect(dialTarget('tel:+4989123;phone-context=x')).toBe('+4989123');
    expect(dialTarget('  0211 339903-12 ')).toBe('0211 339903-12');
  });
  it('display fallback', () => {
    expect(displayNumber('+4989123456')).toBe('089123456');
    expect(displayNumber('+12125550100')).toBe('+12125550100');
    expect(displayNumber('102')).toBe('102');
    expect(displayNumber(null)).toBe('withheld');
    expect(displayNumber('+4989123456', '49', '089 / 123456')).toBe('089 / 123456');
  });
  it('durations', () => {
    expect(formatDuration(62.4)).toBe('1:02');
    expect(formatDuration(3723)).toBe('1:02:03');
    expect(formatDuration(undefined)).toBe('');
  });
});

describe('chart', () => {
  it('buckets answered vs missed per hour', () => {
    const end = new Date(2026, 10, 22, 14, 30);
    const at = (h: number, m: number) => new Date(2026, 10, 22, h, m).toISOString();
    const e = (h: number, disposition: string) => ({ id: h, party: '100', direction: 'inbound' as const, remote: '+1',
      disposition, started_at: at(h, 5), ended_at: at(h, 6) });
    const b = bucketize([e(14, 'answered'), e(14, 'missed'), e(13, 'answered'), e(3, 'answered')], 'hour', end, 4);
    expect(b.map((x) => [x.label, x.answered, x.missed])).toEqual([['11h', 0, 0], ['12h', 0, 0], ['13h', 1, 0], ['14h', 1, 1]]);
    expect(chartSvg(b)).toContain('aria-label="Calls per bucket: 3 in total"');
  });
});
