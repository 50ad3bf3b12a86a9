import { describe, expect, it } from 'vitest';
import { h } from '../../src/app/dom';
import { normalizeSettings } from '../../src/app/ui_settings';

describe('h()', () => {
  it('puts untrusted text into text nodes, never markup', () => {
    const el = h('div', { class: 'x' }, '<img src=x onerror=alert(1)>', 7, null, false, ['a', undefined]);
    expect(el.className).toBe('x');
    expect(el.querySelector('img')).toBeNull();
    expect(el.textContent).toBe('<img src=x onerror=alert(1)>7a');
  });
  it('attributes: listeners, dataset, booleans, null leaves them out', () => {
    let clicks = 0;
    const b = h('button', { onclick: () => { clicks++; }, dataset: { callId: 'c1' }, disabled: true, title: null, 'aria-label': 'Go' });
    b.dispatchEvent(new Event('click'));
    expect(clicks).toBe(1);
    expect(b.dataset.callId).toBe('c1');
    expect(b.hasAttribute('disabled')).toBe(true);
    expect(b.hasAttribute('title')).toBe(false);
    expect(b.getAttribute('aria-label')).toBe('Go');
    expect(b.hasAttribute('onclick')).toBe(false);
  });
});

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
