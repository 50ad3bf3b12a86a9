// Per-tenant action links (URL templates) and admin-customizable HTML card templates.
// Values from contact/call data are untrusted: in URLs they are percent-encoded, in HTML they are
// escaped, and the admin's template itself passes an allowlist sanitizer (no script, no event
// handlers, no javascript: URLs), so neither the admin template nor contact data can inject script.

export type Vars = Record<string, string | number | null | undefined>;

const PLACEHOLDER = /\{\{?\s*([a-zA-Z_][a-zA-Z0-9_.]*)\s*\}?\}/g;

// Flattens {contact: {id: 1}} into {"contact.id": "1"}.
export function flatten(obj: unknown, prefix = '', out: Vars = {}): Vars {
  if (obj == null || typeof obj !== 'object') return out;
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v != null && typeof v === 'object' && !Array.isArray(v)) flatten(v, key, out);
    else if (typeof v === 'string' || typeof v === 'number') out[key] = v;
    else if (typeof v === 'boolean') out[key] = String(v);
  }
  return out;
}

const SAFE_URL = /^(https?:|tel:|callto:|mailto:)/i;

// `https://crm.example/contacts/{contact.id}` -> the URL with encoded values, or null when the
// template references a value that is missing (the action is then hidden) or is not http(s)/tel/mailto.
export function expandUrl(template: string, vars: Vars): string | null {
  let missing = false;
  const url = template.replace(PLACEHOLDER, (_m, name: string) => {
    const v = vars[name];
    if (v == null || v === '') { missing = true; return ''; }
    return encodeURIComponent(String(v));
  });
  if (missing) return null;
  if (!SAFE_URL.test(url.trim())) return null;
  return url;
}

// Placeholders the client fills (see remote.ts templateVars).
export const KNOWN_VARS = ['contact.id', 'contact.name', 'contact.company', 'contact.source', 'contact.match', 'contact.number',
  'remote.e164', 'remote.extension', 'remote.display', 'remote.international', 'remote.kind', 'remote.number', 'call.id'];

// Why an action link URL template would never be shown, or null when it is fine.
export function urlTemplateProblem(template: string): string | null {
  const t = template.trim();
  if (!t) return 'enter a URL';
  const unknown = [...t.matchAll(PLACEHOLDER)].map((m) => m[1]).filter((n) => !KNOWN_VARS.includes(n));
  if (unknown.length) return `unknown placeholder {${unknown[0]}}`;
  if (!SAFE_URL.test(t.replace(PLACEHOLDER, 'x'))) return 'must start with https://, http://, tel:, callto: or mailto:';
  return null;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`=]/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Replaces {{name}} with the HTML-escaped value (empty when missing).
export function fillHtml(template: string, vars: Vars): string {
  return template.replace(PLACEHOLDER, (_m, name: string) => {
    const v = vars[name];
    return v == null ? '' : escapeHtml(String(v));
  });
}

const ALLOWED_TAGS = new Set([
  'div', 'span', 'p', 'b', 'strong', 'i', 'em', 'small', 'br', 'ul', 'ol', 'li', 'dl', 'dt', 'dd',
  'a', 'h3', 'h4', 'table', 'tr', 'td', 'th', 'tbody', 'thead', 'code', 'mark', 'hr',
]);
const ALLOWED_ATTRS = new Set(['class', 'href', 'title', 'target', 'rel', 'aria-label', 'role', 'lang', 'dir']);

// Sanitizes an HTML fragment by walking a parsed DOM and keeping only allowlisted elements and
// attributes. Elements not allowed are replaced by their (sanitized) children, except for the
// dangerous ones (script, style, iframe, ...) which are dropped with their content.
export function sanitizeHtml(html: string, doc: Document = document): DocumentFragment {
  const tpl = doc.createElement('template');
  tpl.innerHTML = html;
  const out = doc.createDocumentFragment();
  const DROP = new Set(['script', 'style', 'iframe', 'object', 'embed', 'template', 'noscript', 'svg', 'math', 'link', 'meta', 'base', 'form', 'input', 'textarea', 'select', 'button']);
  const copy = (src: Node, dst: Node) => {
    for (const child of Array.from(src.childNodes)) {
      if (child.nodeType === 3) {
        dst.appendChild(doc.createTextNode(child.textContent ?? ''));
      } else if (child.nodeType === 1) {
        const el = child as Element;
        const tag = el.tagName.toLowerCase();
        if (DROP.has(tag)) continue;
        if (!ALLOWED_TAGS.has(tag)) { copy(el, dst); continue; }
        const clean = doc.createElement(tag);
        for (const attr of Array.from(el.attributes)) {
          const name = attr.name.toLowerCase();
          if (!ALLOWED_ATTRS.has(name)) continue;
          if (name === 'href' && !SAFE_URL.test(attr.value.trim())) continue;
          clean.setAttribute(name, attr.value);
        }
        if (tag === 'a') {
          if (clean.getAttribute('target') === '_blank' || clean.hasAttribute('href')) {
            clean.setAttribute('rel', 'noopener noreferrer');
          }
        }
        copy(el, clean);
        dst.appendChild(clean);
      }
    }
  };
  copy(tpl.content, out);
  return out;
}

export function renderCard(template: string, vars: Vars, doc: Document = document): DocumentFragment {
  return sanitizeHtml(fillHtml(template, vars), doc);
}
