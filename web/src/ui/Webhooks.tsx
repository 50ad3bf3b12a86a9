// The admin page's webhooks section (docs/webhooks.md): the tenant's hooks with their events, a test
// ping, the delivery log and deletion; a form for a new hook (URL, events, optional JSON body
// template, description); the new hook's secret shown once with a copy button.
import { useState } from 'preact/hooks';
import { EVENT_TYPES, createWebhook, deleteWebhook, pingWebhook, showDeliveries, webhookFormProblem, webhooks } from '../app/webhooks';
import { fmtTime, setFlash, t } from '../app/state';

async function copy(text: string) {
  try { await navigator.clipboard.writeText(text); setFlash('ok', t('adm.copied')); } catch { setFlash('error', t('adm.copyFailed')); }
}

function NewWebhook() {
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>(['call.ringing', 'call.ended']);
  const [template, setTemplate] = useState('');
  const [description, setDescription] = useState('');
  const problem = url ? webhookFormProblem(url, events, template) : null;
  const toggle = (e: string) => setEvents(events.includes(e) ? events.filter((x) => x !== e) : [...events, e]);
  return (
    <form class="webhook-form" onSubmit={(ev) => {
      ev.preventDefault();
      void createWebhook(url, events, template, description).then((ok) => { if (ok) { setUrl(''); setTemplate(''); setDescription(''); } });
    }}>
      <label for="wh-url">{t('wh.url')}</label>
      <input id="wh-url" type="url" value={url} required placeholder="https://crm.example.com/hooks/callbridge" aria-invalid={problem ? 'true' : undefined}
        aria-describedby={problem ? 'wh-err' : undefined} onInput={(ev) => setUrl((ev.target as HTMLInputElement).value)} />
      <fieldset><legend>{t('wh.events')}</legend>
        {EVENT_TYPES.map((e) => (
          <label key={e} class="check"><input type="checkbox" name="wh-event" value={e} checked={events.includes(e)} onChange={() => toggle(e)} /> {e}</label>))}
      </fieldset>
      <label for="wh-template">{t('wh.template')}</label>
      <textarea id="wh-template" rows={4} value={template} placeholder={'{"phone": "{data.call.connections.0.remote}", "agent": "{data.device}"}'}
        onInput={(ev) => setTemplate((ev.target as HTMLTextAreaElement).value)} />
      <label for="wh-desc">{t('wh.description')}</label>
      <input id="wh-desc" value={description} maxLength={200} onInput={(ev) => setDescription((ev.target as HTMLInputElement).value)} />
      <button type="submit" disabled={!!problem}>{t('wh.create')}</button>
      {problem ? <span class="field-error" id="wh-err">{problem}</span> : null}
    </form>);
}

export function WebhooksSection() {
  if (!webhooks.supported) return null;
  const log = webhooks.log;
  return (
    <section class="webhooks" aria-labelledby="webhooks-h">
      <h3 id="webhooks-h">{t('wh.title')}</h3>
      {webhooks.error ? <p class="flash error">{webhooks.error}</p> : null}
      {webhooks.newSecret ? (
        <div class="flash ok new-token" role="status">
          <p>{t('wh.secretShown', { url: webhooks.newSecret.url })} <code id="webhook-secret">{webhooks.newSecret.secret}</code>{' '}
            <button type="button" id="copy-secret" onClick={() => void copy(webhooks.newSecret!.secret)}>{t('wh.copySecret')}</button></p>
        </div>) : null}
      {webhooks.list && webhooks.list.length ? (
        <div class="table-wrap" tabIndex={0} role="region" aria-label={t('wh.title')}><table class="grid webhooks-table" aria-label={t('wh.title')}>
          <thead><tr><th scope="col">{t('wh.url')}</th><th scope="col">{t('wh.events')}</th><th scope="col">{t('wh.description')}</th><th scope="col"><span class="sr-only">{t('adm.actions')}</span></th></tr></thead>
          <tbody>{webhooks.list.map((h) => (
            <tr key={h.id} data-webhook={h.id}>
              <td><code>{h.url}</code></td><td>{h.events.join(', ')}</td><td>{h.description}</td>
              <td class="row-actions">
                <button type="button" aria-label={t('wh.pingOf', { url: h.url })} onClick={() => void pingWebhook(h.id)}>{t('wh.ping')}</button>
                <button type="button" aria-label={t('wh.logOf', { url: h.url })} onClick={() => void showDeliveries(h.id)}>{t('wh.log')}</button>
                <button type="button" aria-label={t('wh.deleteOf', { url: h.url })} onClick={() => { if (confirm(t('wh.deleteConfirm', { url: h.url }))) void deleteWebhook(h.id); }}>{t('adm.delete')}</button>
              </td>
            </tr>))}</tbody>
        </table></div>) : webhooks.list ? <p class="empty">{t('wh.none')}</p> : <p>…</p>}
      {log ? (
        <div class="webhook-log">
          <h4>{t('wh.logTitle', { id: log.id })}</h4>
          {log.rows.length ? (
            <div class="table-wrap" tabIndex={0} role="region" aria-label={t('wh.logTitle', { id: log.id })}><table class="grid" aria-label={t('wh.logTitle', { id: log.id })}>
              <thead><tr><th scope="col">{t('wh.when')}</th><th scope="col">{t('wh.event')}</th><th scope="col">{t('wh.state')}</th><th scope="col">{t('wh.attempts')}</th><th scope="col">HTTP</th><th scope="col">{t('wh.lastError')}</th></tr></thead>
              <tbody>{log.rows.map((d) => (
                <tr key={d.id} class={`delivery-${d.state}`}><td>{fmtTime(d.updated_at)}</td><td>{d.event_type}</td><td>{t(d.state === 'delivered' ? 'wh.delivered' : d.state === 'failed' ? 'wh.failed' : 'wh.retrying')}</td>
                  <td>{d.attempts}</td><td>{d.http_status ?? '—'}</td><td>{d.last_error ?? ''}</td></tr>))}</tbody>
            </table></div>) : <p class="empty">{t('wh.noDeliveries')}</p>}
        </div>) : null}
      <h4>{t('wh.new')}</h4>
      <NewWebhook />
    </section>);
}
