// AnyDevice in the header: the active device at all times, a one-click switch between the user's
// devices (a select: each option is one device) and a button to the devices dialog, where external
// devices are added (name and number) and removed. Only when the server has the routes.
import { useEffect, useRef, useState } from 'preact/hooks';
import { addMyDevice, removeMyDevice, useMyDevice, validDeviceName } from '../app/any_device';
import { render, state, t } from '../app/state';
import type { UserDevice } from '../lib/types';

function label(d: UserDevice): string {
  return d.kind === 'desk' ? t('anydev.desk', { name: d.name }) : t('anydev.external', { name: d.name, number: d.number });
}

export function DeviceSwitch() {
  const d = state.myDevices;
  if (!d) return null;
  const active = d.devices.find((x) => x.name === d.active);
  const open = () => { state.myDevicesOpen = true; render(); };
  return (
    <span class="mydev-switch">
      <label for="active-device" class="mydev-label">{active?.kind === 'external' ? '📱' : '☎'} {t('anydev.active')}</label>
      <select id="active-device" value={d.active ?? ''} title={active ? label(active) : ''}
        onChange={(ev) => void useMyDevice((ev.target as HTMLSelectElement).value)}>
        {d.devices.map((x) => (
          <option key={x.name} value={x.name} disabled={x.allowed === false}>{label(x)}</option>))}
      </select>
      <button type="button" class="link" id="mydev-open" onClick={open}>{t('anydev.manage')}</button>
    </span>);
}

export function MyDevicesDialog() {
  const ref = useRef<HTMLDialogElement>(null);
  const [name, setName] = useState('');
  const [number, setNumber] = useState('');
  const [company, setCompany] = useState(false);
  const d = state.myDevices;
  useEffect(() => {
    const dlg = ref.current;
    if (!dlg) return;
    if (state.myDevicesOpen && !dlg.open) dlg.showModal();
    if (!state.myDevicesOpen && dlg.open) dlg.close();
  });
  if (!d) return null;
  const close = () => { state.myDevicesOpen = false; render(); };
  const nameOk = name === '' || validDeviceName(name);
  const external = d.devices.filter((x) => x.kind === 'external');
  const full = external.length >= d.max_external;
  const submit = async (ev: Event) => {
    ev.preventDefault();
    if (!validDeviceName(name) || !number.trim()) return;
    if (await addMyDevice(name, number.trim(), company)) { setName(''); setNumber(''); setCompany(false); }
  };
  return (
    <dialog ref={ref} class="mydev-dialog" aria-labelledby="mydev-title" onClose={close}>
      <h2 id="mydev-title">{t('anydev.title')}</h2>
      <p class="hint">{t('anydev.help')}</p>
      <ul class="mydev-list">
        {d.devices.map((x) => (
          <li key={x.name} data-device={x.name}>
            <span>{label(x)}{x.kind === 'external' && x.private === false ? ` · ${t('anydev.companyShort')}` : ''}{x.name === d.active ? ` — ${t('anydev.isActive')}` : ''}</span>
            {x.allowed === false ? <span class="hint"> {t('anydev.notAllowed', { reason: x.reason ?? '' })}</span> : null}
            {x.kind === 'external'
              ? <button type="button" class="link" aria-label={t('anydev.remove', { name: x.name })} onClick={() => void removeMyDevice(x.name)}>{t('anydev.removeShort')}</button>
              : null}
          </li>))}
      </ul>
      <form class="mydev-form" onSubmit={(ev) => void submit(ev)}>
        <label for="mydev-name">{t('anydev.name')}</label>
        <input id="mydev-name" value={name} maxLength={32} placeholder="mobile" aria-invalid={!nameOk} aria-describedby="mydev-name-help"
          onInput={(ev) => setName((ev.target as HTMLInputElement).value)} disabled={full} />
        <p id="mydev-name-help" class="hint">{t('anydev.nameRule')}</p>
        <label for="mydev-number">{t('anydev.number')}</label>
        <input id="mydev-number" type="tel" value={number} maxLength={64} placeholder="0170 1234567"
          onInput={(ev) => setNumber((ev.target as HTMLInputElement).value)} disabled={full} />
        <label class="check"><input id="mydev-company" type="checkbox" checked={company} disabled={full}
          onChange={(ev) => setCompany((ev.target as HTMLInputElement).checked)} /> {t('anydev.company')}</label>
        <button type="submit" disabled={full || !validDeviceName(name) || !number.trim()}>{t('anydev.add')}</button>
        {full ? <p class="hint">{t('anydev.full', { n: d.max_external })}</p> : null}
      </form>
      <button type="button" id="mydev-close" onClick={close}>{t('anydev.close')}</button>
    </dialog>);
}
