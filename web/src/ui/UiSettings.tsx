// Tenant UI settings editor (admin page): action links (URL templates, checked as typed) and the
// HTML card template, with a preview rendered exactly as a pop would (escaped values, sanitized
// HTML). Saved with PUT /api/v1/ui-settings; on servers without that endpoint the template can only
// be overridden for this browser (the tenant-wide place is then ui-config.json).
import type { Caller } from '../lib/remote';
import { templateVars } from '../lib/remote';
import { expandUrl, flatten, urlTemplateProblem } from '../lib/template';
import type { Contact, UiSettings } from '../lib/types';
import { alertUser, api, errText, render, setFlash, state, t } from '../app/state';
import { currentSettings, discardSettingsDraft, editor, normalizeSettings } from '../app/ui_settings';
import { SafeHtml } from './common';

const SAMPLE_CALLER: Caller = { key: '+4989123456', e164: '+4989123456', extension: null, kind: 'external', display: '089 123456',
  international: '+49 89 123456', lookup: 'done', contacts: [], fromServer: true };
const SAMPLE_CONTACT: Contact = { id: 'c-17', name: 'Max Muster', company: 'ACME GmbH', source: 'store', match: 'exact', number: '+4989123456' };

// What the server refuses in a card template (docs/api.md "UI settings"), so the preview says it first.
export function templateProblem(tpl: string): string | null {
  const m = /<(script|iframe|object|embed|style)\b|javascript:/i.exec(tpl);
  if (m) return `${m[0].replace(/^</, '<')} is not allowed in the card template`;
  if (new TextEncoder().encode(tpl).length > 16384) return 'the card template is longer than 16 KiB';
  return null;
}

function Preview({ d }: { d: UiSettings }) {
  const contact = editor.previewKnown ? SAMPLE_CONTACT : null;
  const vars = flatten(templateVars(SAMPLE_CALLER, contact, 'sample-call-1'));
  const links = d.action_links.map((l) => ({ l, u: urlTemplateProblem(l.url) ? null : expandUrl(l.url, vars) }));
  const hidden = links.filter((x) => !x.u);
  return (
    <div class="card preview" id="settings-preview" aria-label={t('ui.previewRegion')} role="region">
      <div class="card-head"><span class="number">{SAMPLE_CALLER.display}</span></div>
      <div class="contact">
        {contact && d.card_template ? <SafeHtml template={d.card_template} vars={vars} />
          : contact ? <><strong>{contact.name}</strong><div>{contact.company}</div><small>source: {contact.source}</small></>
          : <strong>unknown</strong>}
      </div>
      <div class="links">{links.filter((x) => x.u && x.l.label).map((x, i) => <a key={i} href={x.u!} target="_blank" rel="noopener noreferrer" class="action-link">{x.l.label}</a>)}</div>
      <p class="hint">{hidden.length ? t('ui.hidden', { links: hidden.map((x) => x.l.label || '(—)').join(', ') }) : ''}</p>
    </div>);
}

