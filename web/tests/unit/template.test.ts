import { describe, expect, it } from 'vitest';
import { expandUrl, fillHtml, flatten, renderCard, sanitizeHtml } from '../../src/lib/template';

const vars = flatten({ contact: { id: 'c 17/x', name: '<img src=x onerror=alert(1)>' }, remote: { e164: '+4989123456' } });

describe('url templates', () => {
  it('expands and encodes values', () => {
    expect(expandUrl('https://crm.example/contacts/{contact.id}', vars)).toBe('https://crm.example/contacts/c%2017%2Fx');
    expect(expandUrl('https://crm.example/tickets/new?phone={remote.e164}', vars)).toBe('https://crm.example/tickets/new?phone=%2B4989123456');
  });
  it('hides actions with missing values or unsafe schemes', () => {
    expect(expandUrl('https://crm.example/c/{contact.company}', vars)).toBeNull();
    expect(expandUrl('javascript:alert({remote.e164})', vars)).toBeNull();
    expect(expandUrl('{contact.name}', flatten({ contact: { name: 'javascript:alert(1)' } }))).toBeNull();
  });
});

describe('html card templates', () => {
  it('escapes contact data', () => {
    const html = fillHtml('<b>{{contact.name}}</b>', vars);
    expect(html).not.toContain('<img');
    const frag = renderCard('<b>{{contact.name}}</b>', vars);
    const div = document.createElement('div');
    div.appendChild(frag);
    expect(div.querySelector('img')).toBeNull();
    expect(div.textContent).toBe('<img src=x onerror=alert(1)>');
  });
  it('drops script, event handlers and javascript: links from the admin template', () => {
    const div = document.createElement('div');
    div.appendChild(sanitizeHtml('<div onclick="evil()" class="c"><script>evil()</script><a href="javascript:evil()">x</a>' +
      '<a href="https://ok.example/">ok</a><iframe src="https://x"></iframe><custom><i>kept</i></custom><style>*{}</style></div>'));
    const html = div.innerHTML;
    expect(html).not.toMatch(/script|onclick|javascript|iframe|style/i);
    expect(div.querySelector('div.c')).not.toBeNull();
    expect(div.querySelectorAll('a')[1].getAttribute('href')).toBe('https://ok.example/');
    expect(div.querySelectorAll('a')[1].getAttribute('rel')).toBe('noopener noreferrer');
    expect(div.querySelector('i')?.textContent).toBe('kept');
  });
  it('a contact value in an href cannot become javascript:', () => {
    const div = document.createElement('div');
    div.appendChild(renderCard('<a href="{{contact.url}}">web</a>', flatten({ contact: { url: 'javascript:alert(1)' } })));
    expect(div.querySelector('a')?.hasAttribute('href')).toBe(false);
  });
});
