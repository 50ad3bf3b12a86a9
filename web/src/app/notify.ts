// Telling the user: desktop notifications of incoming calls (replaced when the contact becomes
// known) and persistent alerts (role=alert) outside the re-rendered page.
import type { Call } from '../lib/types';
import { callerLabel, onLookupDone } from './caller';
import { h } from './dom';
import { live, myExtensions, say, setFlash } from './state';

const notified = new Map<string, string>();  // call id -> text of the desktop notification shown

export function popped(c: Call) {
  say(`Incoming call from ${callerLabel(c)}`);
  notify(c);
}

// Desktop notification while the tab is in the background; replaced (same tag) when the contact
// lookup finishes after the pop.
function notify(c: Call) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  if (!document.hidden && document.hasFocus()) return;
  const who = callerLabel(c);
  if (notified.get(c.id) === who) return;
  notified.set(c.id, who);
  try {
    const n = new Notification('Incoming call', { body: who, tag: c.id });
    n.onclick = () => { window.focus(); n.close(); };
  } catch { /* e.g. a browser that only allows notifications from a service worker */ }
}

export function refreshNotifications() {
  for (const c of live.incoming(myExtensions())) if (notified.has(c.id)) notify(c);
}
onLookupDone(refreshNotifications);

// Forgets notifications of calls that no longer ring.
export function pruneNotifications(ringing: Call[]) {
  for (const id of [...notified.keys()]) if (!ringing.some((c) => c.id === id)) notified.delete(id);
}

// Persistent alerts outside the re-rendered app (role=alert: read out once when added).
export function alertUser(text: string) {
  const box = document.getElementById('alerts');
  if (!box) { setFlash('error', text); return; }
  while (box.children.length >= 5) box.firstElementChild?.remove();
  const el: HTMLDivElement = h('div', { class: 'alert', role: 'alert' }, h('span', {}, text),
    h('button', { class: 'link', 'aria-label': `Dismiss: ${text}`, onclick: (): void => el.remove() }, '×'));
  box.append(el);
}
