// Number display for the card and lists. The server sends `remote.display` (the tenant's local
// format); this is the fallback for E.164 numbers without it (journal entries, presence), showing
// numbers of the home country in national form, others as international.
export function displayNumber(e164: string | null | undefined, homeCountry = '49', display?: string): string {
  if (display) return display;
  if (!e164) return 'withheld';
  if (!e164.startsWith('+')) return e164;  // internal extension
  const digits = e164.slice(1);
  if (homeCountry && digits.startsWith(homeCountry)) {
    // Without area-code tables the split is unknown: national digits, ungrouped.
    return '0' + digits.slice(homeCountry.length);
  }
  return '+' + digits;
}

// What a `tel:`/`callto:` URI or pasted text asks to dial; the server normalizes the rest.
export function dialTarget(input: string): string {
  let s = input.trim();
  const m = /^(tel|callto|sip):(\/\/)?/i.exec(s);
  if (m) {
    s = s.slice(m[0].length);
    try { s = decodeURIComponent(s); } catch { /* keep as is */ }
    s = s.split(/[;?]/)[0];
  }
  return s.trim();
}

export function formatDuration(seconds: number | undefined | null): string {
  if (seconds == null || !Number.isFinite(seconds)) return '';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}
