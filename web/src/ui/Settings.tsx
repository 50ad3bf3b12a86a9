// The user's own settings: language, appearance (light/dark/system), ring sound, desktop
// notifications (asks the browser), the tel: link handler, and the keyboard shortcuts. Saved in
// this browser and, when the server has /api/v1/me/settings, for the user.
import { useState } from 'preact/hooks';
import { serverSettings, type UserSettings } from '../lib/settings';
import { syncAlerting } from '../app/alerting';
import { api, render, setFlash, state, t } from '../app/state';

export async function saveSettings(next: UserSettings) {
  state.settings = next;
  localStorage.setItem('cb.settings', JSON.stringify(next));
  syncAlerting();
  render();
  if (state.settingsOnServer) {
    try { await api.request('PUT', '/api/v1/me/settings', serverSettings(next)); } catch { /* kept in this browser */ }
  }
}

export function SettingsPage() {
  const s = state.settings;
  const [perm, setPerm] = useState('Notification' in window ? Notification.permission : 'unsupported');
  const set = (patch: Partial<UserSettings>) => void saveSettings({ ...s, ...patch });
  return (
    <div class="settings">
      <h2 tabIndex={-1}>{t('settings.title')}</h2>
      <label class="block-field"><span>{t('settings.language')}</span>
        <select id="set-lang" value={s.lang} onChange={(ev) => set({ lang: (ev.target as HTMLSelectElement).value as UserSettings['lang'] })}>
          <option value="auto">{t('settings.auto')}</option>
          <option value="en" lang="en">English</option>
          <option value="de" lang="de">Deutsch</option>
        </select></label>
      <label class="block-field"><span>{t('settings.theme')}</span>
        <select id="set-theme" value={s.theme} onChange={(ev) => set({ theme: (ev.target as HTMLSelectElement).value as UserSettings['theme'] })}>
          <option value="auto">{t('settings.system')}</option>
          <option value="light">{t('settings.light')}</option>
          <option value="dark">{t('settings.dark')}</option>
        </select></label>
      <label class="check"><input type="checkbox" id="set-ring" checked={s.ring} onChange={(ev) => set({ ring: (ev.target as HTMLInputElement).checked })} /> {t('settings.ring')}</label>
      <fieldset class="group">
        <legend>{t('settings.notifications')}</legend>
        {perm === 'unsupported' ? <p class="hint">{t('settings.notifyUnsupported')}</p> : <>
          <label class="check"><input type="checkbox" id="set-notifications" checked={s.notifications}
            onChange={(ev) => {
              const on = (ev.target as HTMLInputElement).checked;
              set({ notifications: on });
              if (on && perm !== 'granted') void Notification.requestPermission().then((p) => { setPerm(p); setFlash(p === 'granted' ? 'ok' : 'error', t('settings.notifyState', { state: p })); });
            }} /> {t('settings.notifyShow')}</label>
          <p class="hint" id="notify-state">{t('settings.notifyState', { state: perm })}</p>
          {s.notifications && perm !== 'granted' ? <button type="button" id="set-notify"
            onClick={() => void Notification.requestPermission().then((p) => { setPerm(p); setFlash(p === 'granted' ? 'ok' : 'error', t('settings.notifyState', { state: p })); })}>{t('settings.notifyOn')}</button> : null}</>}
      </fieldset>
      <p><button type="button" onClick={() => { try { navigator.registerProtocolHandler('tel', `${location.origin}/app/dial?to=%s`); setFlash('ok', t('settings.telAsked')); } catch (e) { setFlash('error', String(e)); } }}>{t('settings.telHandler')}</button></p>
      <h3>{t('settings.shortcuts')}</h3>
      <ul class="shortcuts">
        <li><kbd>Alt</kbd>+<kbd>D</kbd> {t('settings.shortcutDial').replace(/^Alt\+D:\s*/, '')}</li>
        <li><kbd>Alt</kbd>+<kbd>A</kbd> {t('settings.shortcutAnswer').replace(/^Alt\+A:\s*/, '')}</li>
        <li><kbd>Alt</kbd>+<kbd>H</kbd> {t('settings.shortcutHangup').replace(/^Alt\+H:\s*/, '')}</li>
      </ul>
    </div>);
}
