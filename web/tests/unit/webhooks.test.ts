// The admin page's webhooks section (app/webhooks, ui/Webhooks): what it sends to create a hook,
// that the secret is shown once (and gone after a reload), the delivery log in words, deleting,
// the checks before sending, and a server without the routes hiding the section.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { h, render as mount } from 'preact';
import { createWebhook, deleteWebhook, loadWebhooks, showDeliveries, webhookFormProblem, webhooks } from '../../src/app/webhooks';
import { WebhooksSection } from '../../src/ui/Webhooks';

type Route = (init: RequestInit) => { status: number; body?: unknown };

function server(routes: Record<string, Route>) {
  return vi.fn(async (url: string, init: RequestInit = {}) => {
    const key = `${init.method ?? 'GET'} ${url}`;
    const r = routes[key];
    if (!r) return new Response(JSON.stringify({ type: '/problems/not-found', title: 'Not Found', detail: `no resource at ${url}` }), { status: 404, headers: { 'Content-Type': 'application/problem+json' } });
    const { status, body } = r(init);
    return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  });
}

const hook = { id: 'wh_1', url: 'https://crm.example.com/h', events: ['call.ended', 'call.ringing'], description: 'CRM', created_at: '2026-12-07T01:00:00Z', created_by: 'adm', body_template: null };

let root: HTMLElement;
beforeEach(() => {
  root = document.createElement('div');
  document.body.appendChild(root);
  webhooks.supported = true;
  webhooks.list = undefined;
  webhooks.newSecret = undefined;
  webhooks.log = undefined;
  webhooks.error = undefined;
});
afterEach(() => { vi.unstubAllGlobals(); mount(null, root); root.remove(); });

describe('webhooks admin section', () => {
  it('creates a hook with events and a parsed template, shows the secret once', async () => {
    let sent: Record<string, unknown> | undefined;
    let list: unknown[] = [];
    const f = server({
      'POST /api/v1/webhooks': (init) => { sent = JSON.parse(String(init.body)); list = [hook]; return { status: 201, body: { ...hook, secret: 'whsec_abc' } }; },
      'GET /api/v1/webhooks': () => ({ status: 200, body: { webhooks: list } }),
    });
    vi.stubGlobal('fetch', f);
    const ok = await createWebhook(' https://crm.example.com/h ', ['call.ringing', 'call.ended'], '{"phone": "{data.call.connections.0.remote}"}', 'CRM');
    expect(ok).toBe(true);
    expect(sent).toEqual({ url: 'https://crm.example.com/h', events: ['call.ringing', 'call.ended'], body_template: { phone: '{data.call.connections.0.remote}' }, description: 'CRM' });
    mount(h(WebhooksSection, {}), root);
    expect(root.querySelector('#webhook-secret')?.textContent).toBe('whsec_abc');
    expect(root.querySelector('tr[data-webhook="wh_1"]')?.textContent).toContain('call.ended, call.ringing');
    // The listing never has the secret; once the flash is gone, so is the secret.
    webhooks.newSecret = undefined;
    await loadWebhooks();
    mount(h(WebhooksSection, {}), root);
    expect(root.textContent).not.toContain('whsec_abc');
  });

  it('checks URL, events and template before sending', async () => {
    const f = server({});
    vi.stubGlobal('fetch', f);
    expect(webhookFormProblem('crm.example.com', ['call.ended'], '')).toContain('https://');
    expect(webhookFormProblem('https://crm.example.com/', [], '')).toContain('at least one event');
    expect(webhookFormProblem('https://crm.example.com/', ['call.ended'], '{"a":')).toContain('JSON');
    expect(webhookFormProblem('https://crm.example.com/', ['call.ended'], '"text"')).toContain('JSON');
    expect(webhookFormProblem('https://crm.example.com/', ['call.ended'], '')).toBeNull();
    expect(await createWebhook('https://crm.example.com/', [], '', '')).toBe(false);
    expect(f).not.toHaveBeenCalled();
  });

  it('shows the delivery log and deletes a hook', async () => {
    let list: unknown[] = [hook];
    const f = server({
      'GET /api/v1/webhooks': () => ({ status: 200, body: { webhooks: list } }),
      'GET /api/v1/webhooks/wh_1/deliveries?limit=50': () => ({ status: 200, body: { deliveries: [
        { id: 'dl_2', event_type: 'call.ended', state: 'failed', attempts: 9, http_status: 500, last_error: 'gave up after 9 attempts: HTTP 500', updated_at: '2026-12-07T01:02:00Z' },
        { id: 'dl_1', event_type: 'call.ringing', state: 'delivered', attempts: 1, http_status: 204, last_error: null, updated_at: '2026-12-07T01:01:00Z' }] } }),
      'DELETE /api/v1/webhooks/wh_1': () => { list = []; return { status: 204 }; },
    });
    vi.stubGlobal('fetch', f);
    await loadWebhooks();
    await showDeliveries('wh_1');
    mount(h(WebhooksSection, {}), root);
    const rows = root.querySelectorAll('.webhook-log tbody tr');
    expect(rows.length).toBe(2);
    expect(rows[0].className).toBe('delivery-failed');
    expect(rows[0].textContent).toContain('gave up after 9 attempts: HTTP 500');
    expect(rows[1].textContent).toContain('204');
    await deleteWebhook('wh_1');
    mount(h(WebhooksSection, {}), root);
    expect(webhooks.log).toBeUndefined();
    expect(root.querySelector('tr[data-webhook="wh_1"]')).toBeNull();
    expect(root.textContent).toContain('No webhooks.');
  });

  it('a server without webhooks hides the section', async () => {
    vi.stubGlobal('fetch', server({}));
    await loadWebhooks();
    expect(webhooks.supported).toBe(false);
    mount(h(WebhooksSection, {}), root);
    expect(root.innerHTML).toBe('');
  });
});
