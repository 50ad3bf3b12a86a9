// The admin's device registry (docs/devices.md): GET /api/v1/devices once, then the stream's
// {"type":"device"} events keep it current (changed: replaced or added; removed: gone);
// DELETE /api/v1/devices/{id} removes one until the PBX reports it again. The page is
// ui/Devices.tsx. Main thread.
import type { Device, ServerMessage } from '../lib/types';
import { api, errText, render, setFlash, t } from './state';

export interface DeviceData { list?: Device[]; error?: string; filter: string }
export const devices: DeviceData = { filter: '' };

const byId = (a: Device, b: Device) => (a.pbx === b.pbx ? a.endpoint.localeCompare(b.endpoint, undefined, { numeric: true }) : a.pbx.localeCompare(b.pbx));

export async function loadDevices() {
  try {
    const r = await api.get<{ devices?: Device[] }>('/api/v1/devices');
    devices.list = (r.devices ?? []).filter((d) => d && typeof d.id === 'string').sort(byId);
    devices.error = undefined;
  } catch (e) { devices.error = errText(e); }
  render();
}

// A device event of the stream (admins only). Before the first load there is nothing to update.
export function deviceEvent(m: Extract<ServerMessage, { type: 'device' }>) {
  if (!devices.list) return;
  if (m.event === 'removed') {
    devices.list = devices.list.filter((d) => d.id !== m.id);
  } else if (m.device && typeof m.device.id === 'string') {
    devices.list = [...devices.list.filter((d) => d.id !== m.device.id), m.device].sort(byId);
  }
}

export async function forgetDevice(id: string) {
  try {
    await api.del(`/api/v1/devices/${encodeURIComponent(id)}`);
    if (devices.list) devices.list = devices.list.filter((d) => d.id !== id);
    setFlash('ok', t('dev.removed', { id }));
  } catch (e) { setFlash('error', errText(e)); }
  render();
}

// The rows the filter keeps: any of id, extension, SIP user, model, firmware, address, User-Agent.
export function shownDevices(): Device[] {
  const q = devices.filter.trim().toLowerCase();
  const list = devices.list ?? [];
  if (!q) return list;
  return list.filter((d) => [d.id, d.extension, d.sip_user, d.vendor, d.model, d.firmware, d.address, d.user_agent]
    .some((x) => (x ?? '').toLowerCase().includes(q)));
}
