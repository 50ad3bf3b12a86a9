// The tab's signals of ringing calls: the favicon with a count badge (an SVG data URL built from the
// served icon's shape) and the title. Pure strings; the page sets them.
const ICON = '<rect width="32" height="32" rx="6" fill="#0b5cad"/><path d="M10 7c1 0 2 3 3 5s-2 3-1 5 3 4 5 5 3-2 5-1 5 2 5 3-2 5-5 5C16 29 3 16 3 10c0-3 4-3 7-3z" fill="#fff"/>';

export function faviconHref(ringing: number): string {
  if (ringing <= 0) return '/favicon.svg';
  const n = ringing > 9 ? '9+' : String(ringing);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">${ICON}<circle cx="23" cy="9" r="9" fill="#d4351c"/>` +
    `<text x="23" y="13.5" font-size="${n.length > 1 ? 10 : 13}" font-family="sans-serif" font-weight="700" text-anchor="middle" fill="#fff">${n}</text></svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

export function pageTitle(base: string, ringingWho: string[], template: (who: string) => string): string {
  if (!ringingWho.length) return base;
  return template(ringingWho.length > 1 ? `${ringingWho.length}× ${ringingWho[0]}` : ringingWho[0]);
}
