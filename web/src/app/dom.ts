// The one DOM helper of the client: h(tag, attrs, ...children). Untrusted text always becomes text
// nodes; attributes are set with setAttribute (never innerHTML). Main thread of the page.

export type Child = Node | string | number | null | undefined | false;
// An attribute value: `on*` keys take listeners, `class` a class name, `dataset` data-* values;
// null/undefined/false leave the attribute out, true sets it empty.
export type AttrValue =
  | string | number | boolean | null | undefined
  | ((ev: Event) => unknown)
  | Record<string, string | undefined>;
export type Attrs = Record<string, AttrValue>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'class') el.className = String(v);
    else if (k === 'dataset' && typeof v === 'object') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
