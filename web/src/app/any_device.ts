// AnyDevice: the user's devices and the active one (docs/api.md "UserDevices"): loaded with the session,
// replaced by each `device` message of the event stream (a change made here, on another client, by
// the CLI or an admin), switched with one click in the header, added and removed in the devices
// dialog. Errors in words (the server's reason: a number the tenant does not allow, ...).
import { ApiError } from '../lib/api';
import type { UserDevices } from '../lib/types';
import { api, errText, render, say, setFlash, state, t } from './state';

export function parseMyDevices(v: unknown): UserDevices | null {
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  if (!Array.isArray(o.devices)) return null;
  const devices = o.devices.filter((d): d is UserDevices['devices'][number] =>
    !!d && typeof d === 'object' && typeof (d as { name?: unknown }).name === 'string' && typeof (d as { number?: unknown }).number === 'string');
  return {
    user: typeof o.user === 'string' ? o.user : '',
    active: typeof o.active === 'string' ? o.active : null,
    chosen: o.chosen === true,
    devices,
    max_external: typeof o.max_external === 'number' ? o.max_external : 0,
    updated_by: typeof o.updated_by === 'string' ? o.updated_by : null,
  };
}

export async function loadMyDevices() {
  try {
    state.myDevices = parseMyDevices(await api.get<unknown>('/api/v1/me/devices'));
  } catch (e) {
    // 404: a server without AnyDevice; the header then shows nothing of it.
    state.myDevices = null;
    if (!(e instanceof ApiError && e.status === 404)) setFlash('error', t('anydev.loadFailed', { error: errText(e) }));
  }
  render();
}

// A `device` message: the state after someone's change.
export function myDevicesPushed(v: unknown) {
  const d = parseMyDevices(v);
  if (d) state.myDevices = d;
}

async function change(p: Promise<unknown>, ok: (d: UserDevices) => string): Promise<boolean> {
  try {
    const d = parseMyDevices(await p);
    if (d) { state.myDevices = d; say(ok(d)); }
    render();
    return true;
  } catch (e) {
    setFlash('error', errText(e));
    return false;
  }
}

export function useMyDevice(name: string | null) {
  return change(api.request('PUT', '/api/v1/me/devices/active', { device: name }),
    (d) => t('anydev.nowActive', { name: d.active ?? '' }));
}

// `company`: a phone the company pays for (the journal's device.private false); else the user's own.
export function addMyDevice(name: string, number: string, company = false) {
  return change(api.request('PUT', `/api/v1/me/devices/${encodeURIComponent(name)}`, { number, private: !company }),
    () => t('anydev.added', { name }));
}

export function removeMyDevice(name: string) {
  return change(api.request('DELETE', `/api/v1/me/devices/${encodeURIComponent(name)}`), () => t('anydev.removed', { name }));
}

export function validDeviceName(s: string): boolean { return /^[a-z][a-z0-9_-]{0,31}$/.test(s); }
