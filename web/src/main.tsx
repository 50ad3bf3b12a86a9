// The callbridge browser client: sign-in, screen pop, click-to-dial, call control, contacts,
// journal, presence, settings and admin pages over the public v1 API (docs/api.md), rendered with
// Preact (keyed, so live updates never replace what the user is typing in or focused on). Untrusted
// data only ever reaches the page as text (JSX) or through the template sanitizer. This file starts
// the app and wires the page-wide handlers (tel: links, hash routes, shortcut keys); the parts are
// in app/ (state and actions), ui/ (pages) and lib/ (pure logic with unit tests).
import './style.css';
import { render as mount } from 'preact';
import { dialTarget } from './lib/phone';
import type { LiveState } from './lib/store';
import { ringStatus } from './app/alerting';
import { control } from './app/commands';
import { applied, boot, received } from './app/session';
import { live, render, state } from './app/state';
import { Alerts, App, go } from './ui/App';
import { firstCallWith } from './ui/Calls';

// Read-only diagnostics for the e2e tests.
interface Diagnostics {
  readonly seq: number | null;
  readonly dropped: number;
  applied: number[];
  received: Record<string, number>;
  live: LiveState;
  readonly uiSettings: string;
  ring: typeof ringStatus;
}
declare global {
  interface Window { __cb?: Diagnostics }
}

function focusDial() {
  if (state.view !== 'calls') go('calls');
  requestAnimationFrame(() => (document.getElementById('dial') as HTMLInputElement | null)?.focus());
}

// tel:/callto: links anywhere on the page open the dial flow.
document.addEventListener('click', (ev) => {
  const a = (ev.target as Element | null)?.closest?.('a[href]') as HTMLAnchorElement | null;
  if (!a || !state.me) return;
  const href = a.getAttribute('href') ?? '';
  if (!/^(tel|callto):/i.test(href)) return;
  ev.preventDefault();
  state.pendingDial = dialTarget(href);
  render();
  focusDial();
});

// Shortcuts: Alt+D dial box, Alt+A answer the ringing call, Alt+H hang up (the active call first).
document.addEventListener('keydown', (ev) => {
  if (!state.me || !ev.altKey || ev.ctrlKey || ev.metaKey) return;
  const k = ev.code === 'KeyD' ? 'd' : ev.code === 'KeyA' ? 'a' : ev.code === 'KeyH' ? 'h' : '';
  if (!k) return;
  ev.preventDefault();
  if (k === 'd') { focusDial(); return; }
  const target = firstCallWith(k === 'a' ? 'answer' : 'hangup');
  if (target) void control(target.call, target.device, k === 'a' ? 'answer' : 'hangup');
});

window.addEventListener('hashchange', () => { const v = location.hash.replace(/^#\/?/, ''); if (v && v !== state.view) go(v); });

window.__cb = {
  get seq() { return state.stream?.lastSeq ?? null; },
  get dropped() { return state.stream?.duplicatesDropped ?? 0; },
  applied, received, live,
  get uiSettings() { return state.uiSettingsState; },
  ring: ringStatus,
};

const app = document.getElementById('app');
const alerts = document.getElementById('alerts');
if (app) mount(<App />, app);
if (alerts) mount(<Alerts />, alerts);
void boot();
