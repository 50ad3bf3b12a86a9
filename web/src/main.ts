// The callbridge browser client: sign-in, screen pop, click-to-dial, call control, journal,
// presence and admin pages over the public v1 API (docs/api.md). Plain DOM, no framework: every
// piece of untrusted data goes through text nodes (app/dom.ts h()) or the template sanitizer.
// This file only starts the app; the parts are in app/ (state, session, pages), the pure logic
// with unit tests in lib/.
import './style.css';
import { dialTarget } from './lib/phone';
import type { LiveState } from './lib/store';
import { applied, boot, received } from './app/session';
import { go, render } from './app/shell';
import { live, state } from './app/state';

// Read-only diagnostics for the e2e tests.
interface Diagnostics {
  readonly seq: number | null;
  readonly dropped: number;
  applied: number[];
  received: Record<string, number>;
  live: LiveState;
  readonly uiSettings: string;
}
declare global {
  interface Window { __cb?: Diagnostics }
}

// tel:/callto: links anywhere on the page open the dial flow.
document.addEventListener('click', (ev) => {
  const a = (ev.target as Element | null)?.closest?.('a[href]') as HTMLAnchorElement | null;
  if (!a || !state.me) return;
  const href = a.getAttribute('href') ?? '';
  if (!/^(tel|callto):/i.test(href)) return;
  ev.preventDefault();
  state.pendingDial = dialTarget(href);
  state.view = 'calls';
  render();
  (document.getElementById('dial') as HTMLInputElement | null)?.focus();
});

window.addEventListener('hashchange', () => { const v = location.hash.replace(/^#\/?/, ''); if (v && v !== state.view) go(v); });

window.__cb = {
  get seq() { return state.stream?.lastSeq ?? null; },
  get dropped() { return state.stream?.duplicatesDropped ?? 0; },
  applied, received, live,
  get uiSettings() { return state.uiSettingsState; },
};

void boot();
