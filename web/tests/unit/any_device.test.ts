import { describe, expect, it } from 'vitest';
import { parseMyDevices, validDeviceName } from '../../src/app/any_device';
import { onMessage } from '../../src/app/session';
import { state } from '../../src/app/state';

const anna = {
  user: 'anna', active: 'mobile', chosen: true, max_external: 5, updated_by: 'anna',
  devices: [{ name: '100', kind: 'desk', number: '100' }, { name: 'mobile', kind: 'external', number: '+491701234567', allowed: true }],
};

describe('devices (AnyDevice)', () => {
  it('parses the server state and drops what is not a device', () => {
    const d = parseMyDevices({ ...anna, devices: [...anna.devices, { kind: 'desk' }, null, 7] });
    expect(d?.active).toBe('mobile');
    expect(d?.devices.map((x) => x.name)).toEqual(['100', 'mobile']);
    expect(parseMyDevices({ active: 'x' })).toBeNull();
    expect(parseMyDevices(null)).toBeNull();
    expect(parseMyDevices({ ...anna, active: null, chosen: 'yes' })).toMatchObject({ active: null, chosen: false });
  });
  it('device names as the server checks them', () => {
    for (const ok of ['mobile', 'home-office', 'm2', 'car_phone']) expect(validDeviceName(ok)).toBe(true);
    for (const bad of ['', 'Mobile', '1x', 'my phone', 'a/b', 'x'.repeat(33)]) expect(validDeviceName(bad)).toBe(false);
  });
  it('a device message replaces the state, whoever made the change', () => {
    state.myDevices = null;
    onMessage({ type: 'user_devices', seq: 5, change: 'active', devices: { ...anna, active: '100', chosen: true, updated_by: 'root' } as never });
    const got = () => state.myDevices;
    expect(got()?.active).toBe('100');
    expect(got()?.updated_by).toBe('root');
  });
});
