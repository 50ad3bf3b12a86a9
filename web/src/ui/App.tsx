// The page frame: sign-in, or the header (stream status, who, sign out), navigation, the incoming
// call banner shown on every page, the flash line and the current page; the alerts in their own
// root. Applies language, theme and the tab's signals after each render.
import { useEffect } from 'preact/hooks';
import { ringingCalls, ringStatus } from '../app/alerting';
import { callerLabel } from '../app/caller';
import { loadAdmin } from '../app/admin_data';
import { loadDevices } from '../app/devices';
import { loadQueues } from '../app/queues';
import { loadJournal } from '../app/journal';
import { loadLines, signIn, signOut } from '../app/session';
import { clearFlash, dismissAlert, fmtTime, lang, render, state, t, useStore } from '../app/state';
import { AdminPage } from './Admin';
import { DevicesPage } from './Devices';
import { QueuesPage } from './Queues';
import { AgentControls } from './AgentControls';
import { MyStatus } from './MyStatus';
import { DeviceSwitch, MyDevicesDialog } from './MyDevice';
import { DndToggle, ForwardingDialog } from './CallFeatures';
import { CallsPage } from './Calls';
import { ContactsPage } from './Contacts';
import { JournalPage } from './Journal';
import { PresencePage } from './Presence';
import { SettingsPage } from './Settings';
import type { Key } from '../lib/i18n';

export function go(id: string) {
  state.view = id;
  history.replaceState(null, '', `#/${id}`);
  render();
  if (id === 'journal') void loadJournal();
  if (id === 'admin') void loadAdmin();
  if (id === 'devices') void loadDevices();
  if (id === 'queues') void loadQueues();
  if (id === 'presence') void loadLines();
  requestAnimationFrame(() => (document.querySelector('main h2') as HTMLElement | null)?.focus());
}

function applyDocument() {
  const root = document.documentElement;
  root.lang = lang();
  const theme = state.settings.theme;
  if (theme === 'auto') delete root.dataset.theme; else root.dataset.theme = theme;
  const skip = document.querySelector('a.skip');
  if (skip) skip.textContent = t('app.skip');
}

export function App() {
  useStore();
  useEffect(applyDocument);
  if (!state.me) return <SignIn />;
  return <Shell />;
}

function SignIn() {
  const submit = (ev: Event) => {
    ev.preventDefault();
    const f = ev.target as HTMLFormElement;
    const token = (f.elements.namedItem('token') as HTMLInputElement).value.trim();
    const keep = (f.elements.namedItem('keep') as HTMLInputElement).checked;
    void signIn(token, keep ? 'session' : 'tab');
  };
  return (
    <main id="main" class="signin">
      <h1>callbridge</h1>
      <form onSubmit={submit}>
        <label for="token">{t('signin.token')}</label>
        <input id="token" name="token" type="password" autoComplete="current-password" required aria-describedby="token-help" />
        <p id="token-help" class="hint">{t('signin.help')}</p>
        <label class="inline"><input id="keep" name="keep" type="checkbox" defaultChecked /> {t('signin.keep')}</label>
        <button type="submit">{t('signin.submit')}</button>
      </form>
      <FlashLine />
    </main>);
}

function FlashLine() {
  const f = state.flash;
  if (!f) return null;
  return (
    <div class={`flash ${f.kind}`} role={f.kind === 'error' ? 'alert' : 'status'}>
      <span>{f.text}</span>
      <button type="button" class="link" aria-label={t('dismiss')} onClick={clearFlash}>×</button>
    </div>);
}

function StatusBadge() {
  const s = state.streamState;
  const text = s.state === 'online' ? t('status.online')
    : s.state === 'connecting' ? (s.offlineSince ? t('status.reconnecting') : t('status.connecting'))
    : s.offlineSince ? t('status.offlineSince', { time: fmtTime(s.offlineSince, false) }) : t('status.offline');
  return <span id="status" class={`status ${s.state}`} role="status" title={s.lastError ?? ''}>{text}</span>;
}

// On every page: who is calling, with a way to the card (and Answer there).
function IncomingBanner() {
  const ringing = ringingCalls();
  if (!ringing.length) return null;
  const who = ringing.map(callerLabel).join(', ');
  return (
    <div class="incoming-banner" role="region" aria-label={t('notify.title')}>
      <span class="bell" aria-hidden="true">☎</span>
      <strong>{ringing.length > 1 ? t('banner.incomingMany', { n: ringing.length, who }) : t('banner.incoming', { who })}</strong>
      {state.view !== 'calls' ? <button type="button" class="primary" onClick={() => go('calls')}>{t('banner.show')}</button> : null}
      {state.settings.ring && ringStatus.active && ringStatus.context === 'suspended' ? <span class="hint sound-hint">{t('banner.soundBlocked')}</span> : null}
    </div>);
}

function Nav() {
  const items: [string, Key][] = [['calls', 'nav.calls'], ['contacts', 'nav.contacts'], ['journal', 'nav.journal'], ['presence', 'nav.presence'], ['queues', 'nav.queues'], ['settings', 'nav.settings']];
  if (state.me?.role === 'admin') items.push(['devices', 'nav.devices'], ['admin', 'nav.admin']);
  return (
    <nav aria-label={t('nav.main')}>
      <ul>{items.map(([id, key]) => (
        <li key={id}><a href={`#/${id}`} aria-current={state.view === id ? 'page' : undefined} onClick={(ev) => { ev.preventDefault(); go(id); }}>{t(key)}</a></li>))}
      </ul>
    </nav>);
}

function Shell() {
  const v = state.view;
  const page = v === 'journal' ? <JournalPage /> : v === 'presence' ? <PresencePage /> : v === 'admin' ? <AdminPage /> : v === 'devices' ? <DevicesPage /> : v === 'queues' ? <QueuesPage />
    : v === 'contacts' ? <ContactsPage /> : v === 'settings' ? <SettingsPage /> : <CallsPage />;
  return (
    <div class={`shell stream-${state.streamState.state}`}>
      <header>
        <span class="brand">callbridge</span>
        <StatusBadge />
        <span class="who">{state.me?.display_name || state.me?.user}</span>
        <MyStatus />
        <AgentControls />
        <DeviceSwitch />
        <DndToggle />
        <button type="button" class="link" onClick={() => void signOut()}>{t('signout')}</button>
      </header>
      <MyDevicesDialog />
      <ForwardingDialog />
      <Nav />
      <IncomingBanner />
      <FlashLine />
      <main id="main">{page}</main>
    </div>);
}

// The alerts (role=alert, read out once), outside the page so re-renders never repeat them.
export function Alerts() {
  useStore();
  return <>{state.alerts.map((a) => (
    <div key={a.id} class="alert" role="alert">
      <span>{a.text}</span>
      <button type="button" class="link" aria-label={t('dismiss.msg', { text: a.text })} onClick={() => dismissAlert(a.id)}>×</button>
    </div>))}</>;
}


