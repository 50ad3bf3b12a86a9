// Tenant UI settings editor (admin page): action links (URL templates) and the HTML card template,
// with a preview rendered exactly as a pop would (escaped values, sanitized HTML). Saved with
// PUT /api/v1/ui-settings; on servers without that endpoint the template can only be overridden
// for this browser (the tenant-wide place is then ui-config.json).
import type { Caller } from '../lib/remote';
import { templateVars } from '../lib/remote';
import { expandUrl, flatten, renderCard, urlTemplateProblem } from '../lib/template';
import type { Contact, UiSettings } from '../lib/types';
import { h } from './dom';
import { alertUser } from './notify';
import { api, errText, render, setFlash, state, tenantConfig } from './state';

let draft: UiSettings | null = null;
let fieldErrors: Record<number, string> = {};
let previewKnown = true;

// The server's answer as UiSettings, whatever it holds (links without label or url are dropped).
export function normalizeSettings(v: unknown): UiSettings {
  const o = v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  const links: unknown[] = Array.isArray(o.action_links) ? o.action_links : [];
  const action_links: UiSettings['action_links'] = [];
  for (const l of links) {
    if (!l || typeof l !== 'object') continue;
    const { label, url } = l as Record<string, unknown>;
    if (typeof label === 'string' && typeof url === 'string') action_links.push({ label, url });
  }
  return { action_links, card_template: typeof o.card_template === 'string' ? o.card_template : '' };
}

// Forget unsaved edits (the server's settings were (re)loaded).
export function discardSettingsDraft() { draft = null; }

function currentSettings(): UiSettings {
  if (state.uiSettings) return state.uiSettings;
  const c = tenantConfig();
  return { action_links: [...(c.actions ?? []), ...(c.unknown_actions ?? [])], card_template: c.card_template ?? '' };
}

const SAMPLE_CALLER: Caller = { key: '+4989123456', e164: '+4989123456', extension: null, kind: 'external', display: '089 123456',
  international: '+49 89 123456', lookup: 'done', contacts: [], fromServer: true };
const SAMPLE_CONTACT: Contact = { id: 'c-17', name: 'Max Muster', company: 'ACME GmbH', source: 'store', match: 'exact', number: '+4989123456' };

function settingsPreview(d: UiSettings): Node[] {
  const contact = previewKnown ? SAMPLE_CONTACT : null;
  const vars = flatten(templateVars(SAMPLE_CALLER, contact, 'sample-call-1'));
  const card = h('div', { class: 'contact' });
  if (contact && d.card_template) card.appendChild(renderCard(d.card_template, vars));
  else if (contact) card.append(h('strong', {}, contact.name), h('div', {}, contact.company ?? ''), h('small', {}, `source: ${contact.source}`));
  else card.append(h('strong', {}, 'unknown'));
  const links = d.action_links.map((l) => ({ l, u: urlTemplateProblem(l.url) ? null : expandUrl(l.url, vars) }));
  const shown: Node[] = [];
  for (const x of links) if (x.u && x.l.label) shown.push(h('a', { href: x.u, target: '_blank', rel: 'noopener noreferrer', class: 'action-link' }, x.l.label));
  const hidden = links.filter((x) => !x.u);
  return [
    h('div', { class: 'card-head' }, h('span', { class: 'number' }, SAMPLE_CALLER.display)),
    card,
    h('div', { class: 'links' }, shown),
    h('p', { class: 'hint' }, hidden.length ? `Hidden for this caller: ${hidden.map((x) => x.l.label || '(no label)').join(', ')}` : ''),
  ];
}

