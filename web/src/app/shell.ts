// The page frame: render() (the whole app, keeping focus and caret), the header with the stream
// status, navigation between the pages, the flash message and the sign-in form.
import { loadAdmin, adminView } from './admin';
import { callsView, presenceView } from './calls_view';
import { h } from './dom';
import { journalView, loadJournal } from './journal';
import { signIn, signOut } from './session';
import { installRenderer, state } from './state';

function root(): HTMLElement {
  const el = document.getElementById('app');
  if (!el) throw new Error('index.html has no #app');
  return el;
}

export function render() {
  // Re-rendering replaces the DOM: keep keyboard focus (and the caret) on the same control.
  const app = root();
  const active = document.activeElement as HTMLElement | null;
  const focusId = active && app.contains(active) && active.id ? active.id : null;
  const caret = active instanceof HTMLInputElement && ['text', 'tel', 'search'].includes(active.type) ? active.selectionStart : null;
  app.replaceChildren(state.me ? appShell() : signInView());
  renderStatus();
  if (focusId) {
    const el = document.getElementById(focusId);
    if (el) {
      el.focus();
      if (caret != null && el instanceof HTMLInputElement) { try { el.setSelectionRange(caret, caret); } catch { /* type without selection */ } }
    }
  }
}

export function renderStatus() {
  const el = document.getElementById('status');
  if (!el) return;
  const s = state.streamState;
  el.className = `status ${s.state}`;
  if (s.state === 'online') el.textContent = 'Online';
  else if (s.state === 'connecting') el.textContent = s.offlineSince ? 'Reconnecting…' : 'Connecting…';
  else el.textContent = s.offlineSince ? `Offline since ${new Date(s.offlineSince).toLocaleTimeString()}` : 'Offline';
  el.title = s.lastError ?? '';
  document.body.dataset.stream = s.state;
}

installRenderer(render, renderStatus);

export function go(id: string) {
  state.view = id;
  history.replaceState(null, '', `#/${id}`);
  render();
  if (id === 'journal') void loadJournal();
  if (id === 'admin') void loadAdmin();
  (document.querySelector('main h2') as HTMLElement | null)?.focus();
}

function signInView() {
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'current-password', required: true, 'aria-describedby': 'token-help' });
  const keep = h('input', { id: 'keep', type: 'checkbox', checked: true });
  return h('main', { id: 'main', class: 'signin' },
    h('h1', {}, 'callbridge'),
    h('form', { onsubmit: (ev: Event) => { ev.preventDefault(); void signIn(input.value.trim(), keep.checked ? 'session' : 'tab'); } },
      h('label', { for: 'token' }, 'API token'), input,
      h('p', { id: 'token-help', class: 'hint' }, 'Create one with `callbridge token create` or ask your admin.'),
      h('label', { class: 'inline' }, keep, ' Start a browser session (cookie) instead of keeping the token in this tab'),
      h('button', { type: 'submit' }, 'Sign in')),
    flashView());
}

function flashView() {
  const flash = state.flash;
  if (!flash) return null;
  return h('div', { class: `flash ${flash.kind}`, role: flash.kind === 'error' ? 'alert' : 'status' }, flash.text,
    h('button', { class: 'link', 'aria-label': 'Dismiss message', onclick: () => { state.flash = null; render(); } }, '×'));
}

function nav() {
  const items: [string, string][] = [['calls', 'Calls'], ['journal', 'Journal'], ['presence', 'Presence']];
  if (state.me?.role === 'admin') items.push(['admin', 'Admin']);
  return h('nav', { 'aria-label': 'Main' }, h('ul', {}, items.map(([id, label]) =>
    h('li', {}, h('a', { href: `#/${id}`, 'aria-current': state.view === id ? 'page' : null, onclick: (ev: Event) => { ev.preventDefault(); go(id); } }, label)))));
}

function appShell() {
  const view = state.view;
  const body = view === 'journal' ? journalView() : view === 'presence' ? presenceView() : view === 'admin' ? adminView() : callsView();
  return h('div', { class: 'shell' },
    h('header', {},
      h('span', { class: 'brand' }, 'callbridge'),
      h('span', { id: 'status', class: 'status', role: 'status' }),
      h('span', { class: 'who' }, state.me?.display_name ?? state.me?.user ?? ''),
      h('button', { class: 'link', onclick: () => void signOut() }, 'Sign out')),
    nav(),
    flashView(),
    h('main', { id: 'main' }, body));
}
