// The admin page: diagnostics in words and local time (server, PBX links as a readable table,
// directory sources, event stream clients), users (display name, team, extensions, role; create,
// edit, delete, new token), tokens (list, revoke) with a copy button and a sign-in link for a new
// token, the tenant's screen pop settings and webhooks, desktop integration.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { admin, createUser, deleteUser, issueToken, loadAdmin, makeSignInLink, revokeToken, signInLink, updateUser, type AdminUser, type Json } from '../app/admin_data';
import { fmtTime, lang, loc, render, setFlash, t } from '../app/state';
import { UiSettingsSection } from './UiSettings';
import { WebhooksSection } from './Webhooks';

const WORDS: Record<string, string> = {
  version: 'Version', started_at: 'Started', uptime_s: 'Up for', ready: 'Ready', tenant: 'Tenant', address: 'Address',
  requests: 'Requests', connections: 'Connections', open_connections: 'Open connections', rejected_connections: 'Refused connections',
  name: 'Name', state: 'State', connected: 'Connected', peer: 'PBX address', last_error: 'Last error', counters: 'Counters',
  backend: 'Storage', received: 'Entries received', excluded_internal: 'Internal calls left out', excluded_number: 'Numbers left out',
  last_write_failed: 'Last write failed', retention_days: 'Kept for (days)', kind: 'Kind', ok: 'Answered', errors: 'Errors', timeouts: 'Timeouts',
  user: 'User', since: 'Connected since', messages_in: 'Messages in', messages_out: 'Messages out', lookups: 'Lookups', lookups_done: 'Lookups answered',
  numbers: 'Numbers', calls: 'Calls', cached_lookups: 'Cached lookups', http: 'Web server', journal: 'Journal', remote_info: 'Caller lookup',
  directory: 'Directory', pbx: 'PBX links', tenants: 'Tenants', clients: 'Live clients (event stream)', sources: 'Directory sources',
  memory_index: 'Number index', id: 'Id', call_control: 'Call control', journal_received: 'Journal entries', foreign_dropped: 'Foreign events dropped',
};
const WORDS_DE: Record<string, string> = {
  version: 'Version', started_at: 'Gestartet', uptime_s: 'Läuft seit', ready: 'Bereit', tenant: 'Mandant', address: 'Adresse',
  requests: 'Anfragen', connections: 'Verbindungen', open_connections: 'Offene Verbindungen', rejected_connections: 'Abgewiesene Verbindungen',
  name: 'Name', state: 'Zustand', connected: 'Verbunden', peer: 'Adresse der Anlage', last_error: 'Letzter Fehler', counters: 'Zähler',
  backend: 'Speicher', received: 'Empfangene Einträge', excluded_internal: 'Ausgelassene interne Anrufe', excluded_number: 'Ausgelassene Nummern',
  last_write_failed: 'Letztes Schreiben fehlgeschlagen', retention_days: 'Aufbewahrung (Tage)', kind: 'Art', ok: 'Beantwortet', errors: 'Fehler', timeouts: 'Zeitüberschreitungen',
  user: 'Benutzer', since: 'Verbunden seit', messages_in: 'Nachrichten empfangen', messages_out: 'Nachrichten gesendet', lookups: 'Suchen', lookups_done: 'Beantwortete Suchen',
  numbers: 'Nummern', calls: 'Anrufe', cached_lookups: 'Zwischengespeicherte Suchen', http: 'Webserver', journal: 'Journal', remote_info: 'Anruferkennung',
  directory: 'Verzeichnis', pbx: 'Telefonanlagen', tenants: 'Mandanten', clients: 'Verbundene Clients (Ereignisstrom)', sources: 'Verzeichnisquellen',
  memory_index: 'Nummernindex', id: 'Id', call_control: 'Anrufsteuerung', journal_received: 'Journaleinträge', foreign_dropped: 'Fremde Ereignisse verworfen',
};
const word = (k: string) => (lang() === 'de' ? WORDS_DE[k] : undefined) ?? WORDS[k] ?? (k.charAt(0).toUpperCase() + k.slice(1).replace(/_/g, ' '));
const isObj = (v: unknown): v is Json => v != null && typeof v === 'object' && !Array.isArray(v);

