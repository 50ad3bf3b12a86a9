// The admin's device page (app/devices, ui/Devices): the list in words (model and firmware, the raw
// User-Agent when the format is unknown, registration, status), the stream's device events
// (changed, removed), the filter, and removal with DELETE.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render as mount } from 'preact';
import { deviceEvent, devices, forgetDevice, loadDevices, shownDevices } from '../../src/app/devices';
import type { Device } from '../../src/lib/types';
import { DevicesPage } from '../../src/ui/Devices';

const base: Device = {
  id: 'lab:100', pbx: 'lab', endpoint: '100', extension: '100', sip_user: '100', user_agent: 'Yealink SIP-T46S 66.86.0.15',
  vendor: 'Yealink', model: 'SIP-T46S', firmware: '66.86.0.15', registration: 'registered', address: '10.0.0.5:5062',
  status: 'on_hook', last_call_id: null, last_seen: '2026-12-07T03:00:00.000Z', contacts: [],
};
const sipp: Device = { ...base, id: 'lab:101', endpoint: '101', extension: '101', sip_user: '101', user_agent: 'SIPp-phone-101',
  vendor: '', model: '', firmware: '', address: '127.0.0.1:5101' };
const trunk: Device = { ...base, id: 'lab:trunk', endpoint: 'trunk', extension: '', sip_user: '', user_agent: '', vendor: '', model: '',
  firmware: '', registration: 'static', address: '127.0.0.1:5070', status: 'unknown' };

let root: HTMLElement;
beforeEach(() => {
  root = document.createElement('div');
  document.body.appendChild(root);
  devices.list = undefined;
  devices.error = undefined;
  devices.filter = '';
});
afterEach(() => { vi.unstubAllGlobals(); mount(null, root); root.remove(); });

describe('device registry page', () => {
  it('lists devices in words and follows the stream', async () => {
    const f = vi.fn(async () => new Response(JSON.stringify({ devices: [trunk, sipp, base] }), { status: 200, headers: { 'Content-Type': 'application/json' } }));
    vi.stubGlobal('fetch', f);
    await loadDevices();
    expect(devices.list?.map((d) => d.id)).toEqual(['lab:100', 'lab:101', 'lab:trunk']);
    mount(h(DevicesPage, {}), root);
    const row = root.querySelector('tr[data-device="lab:100"]')!;
    expect(row.querySelector('.model')?.textContent).toBe('Yealink SIP-T46S');
    expect(row.querySelector('.firmware')?.textContent).toBe('66.86.0.15');
    expect(row.querySelector('.registration')?.textContent).toBe('registered');
    expect(row.querySelector('.status')?.textContent).toBe('on hook');
    expect(root.querySelector('tr[data-device="lab:101"] .model')?.textContent).toBe('SIPp-phone-101');  // raw when unknown
    expect(root.querySelector('tr[data-device="lab:trunk"] .registration')?.textContent).toBe('configured address');
    expect(root.querySelector('#device-count')?.textContent).toBe('3 devices, 2 registered');

    deviceEvent({ type: 'device', seq: 5, event: 'changed', device: { ...base, status: 'ringing', last_call_id: 'c-1' } });
    deviceEvent({ type: 'device', seq: 6, event: 'removed', id: 'lab:101' });
    deviceEvent({ type: 'device', seq: 7, event: 'changed', device: { ...base, id: 'lab:102', endpoint: '102', extension: '102' } });
    mount(h(DevicesPage, {}), root);
    expect(devices.list?.map((d) => d.id)).toEqual(['lab:100', 'lab:102', 'lab:trunk']);
    expect(root.querySelector('tr[data-device="lab:100"] .status')?.textContent).toBe('ringing');

    devices.filter = 'trunk';
    expect(shownDevices().map((d) => d.id)).toEqual(['lab:trunk']);
    devices.filter = '66.86';
    expect(shownDevices().map((d) => d.id)).toEqual(['lab:100', 'lab:102']);
  });

  it('removes a device with DELETE and says until when', async () => {
    devices.list = [base, sipp];
    const f = vi.fn(async (_url: string, _init?: RequestInit) => new Response(null, { status: 204 }));
    vi.stubGlobal('fetch', f);
    await forgetDevice('lab:101');
    expect(f.mock.calls[0][0]).toBe('/api/v1/devices/lab%3A101');
    expect(f.mock.calls[0][1]?.method).toBe('DELETE');
    expect(devices.list?.map((d) => d.id)).toEqual(['lab:100']);
  });

  it('events before the first load change nothing', () => {
    deviceEvent({ type: 'device', seq: 1, event: 'changed', device: base });
    expect(devices.list).toBeUndefined();
  });
});
