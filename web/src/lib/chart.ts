// Calls per hour or per day, answered vs missed, from journal entries; rendered as a small SVG
// bar chart (no library). Buckets use the browser's local time.
import type { JournalEntry } from './types';

export interface Bucket { label: string; start: number; answered: number; missed: number }

const MISSED = new Set(['missed', 'no_answer', 'busy', 'failed', 'rejected']);

export function isMissed(e: JournalEntry): boolean {
  return e.direction === 'inbound' ? e.disposition === 'missed' : false;
}

export function bucketize(entries: JournalEntry[], unit: 'hour' | 'day', end: Date, count: number): Bucket[] {
  const step = unit === 'hour' ? 3600_000 : 86_400_000;
  const last = new Date(end);
  if (unit === 'hour') last.setMinutes(0, 0, 0); else last.setHours(0, 0, 0, 0);
  const buckets: Bucket[] = [];
  for (let i = count - 1; i >= 0; i--) {
    const d = new Date(last);
    if (unit === 'hour') d.setHours(d.getHours() - i); else d.setDate(d.getDate() - i);
    const label = unit === 'hour' ? `${String(d.getHours()).padStart(2, '0')}h` : `${d.getMonth() + 1}/${d.getDate()}`;
    buckets.push({ label, start: d.getTime(), answered: 0, missed: 0 });
  }
  for (const e of entries) {
    const t = Date.parse(e.started_at);
    if (Number.isNaN(t)) continue;
    // Find the bucket (DST-safe: compare against starts, not arithmetic).
    for (let i = buckets.length - 1; i >= 0; i--) {
      const next = i + 1 < buckets.length ? buckets[i + 1].start : buckets[i].start + step;
      if (t >= buckets[i].start && t < next) {
        if (e.disposition === 'answered') buckets[i].answered++;
        else if (MISSED.has(e.disposition)) buckets[i].missed++;
        break;
      }
    }
  }
  return buckets;
}

export function chartSvg(buckets: Bucket[], width = 320, height = 90): string {
  const max = Math.max(1, ...buckets.map((b) => b.answered + b.missed));
  const bw = width / Math.max(1, buckets.length);
  const plot = height - 14;
  let bars = '';
  buckets.forEach((b, i) => {
    const x = (i * bw).toFixed(1);
    const ha = (b.answered / max) * plot, hm = (b.missed / max) * plot;
    const w = Math.max(1, bw - 2).toFixed(1);
    bars += `<g><title>${b.label}: ${b.answered} answered, ${b.missed} missed</title>` +
      `<rect class="bar-answered" x="${x}" y="${(plot - ha).toFixed(1)}" width="${w}" height="${ha.toFixed(1)}"/>` +
      `<rect class="bar-missed" x="${x}" y="${(plot - ha - hm).toFixed(1)}" width="${w}" height="${hm.toFixed(1)}"/></g>`;
    if (buckets.length <= 12 || i % Math.ceil(buckets.length / 8) === 0)
      bars += `<text x="${x}" y="${height - 2}" class="axis">${b.label}</text>`;
  });
  const total = buckets.reduce((a, b) => a + b.answered + b.missed, 0);
  return `<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="Calls per bucket: ${total} in total">${bars}</svg>`;
}
