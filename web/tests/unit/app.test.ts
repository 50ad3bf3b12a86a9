import { describe, expect, it } from 'vitest';
import { normalizeSettings } from '../../src/app/ui_settings';

describe('normalizeSettings', () => {
  it('keeps well-formed links and the template, drops the rest', () => {
    expect(normalizeSettings({ action_links: [{ label: 'CRM', url: 'https://crm/{contact.id}' }, { label: 3 }, null, 'x'], card_template: '<b>{contact.name}</b>' }))
      .toEqual({ action_links: [{ label: 'CRM', url: 'https://crm/{contact.id}' }], card_template: '<b>{contact.name}</b>' });
  });
  it('anything else is empty settings', () => {
    for (const v of [null, undefined, 'x', 42, [], { action_links: 'no', card_template: 5 }])
      expect(normalizeSettings(v)).toEqual({ action_links: [], card_template: '' });
  });
});