export function UiSettingsSection() {
  if (!editor.draft) editor.draft = structuredClone(currentSettings());
  const d = editor.draft;
  const onServer = state.uiSettingsState === 'server';
  const tplProblem = templateProblem(d.card_template);
  const save = async () => {
    editor.fieldErrors = {};
    d.action_links.forEach((l, i) => { const p = !l.label.trim() ? t('ui.needLabel') : urlTemplateProblem(l.url); if (p) editor.fieldErrors[i] = p; });
    const bad = Object.keys(editor.fieldErrors).map(Number);
    if (bad.length) {
      render();
      alertUser(t('ui.linkProblem', { n: bad[0] + 1, problem: editor.fieldErrors[bad[0]] }));
      document.getElementById(`sl-url-${bad[0]}`)?.focus();
      return;
    }
    const body: UiSettings = { action_links: d.action_links.map((l) => ({ label: l.label.trim(), url: l.url.trim() })), card_template: d.card_template };
    if (onServer) {
      try {
        const r = await api.request<unknown>('PUT', '/api/v1/ui-settings', body);
        state.uiSettings = normalizeSettings(r && typeof r === 'object' && 'action_links' in r ? r : body);
        discardSettingsDraft();
        setFlash('ok', t('ui.saved'));
      } catch (e) { alertUser(t('ui.saveFailed', { error: errText(e) })); }
    } else {
      localStorage.setItem('cb.cardTemplateOverride', body.card_template);
      setFlash('ok', t('ui.savedBrowser'));
    }
  };
  return (
    <section class="ui-settings" aria-labelledby="ui-settings-h">
      <h3 id="ui-settings-h">{t('ui.title')}</h3>
      <p class="hint">{onServer ? t('ui.hintServer')
        : state.uiSettingsState === 'error' ? t('ui.hintError', { error: state.uiSettingsError }) : t('ui.hintAbsent')}</p>
      <div class="link-rows">
        {d.action_links.length ? d.action_links.map((l, i) => {
          const err = editor.fieldErrors[i];
          const live = l.url ? urlTemplateProblem(l.url) : null;
          return (
            <fieldset class="link-row" key={i}>
              <legend class="sr-only">{t('ui.link', { n: i + 1 })}</legend>
              <label for={`sl-label-${i}`}>{t('ui.label')}</label>
              <input id={`sl-label-${i}`} value={l.label} required maxLength={64} onInput={(ev) => { l.label = (ev.target as HTMLInputElement).value; render(); }} />
              <label for={`sl-url-${i}`}>{t('ui.url')}</label>
              <input id={`sl-url-${i}`} class="url" value={l.url} required aria-invalid={err || live ? 'true' : undefined} aria-describedby={err || live ? `sl-err-${i}` : undefined}
                onInput={(ev) => { l.url = (ev.target as HTMLInputElement).value; delete editor.fieldErrors[i]; render(); }} />
              <button type="button" id={`sl-del-${i}`} aria-label={`${t('ui.removeOf', { n: i + 1 })}${l.label ? ` (${l.label})` : ''}`}
                onClick={() => { d.action_links.splice(i, 1); editor.fieldErrors = {}; render(); document.getElementById('sl-add')?.focus(); }}>{t('ui.remove')}</button>
              {err || live ? <span class="field-error" id={`sl-err-${i}`}>{err || live}</span> : null}
            </fieldset>);
        }) : <p class="empty">{t('ui.noLinks')}</p>}
      </div>
      <button type="button" id="sl-add" disabled={!onServer} onClick={() => {
        d.action_links.push({ label: '', url: '' }); render();
        requestAnimationFrame(() => document.getElementById(`sl-label-${d.action_links.length - 1}`)?.focus());
      }}>{t('ui.add')}</button>
      <label for="tpl" class="block">{t('ui.template')}</label>
      <textarea id="tpl" rows={4} value={d.card_template} aria-invalid={tplProblem ? 'true' : undefined} aria-describedby={tplProblem ? 'tpl-err' : undefined}
        onInput={(ev) => { d.card_template = (ev.target as HTMLTextAreaElement).value; render(); }} />
      {tplProblem ? <p class="field-error" id="tpl-err">{tplProblem}</p> : null}
      <div class="preview-head"><h4>{t('ui.preview')}</h4>
        <label class="inline"><input type="checkbox" id="preview-known" checked={editor.previewKnown} onChange={(ev) => { editor.previewKnown = (ev.target as HTMLInputElement).checked; render(); }} /> {t('ui.previewKnown')}</label>
      </div>
      <Preview d={d} />
      <div class="inline-form">
        <button type="button" id="settings-save" class="primary" onClick={() => void save()}>{onServer ? t('ui.saveTenant') : t('ui.saveBrowser')}</button>
        <button type="button" id="settings-reset" onClick={() => { discardSettingsDraft(); if (!onServer) localStorage.removeItem('cb.cardTemplateOverride'); render(); }}>{onServer ? t('ui.discard') : t('ui.reset')}</button>
      </div>
    </section>);
}
