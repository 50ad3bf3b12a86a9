// The user's do-not-disturb, call forwarding and follow-me, carried out by the PBX (docs/dialplan.md,
// docs/api.md "Do not disturb, forwarding, follow-me"): loaded with the session (GET
// /api/v1/me/forwarding), changed from the header's DND toggle and the forwarding dialog, and
// reloaded when the stream says one of the user's lines changed (a `line_features` message: a change
// on another client, the CLI, an admin). When the PBX cannot carry them (`available: false`, e.g. it
// lacks callbridge's dialplan include) the controls are off and the reason is shown. Main thread.
import { ApiError } from '../lib/api';
import type { CallFeatures } from '../lib/types';
import { api, errText, render, say, setFlash, state, t } from './state';

const MODES = ['parallel', 'sequential', 'device'] as const;

function str(v: unknown): string | null { return typeof v === 'string' ? v : null; }
function num(v: unknown, d: number): number { return typeof v === 'number' && Number.isFinite(v) ? v : d; }

export function parseCallFeatures(v: unknown): CallFeatures | null {
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  const fw = (o.forwarding && typeof o.forwarding === 'object' ? o.forwarding : {}) as Record<string, unknown>;
  const fm = (o.follow_me && typeof o.follow_me === 'object' ? o.follow_me : {}) as Record<string, unknown>;
  const mode = MODES.find((m) => m === fm.mode) ?? 'parallel';
  return {
    user: str(o.user) ?? '',
    lines: Array.isArray(o.lines) ? o.lines.filter((x): x is string => typeof x === 'string') : [],
    available: o.available === true,
    reason: str(o.reason),
    dnd: o.dnd === true,
    forwarding: {
      unconditional: str(fw.unconditional), busy: str(fw.busy), no_answer: str(fw.no_answer),
      no_answer_seconds: num(fw.no_answer_seconds, 20),
    },
    follow_me: { enabled: fm.enabled === true, number: str(fm.number), mode, desk_seconds: num(fm.desk_seconds, 15) },
  };
}

export async function loadCallFeatures() {
  try {
    state.callFeatures = parseCallFeatures(await api.get<unknown>('/api/v1/me/forwarding'));
  } catch (e) {
    // 404: a server without the routes; the header then shows nothing of it.
    state.callFeatures = null;
    if (!(e instanceof ApiError && e.status === 404)) setFlash('error', t('cf.loadFailed', { error: errText(e) }));
  }
  render();
}

// A `line_features` message for one of my lines: someone changed them (or the PBX was read again).
export function callFeaturesPushed(line: string) {
  if (state.callFeatures?.lines.includes(line)) void loadCallFeatures();
}

async function change(p: Promise<unknown>, ok: (f: CallFeatures) => string): Promise<boolean> {
  try {
    const f = parseCallFeatures(await p);
    if (f) { state.callFeatures = f; say(ok(f)); }
    render();
    return true;
  } catch (e) {
    setFlash('error', errText(e));
    render();
    return false;
  }
}

export function setDnd(on: boolean) {
  return change(api.request('PUT', '/api/v1/me/dnd', { dnd: on }), (f) => t(f.dnd ? 'cf.dndOn' : 'cf.dndOff'));
}

export interface ForwardingForm { unconditional: string; busy: string; no_answer: string; no_answer_seconds: number }

// The form's fields as the PUT body: an empty field turns that forwarding off.
export function forwardingBody(f: ForwardingForm): Record<string, unknown> {
  const v = (s: string) => (s.trim() === '' ? null : s.trim());
  return { unconditional: v(f.unconditional), busy: v(f.busy), no_answer: v(f.no_answer), no_answer_seconds: f.no_answer_seconds };
}

export function saveForwarding(f: ForwardingForm) {
  return change(api.request('PUT', '/api/v1/me/forwarding', forwardingBody(f)), () => t('cf.saved'));
}

export function setFollowMe(enabled: boolean, mode: CallFeatures['follow_me']['mode']) {
  return change(enabled ? api.request('PUT', '/api/v1/me/follow-me', { enabled, mode }) : api.request('DELETE', '/api/v1/me/follow-me'),
    (f) => (f.follow_me.enabled ? t('cf.followOn', { number: f.follow_me.number ?? '' }) : t('cf.followOff')));
}

// "→ 102" in the header while any forwarding is on (unconditional first).
export function forwardingShort(f: CallFeatures | null): string {
  if (!f) return '';
  const w = f.forwarding;
  if (w.unconditional) return t('cf.shortAlways', { to: w.unconditional });
  if (w.busy || w.no_answer) return t('cf.shortSome');
  return '';
}
