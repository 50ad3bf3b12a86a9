// The admin's device page (docs/devices.md): every SIP device of the tenant's PBX with extension,
// SIP user, model and firmware (from the User-Agent; the raw text when the format is unknown),
// registration and address, line status, last call and last seen; kept current by the stream's
// device events; a filter; removal from the registry with a confirmation that says what it does.
import { devices, forgetDevice, shownDevices } from '../app/devices';
import { fmtTime, render, t } from '../app/state';
import type { Key } from '../lib/i18n';

export function DevicesPage() {
  const list = devices.list;
  const rows = shownDevices();
  const registered = (list ?? []).filter((d) => d.registration === 'registered').length;
  return (
    <div class="devices">
      <h2 tabIndex={-1}>{t('dev.title')}</h2>
      {devices.error ? <p class="flash error">{devices.error}</p> : null}
      {list ? <p class="hint" id="device-count">{t('dev.count', { n: list.length, reg: registered })}</p> : null}
      <label for="device-filter">{t('dev.filter')}</label>{' '}
      <input id="device-filter" type="search" value={devices.filter} onInput={(ev) => { devices.filter = (ev.target as HTMLInputElement).value; render(); }} />
      {list && rows.length ? (
        <div class="table-wrap" tabIndex={0} role="region" aria-label={t('dev.title')}><table class="grid devices-table" aria-label={t('dev.title')}>
          <thead><tr>
            <th scope="col">{t('dev.device')}</th><th scope="col">{t('dev.ext')}</th><th scope="col">{t('dev.sipUser')}</th>
            <th scope="col">{t('dev.model')}</th><th scope="col">{t('dev.firmware')}</th><th scope="col">{t('dev.registration')}</th>
            <th scope="col">{t('dev.address')}</th><th scope="col">{t('dev.status')}</th><th scope="col">{t('dev.lastCall')}</th>
            <th scope="col">{t('dev.lastSeen')}</th><th scope="col"><span class="sr-only">{t('adm.actions')}</span></th>
          </tr></thead>
          <tbody>{rows.map((d) => (
            <tr key={d.id} data-device={d.id} data-status={d.status} data-registration={d.registration}>
              <td><code>{d.endpoint}</code>{d.pbx ? <span class="hint"> ({d.pbx})</span> : null}</td>
              <td>{d.extension || '—'}</td>
              <td>{d.sip_user || '—'}</td>
              <td class="model">{d.model ? `${d.vendor ? `${d.vendor} ` : ''}${d.model}` : d.user_agent ? <span title={t('dev.rawAgent')}>{d.user_agent}</span> : '—'}</td>
              <td class="firmware">{d.firmware || '—'}</td>
              <td class="registration">{t(`dev.${d.registration === 'static' ? 'static' : d.registration}` as Key)}</td>
              <td class="address">{d.address || '—'}</td>
              <td class={`status status-${d.status}`}>{t(`dev.${d.status}` as Key)}</td>
              <td><code>{d.last_call_id ?? '—'}</code></td>
              <td>{d.last_seen ? fmtTime(d.last_seen) : '—'}</td>
              <td class="row-actions">
                <button type="button" aria-label={t('dev.removeOf', { id: d.id })}
                  onClick={() => { if (confirm(t('dev.removeConfirm', { id: d.id }))) void forgetDevice(d.id); }}>{t('dev.remove')}</button>
              </td>
            </tr>))}</tbody>
        </table></div>) : list ? <p class="empty">{t('dev.none')}</p> : <p>…</p>}
    </div>);
}