export function uiSettingsSection(): HTMLElement {
  if (!draft) draft = structuredClone(currentSettings());
  const d = draft;
  const onServer = state.uiSettingsState === 'server';
  const preview = h('div', { class: 'card preview', id: 'settings-preview', 'aria-label': 'Preview of a screen pop', role: 'region' });
  const redraw = () => preview.replaceChildren(...settingsPreview(d));
  redraw();
  const rows = d.action_links.map((l, i) => {
    const err = fieldErrors[i];
    return h('fieldset', { class: 'link-row' }, h('legend', { class: 'sr-only' }, `Action link ${i + 1}`),
      h('label', { for: `sl-label-${i}` }, 'Label'),
      h('input', { id: `sl-label-${i}`, value: l.label, required: true, maxlength: 80, oninput: (ev: Event) => { l.label = (ev.target as HTMLInputElement).value; redraw(); } }),
      h('label', { for: `sl-url-${i}` }, 'URL'),
      h('input', { id: `sl-url-${i}`, class: 'url', value: l.url, required: true, 'aria-invalid': err ? 'true' : null, 'aria-describedby': err ? `sl-err-${i}` : null,
        oninput: (ev: Event) => { l.url = (ev.target as HTMLInputElement).value; redraw(); if (fieldErrors[i]) { delete fieldErrors[i]; render(); } } }),
      h('button', { type: 'button', id: `sl-del-${i}`, 'aria-label': `Remove action link ${i + 1}${l.label ? ` (${l.label})` : ''}`,
        onclick: () => { d.action_links.splice(i, 1); fieldErrors = {}; render(); document.getElementById('sl-add')?.focus(); } }, 'Remove'),
      err ? h('span', { class: 'field-error', id: `sl-err-${i}` }, err) : null);
  });
  const save = async () => {
    fieldErrors = {};
    d.action_links.forEach((l, i) => { const p = !l.label.trim() ? 'enter a label' : urlTemplateProblem(l.url); if (p) fieldErrors[i] = p; });
    const bad = Object.keys(fieldErrors).map(Number);
    if (bad.length) {
      render();
      alertUser(`Action link ${bad[0] + 1}: ${fieldErrors[bad[0]]}`);
      document.getElementById(`sl-url-${bad[0]}`)?.focus();
      return;
    }
    const body: UiSettings = { action_links: d.action_links.map((l) => ({ label: l.label.trim(), url: l.url.trim() })), card_template: d.card_template };
    if (onServer) {
      try {
        const r = await api.request<unknown>('PUT', '/api/v1/ui-settings', body);
        state.uiSettings = normalizeSettings(r && typeof r === 'object' && 'action_links' in r ? r : body);
        draft = null;
        setFlash('ok', 'UI settings saved for the tenant');
      } catch (e) { alertUser(`Saving the UI settings failed: ${errText(e)}`); }
    } else {
      localStorage.setItem('cb.cardTemplateOverride', body.card_template);
      setFlash('ok', 'Card template saved for this browser only (the server has no UI settings API)');
    }
  };
  return h('section', { class: 'ui-settings', 'aria-labelledby': 'ui-settings-h' },
    h('h3', { id: 'ui-settings-h' }, 'Screen pop: action links and card template'),
    h('p', { class: 'hint' }, onServer
      ? 'Stored on the server for the whole tenant. Placeholders: {contact.id}, {contact.name}, {contact.company}, {remote.e164}, {remote.display}, {call.id}, … Values are percent-encoded in URLs and HTML-escaped in the card; the card HTML is sanitized (no scripts, styles, forms or event handlers). A link whose placeholders have no value for a caller is hidden.'
      : state.uiSettingsState === 'error'
        ? `The server's UI settings could not be loaded (${state.uiSettingsError}); showing ui-config.json.`
        : 'This server has no UI settings API: the tenant-wide settings come from ui-config.json (docs/web.md). Only a card template override for this browser can be saved here.'),
    h('div', { class: 'link-rows' }, rows.length ? rows : h('p', { class: 'empty' }, 'No action links.')),
    h('button', { type: 'button', id: 'sl-add', disabled: !onServer, onclick: () => { d.action_links.push({ label: '', url: '' }); render(); document.getElementById(`sl-label-${d.action_links.length - 1}`)?.focus(); } }, 'Add link'),
    h('label', { for: 'tpl', class: 'block' }, 'Card template (HTML; {contact.name}, {contact.company}, {contact.source}, {remote.display}, …)'),
    h('textarea', { id: 'tpl', rows: 4, oninput: (ev: Event) => { d.card_template = (ev.target as HTMLTextAreaElement).value; redraw(); } }, d.card_template),
    h('div', { class: 'preview-head' }, h('h4', {}, 'Preview'),
      h('label', { class: 'inline' }, h('input', { type: 'checkbox', id: 'preview-known', checked: previewKnown, onchange: (ev: Event) => { previewKnown = (ev.target as HTMLInputElement).checked; redraw(); } }), ' known caller (Max Muster, ACME GmbH)')),
    preview,
    h('div', { class: 'inline-form' },
      h('button', { type: 'button', id: 'settings-save', class: 'primary', onclick: () => void save() }, onServer ? 'Save for the tenant' : 'Save for this browser'),
      h('button', { type: 'button', id: 'settings-reset', onclick: () => { draft = null; fieldErrors = {}; if (!onServer) localStorage.removeItem('cb.cardTemplateOverride'); render(); } }, onServer ? 'Discard changes' : 'Reset')));
}
