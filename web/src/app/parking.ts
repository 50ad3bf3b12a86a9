// The parked calls (docs/parking.md): GET /api/v1/parking once, then the stream's
// {"type":"parking"} events keep the list current (parked/changed: replaced or added; left: gone).
// Pick up (POST /api/v1/parking/{space}/pickup) rings the user's phone; the outcome comes as a
// command event (commands.ts). The panel is ParkedPanel in ui/Calls.tsx. Main thread.
import { ApiError } from '../lib/api';
import type { ParkedCall, ServerMessage } from '../lib/types';
import { type CommandAccepted, track } from './commands';
import { alertUser, api, errText, render, setFlash, t } from './state';

export interface ParkingData { lot?: string; list?: ParkedCall[]; error?: string; supported: boolean }
export const parking: ParkingData = { supported: true };

const bySpace = (a: ParkedCall, b: ParkedCall) =>
  a.lot === b.lot ? a.space.localeCompare(b.space, undefined, { numeric: true }) : a.lot.localeCompare(b.lot);
const valid = (p: unknown): p is ParkedCall => !!p && typeof (p as ParkedCall).id === 'string' && typeof (p as ParkedCall).space === 'string';

export async function loadParking() {
  try {
    const r = await api.get<{ lot?: string; parked?: ParkedCall[] }>('/api/v1/parking');
    parking.lot = r.lot;
    parking.list = (r.parked ?? []).filter(valid).sort(bySpace);
    parking.error = undefined;
  } catch (e) {
    // A server without parking (404/405): the panel stays away.
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) parking.supported = false;
    else parking.error = errText(e);
  }
  render();
}

// A parking event of the stream. Before the first load there is nothing to update.
export function parkingEvent(m: Extract<ServerMessage, { type: 'parking' }>) {
  if (!parking.list || !valid(m.parked_call)) return;
  const rest = parking.list.filter((p) => p.id !== m.parked_call.id);
  parking.list = m.event === 'left' ? rest : [...rest, m.parked_call].sort(bySpace);
}

// Seconds a call has been parked at `now` (ms).
export function parkedFor(p: ParkedCall, now: number): number {
  const since = Date.parse(p.since);
  return Number.isFinite(since) ? Math.max(0, Math.floor((now - since) / 1000)) : p.parked_seconds;
}

// The parked caller in words: the best contact (and company), else the number, else withheld.
export function parkedCaller(p: ParkedCall): { name: string; detail: string } {
  const info = p.remote_info;
  const best = info?.contacts?.[0];
  const number = info?.display || p.number || '';
  if (best) return { name: best.name, detail: [best.company, number].filter(Boolean).join(' · ') };
  if (info?.kind === 'withheld' || (!p.number && !p.name)) return { name: t('park.withheld'), detail: '' };
  return { name: number || p.name || t('park.unknown'), detail: p.name && number ? p.name : '' };
}

// "Pick up" on a parked call: the user's phone (or active device) rings first.
export async function unpark(p: ParkedCall) {
  const who = parkedCaller(p).name;
  try {
    const r = await api.post<CommandAccepted>(`/api/v1/parking/${encodeURIComponent(p.space)}/pickup`,
      p.lot && parking.lot && p.lot !== parking.lot ? { lot: p.lot } : {});
    track(r, 'unpark', who);
    setFlash('ok', t('park.unparkSent', { space: p.space }));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      alertUser(t('park.nothing', { space: p.space }));
      if (parking.list) parking.list = parking.list.filter((x) => x.id !== p.id);
      render();
      return;
    }
    alertUser(t('act.failed', { action: t('act.unpark'), error: errText(e) }));
  }
}
