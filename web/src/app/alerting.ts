// An incoming call must not be missed from any tab: the tab title and favicon badge, a ring sound
// (the user's setting; Web Audio, no sound file), a desktop notification while the tab is in the
// background (replaced when the contact becomes known), and the screen reader announcement. The
// banner on every page is rendered by App.tsx from the same state. Main thread.
import { faviconHref, pageTitle } from '../lib/badge';
import type { Call } from '../lib/types';
import { callerLabel, onLookupDone } from './caller';
import { live, myExtensions, render, say, state, t } from './state';

const BASE_TITLE = 'callbridge';
const notified = new Map<string, string>();  // call id -> text of the desktop notification shown

export function ringingCalls(): Call[] {
  return state.me ? live.incoming(myExtensions()) : [];
}

export function popped(c: Call) {
  say(`${t('notify.title')}: ${callerLabel(c)}`);
  notify(c);
}

// Desktop notification while the tab is in the background; replaced (same tag) when the contact
// lookup finishes after the pop.
function notify(c: Call) {
  if (!state.settings.notifications || !('Notification' in window) || Notification.permission !== 'granted') return;
  if (!document.hidden && document.hasFocus()) return;
  const who = callerLabel(c);
  if (notified.get(c.id) === who) return;
  notified.set(c.id, who);
  try {
    const n = new Notification(t('notify.title'), { body: who, tag: c.id });
    n.onclick = () => { window.focus(); n.close(); };
  } catch { /* e.g. a browser that only allows notifications from a service worker */ }
}

// --- ring sound: two short tones every 3 s while a call rings (and the setting is on)
let audio: AudioContext | null = null;
let ringTimer: number | null = null;
export const ringStatus = { active: false, played: 0, context: 'none' as string };

function ringOnce() {
  try {
    audio ??= new AudioContext();
    if (audio.state === 'suspended') void resume();
    else ringStatus.context = audio.state;
    const now = audio.currentTime;
    for (const [start, f] of [[0, 440], [0, 480], [0.5, 440], [0.5, 480]] as const) {
      const osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = f;
      gain.gain.setValueAtTime(0.0001, now + start);
      gain.gain.exponentialRampToValueAtTime(0.08, now + start + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + start + 0.4);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + start);
      osc.stop(now + start + 0.42);
    }
    ringStatus.played++;
  } catch { /* no audio in this browser */ }
}
// Creating the AudioContext can block the page for most of a second (headless Chromium without a
// sound server: ~0.8 s), so it is made when a session starts, before the event stream is up, never
// while a call is popping. Browsers start audio only after a user gesture: the first click or key
// resumes it.
export function prepareAudio() {
  if (audio || !state.settings.ring) return;
  // Suspended while nothing rings, so its audio thread costs nothing.
  try { audio = new AudioContext(); void audio.suspend(); ringStatus.context = audio.state; } catch { /* no audio in this browser */ }
}
// Resumes the context; the banner shows a hint while the browser keeps it suspended (no click or
// key on the page yet).
async function resume() {
  const a = audio;
  if (!a) return;
  const was = ringStatus.context;
  try { await a.resume(); } catch { /* not allowed yet */ }
  ringStatus.context = a.state;
  if (ringStatus.context !== was) render();
}
function unlock() { prepareAudio(); if (audio?.state === 'suspended' && ringStatus.active) void resume(); }
document.addEventListener('pointerdown', unlock, { passive: true });
document.addEventListener('keydown', unlock);

// The first tone comes 0.3 s after the pop: the card and banner are painted first.
function setRing(on: boolean) {
  ringStatus.active = on;
  if (on && ringTimer == null) {
    ringTimer = window.setInterval(ringOnce, 3000);
    window.setTimeout(() => { if (ringTimer != null) ringOnce(); }, 300);
  }
  if (!on && ringTimer != null) { window.clearInterval(ringTimer); ringTimer = null; void audio?.suspend(); }
}

// Brings title, favicon, ring and notifications in line with the calls ringing now.
export function syncAlerting() {
  const ringing = ringingCalls();
  const who = ringing.map(callerLabel);
  document.title = pageTitle(BASE_TITLE, who, (w) => t('title.incoming', { who: w }));
  const icon = document.querySelector<HTMLLinkElement>('link[rel~="icon"]');
  const href = faviconHref(ringing.length);
  if (icon && icon.getAttribute('href') !== href) { icon.setAttribute('href', href); icon.type = 'image/svg+xml'; }
  setRing(ringing.length > 0 && state.settings.ring);
  for (const c of ringing) if (notified.has(c.id)) notify(c);
  for (const id of [...notified.keys()]) if (!ringing.some((c) => c.id === id)) notified.delete(id);
}
onLookupDone(syncAlerting);