function duration(s: number): string {
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min ${Math.floor(s % 60)} s`;
}
export function valueWords(k: string, v: unknown): string {
  if (v == null || v === '') return '—';
  if (typeof v === 'boolean') return v ? (lang() === 'de' ? 'ja' : 'yes') : (lang() === 'de' ? 'nein' : 'no');
  if (typeof v === 'number') return k.endsWith('_s') ? duration(v) : v.toLocaleString(loc());
  if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(v)) return fmtTime(v);
  if (Array.isArray(v)) return v.map((x) => valueWords(k, x)).join(', ');
  if (isObj(v)) return Object.entries(v).map(([a, b]) => `${word(a)}: ${valueWords(a, b)}`).join(' · ');
  return String(v);
}

function KV({ obj, caption }: { obj: Json; caption: string }) {
  const rows = Object.entries(obj).filter(([, v]) => !isObj(v) && !(Array.isArray(v) && v.some(isObj)));
  return <table class="kv" aria-label={caption}><tbody>{rows.map(([k, v]) => <tr key={k}><th scope="row">{word(k)}</th><td>{valueWords(k, v)}</td></tr>)}</tbody></table>;
}
function Rows({ rows, caption }: { rows: unknown[]; caption: string }) {
  if (!rows.length) return <p class="empty">—</p>;
  const cols = [...new Set(rows.flatMap((o) => (isObj(o) ? Object.keys(o) : [])))];
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={caption}><table class="grid" aria-label={caption}>
      <thead><tr>{cols.map((c) => <th scope="col" key={c}>{word(c)}</th>)}</tr></thead>
      <tbody>{rows.map((o, i) => <tr key={i}>{cols.map((c) => <td key={c}>{valueWords(c, isObj(o) ? o[c] : undefined)}</td>)}</tr>)}</tbody>
    </table></div>);
}

function Diagnostics({ d }: { d: Json }) {
  const sections: JSX.Element[] = [<section key="server"><h3>{t('adm.server')}</h3><KV obj={d} caption={t('adm.server')} /></section>];
  for (const [k, v] of Object.entries(d)) {
    if (isObj(v)) {
      const nested = Object.entries(v).filter(([, x]) => Array.isArray(x) && x.some(isObj));
      sections.push(<section key={k}><h3>{word(k)}</h3><KV obj={v} caption={word(k)} />
        {nested.map(([nk, nv]) => <div key={nk}><h4>{word(nk)}</h4><Rows rows={nv as unknown[]} caption={word(nk)} /></div>)}</section>);
    } else if (Array.isArray(v) && (v.length === 0 || v.some(isObj))) {
      sections.push(<section key={k}><h3>{word(k)}</h3><Rows rows={v} caption={word(k)} /></section>);
    }
  }
  return <>{sections}</>;
}

async function copy(text: string) {
  try { await navigator.clipboard.writeText(text); setFlash('ok', t('adm.copied')); } catch { setFlash('error', t('adm.copyFailed')); }
}

const emptyUser: AdminUser = { user: '', role: 'user', extensions: [], display_name: '', team: '' };

function UserForm({ initial, onSave, submit, idPrefix }: { initial: AdminUser; onSave: (u: AdminUser) => void; submit: string; idPrefix: string }) {
  const [u, setU] = useState(initial);
  const [ext, setExt] = useState(initial.extensions.join(', '));
  const extProblem = ext.split(/[ ,]+/).filter(Boolean).find((e) => !/^[A-Za-z0-9*#+_-]{1,32}$/.test(e));
  return (
    <form class="inline-form user-form" onSubmit={(ev) => { ev.preventDefault(); if (!extProblem) onSave({ ...u, extensions: ext.split(/[ ,]+/).filter(Boolean) }); }}>
      <label for={`${idPrefix}-user`}>{t('adm.user')}</label>
      <input id={`${idPrefix}-user`} value={u.user} required disabled={!!initial.user} onInput={(ev) => setU({ ...u, user: (ev.target as HTMLInputElement).value })} />
      <label for={`${idPrefix}-name`}>{t('adm.name')}</label>
      <input id={`${idPrefix}-name`} value={u.display_name} onInput={(ev) => setU({ ...u, display_name: (ev.target as HTMLInputElement).value })} />
      <label for={`${idPrefix}-team`}>{t('adm.team')}</label>
      <input id={`${idPrefix}-team`} value={u.team} onInput={(ev) => setU({ ...u, team: (ev.target as HTMLInputElement).value })} />
      <label for={`${idPrefix}-ext`}>{t('adm.ext')}</label>
      <input id={`${idPrefix}-ext`} value={ext} aria-invalid={extProblem ? 'true' : undefined} aria-describedby={extProblem ? `${idPrefix}-ext-err` : undefined} onInput={(ev) => setExt((ev.target as HTMLInputElement).value)} />
      <label for={`${idPrefix}-role`}>{t('adm.role')}</label>
      <select id={`${idPrefix}-role`} value={u.role} onChange={(ev) => setU({ ...u, role: (ev.target as HTMLSelectElement).value })}>
        {['user', 'supervisor', 'admin'].map((r) => <option key={r} value={r}>{r}</option>)}
      </select>
      <button type="submit" disabled={!!extProblem}>{submit}</button>
      {extProblem ? <span class="field-error" id={`${idPrefix}-ext-err`}>{t('adm.badExt', { ext: extProblem })}</span> : null}
    </form>);
}

export function AdminPage() {
  const d = admin.diag;
  const tokensOf = (user: string) => (admin.tokens ?? []).filter((x) => x.user === user);
  return (
    <div class="admin">
      <h2 tabIndex={-1}>{t('admin.title')}</h2>
      {admin.error ? <p class="flash error">{admin.error}</p> : null}
      <button type="button" onClick={() => void loadAdmin()}>{t('admin.refresh')}</button>
      <section class="users" aria-labelledby="users-h">
        <h3 id="users-h">{t('adm.users')}</h3>
        {admin.newToken ? (
          <div class="flash ok new-token" role="status">
            <p>{t('adm.tokenShown', { user: admin.newToken.user })} <code id="new-token">{admin.newToken.token}</code>{' '}
              <button type="button" id="copy-token" onClick={() => void copy(admin.newToken!.token)}>{t('adm.copyToken')}</button></p>
            <p>{t('adm.signInLink')} <code id="signin-link">{signInLink(admin.newToken.token)}</code>{' '}
              <button type="button" id="copy-link" onClick={() => void copy(signInLink(admin.newToken!.token))}>{t('adm.copyLink')}</button></p>
          </div>) : null}
        {admin.newLink ? (
          <div class="flash ok new-token" role="status">
            <p>{t('adm.linkFor', { user: admin.newLink.user })}{admin.newLink.expires_at ? ` ${t('adm.linkOnce', { time: fmtTime(admin.newLink.expires_at) })}` : ''}: <code id="signin-link">{admin.newLink.url}</code>{' '}
              <button type="button" id="copy-link" onClick={() => void copy(admin.newLink!.url)}>{t('adm.copyLink')}</button></p>
          </div>) : null}
        {admin.users ? (
          <div class="table-wrap" tabIndex={0} role="region" aria-label={t('adm.users')}><table class="grid users-table" aria-label={t('adm.users')}>
            <thead><tr><th scope="col">{t('adm.user')}</th><th scope="col">{t('adm.name')}</th><th scope="col">{t('adm.team')}</th><th scope="col">{t('adm.ext')}</th><th scope="col">{t('adm.role')}</th><th scope="col">{t('adm.tokens')}</th><th scope="col"><span class="sr-only">{t('adm.actions')}</span></th></tr></thead>
            <tbody>{admin.users.map((u) => (
              <tr key={u.user} data-user={u.user}>
                {admin.editing === u.user ? (
                  <td colSpan={7}><UserForm initial={u} submit={t('adm.save')} idPrefix={`edit-${u.user}`} onSave={(x) => void updateUser(u.user, { display_name: x.display_name, team: x.team, extensions: x.extensions, role: x.role })} />
                    {admin.canEditUsers === false ? <p class="hint">{t('adm.cannotEdit')}</p> : null}</td>
                ) : <>
                  <td>{u.user}</td><td>{u.display_name}</td><td>{u.team}</td><td>{u.extensions.join(', ')}</td><td>{u.role}</td>
                  <td><ul class="tokens">{tokensOf(u.user).map((tk) => (
                    <li key={tk.id} class={tk.revoked ? 'revoked' : ''}><code>{tk.id.slice(0, 8)}</code> {tk.created_at ? fmtTime(tk.created_at) : ''}{tk.revoked ? ` (${t('adm.revoked')})` : tk.expires_at ? ` → ${fmtTime(tk.expires_at)}` : ''}
                      {!tk.revoked ? <button type="button" class="link" aria-label={t('adm.revokeOf', { id: tk.id.slice(0, 8), user: u.user })} onClick={() => void revokeToken(tk.id)}>{t('adm.revoke')}</button> : null}</li>))}</ul></td>
                  <td class="row-actions">
                    <button type="button" aria-label={t('adm.editOf', { user: u.user })} onClick={() => { admin.editing = u.user; render(); }}>{t('adm.edit')}</button>
                    <button type="button" aria-label={t('adm.newTokenOf', { user: u.user })} onClick={() => void issueToken(u.user)}>{t('adm.newToken')}</button>
                    <button type="button" aria-label={t('adm.linkOf', { user: u.user })} onClick={() => void makeSignInLink(u.user)}>{t('adm.link')}</button>
                    <button type="button" aria-label={t('adm.deleteOf', { user: u.user })} onClick={() => { if (confirm(t('adm.deleteConfirm', { user: u.user }))) void deleteUser(u.user); }}>{t('adm.delete')}</button>
                  </td></>}
              </tr>))}</tbody>
          </table></div>) : <p>…</p>}
        <h4>{t('adm.newUser')}</h4>
        <UserForm initial={emptyUser} submit={t('adm.create')} idPrefix="new" onSave={(u) => void createUser(u)} />
      </section>
      <UiSettingsSection />
      <WebhooksSection />
      {d ? <Diagnostics d={d} /> : null}
    </div>);
}
