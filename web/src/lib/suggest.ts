// Suggestions for the dial box and the transfer target field: as the user types, the number itself
// (when it looks like one), favorites, colleagues (presence: name or extension) and contacts
// (name, company or number), each a number to dial with who it is. Pure; the contacts come from the
// server's search, the rest from the client's state.
export interface SuggestContact { id: string; name: string; company?: string; source?: string; numbers: { label?: string; number: string }[] }
export interface SuggestLine { device: string; name?: string; state?: string }
export interface Favorite { number: string; name: string }
export interface Suggestion { number: string; label: string; detail: string; kind: 'number' | 'favorite' | 'colleague' | 'contact' }

// Whether the text is meant as a number rather than a name: digits with phone punctuation.
export function looksLikeNumber(q: string): boolean {
  const s = q.trim();
  return /^(tel:|callto:)?[+(]?[0-9][0-9 ()/.\-*#]*$/i.test(s) && /\d/.test(s);
}

const digits = (s: string) => s.replace(/[^0-9+*#]/g, '');
const norm = (s: string) => s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase();

export function suggestions(q: string, contacts: SuggestContact[], lines: SuggestLine[], favorites: Favorite[], max = 8): Suggestion[] {
  const text = q.trim();
  if (!text) return favorites.slice(0, max).map((f) => ({ number: f.number, label: f.name || f.number, detail: f.number, kind: 'favorite' }));
  const out: Suggestion[] = [];
  const seen = new Set<string>();
  const add = (s: Suggestion) => {
    const key = digits(s.number) || s.number;
    if (seen.has(key) || out.length >= max) return;
    seen.add(key);
    out.push(s);
  };
  const isNum = looksLikeNumber(text);
  const qd = digits(text), qn = norm(text);
  const numberMatches = (n: string) => isNum && qd.length >= 2 && digits(n).replace(/^\+\d{2}/, '0').includes(qd.replace(/^\+\d{2}/, '0'));
  const nameMatches = (...fields: (string | undefined)[]) => !isNum && fields.some((f) => f && norm(f).split(/[\s,.-]+/).some((w) => w.startsWith(qn)) || (f && qn.length >= 3 && norm(f).includes(qn)));
  if (isNum) add({ number: text, label: text, detail: '', kind: 'number' });
  for (const f of favorites) if (nameMatches(f.name) || numberMatches(f.number)) add({ number: f.number, label: f.name || f.number, detail: f.number, kind: 'favorite' });
  for (const l of lines) if (nameMatches(l.name, l.device) || (isNum && l.device.startsWith(qd))) add({ number: l.device, label: l.name || l.device, detail: l.device, kind: 'colleague' });
  for (const c of contacts) {
    const byName = nameMatches(c.name, c.company);
    for (const n of c.numbers) if (byName || numberMatches(n.number)) add({ number: n.number, label: c.name, detail: [n.label, n.number, c.company].filter(Boolean).join(' · '), kind: 'contact' });
  }
  return out;
}
