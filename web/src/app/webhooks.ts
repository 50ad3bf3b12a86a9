// The admin page's webhooks (docs/webhooks.md): the tenant's hooks (GET/POST/DELETE
// /api/v1/webhooks), the secret of a hook just created (shown once, like a new token), a hook's
// delivery log and a test ping. A server without the routes answers 404: the section is hidden.
// The section is ui/Webhooks.tsx. Main thread.
import { ApiError } from '../lib/api';
import { api, errText, render, setFlash, t } from './state';

export const EVENT_TYPES = ['call.ringing', 'call.answered', 'call.ended', 'call.missed', 'journal.entry', 'presence.changed', 'queue.changed', 'anydevice.changed'] as const;

export interface Webhook { id: string; url: string; events: string[]; description: string; created_at?: string; created_by?: string; body_template?: unknown }
export interface Delivery { id: string; event_type: string; state: string; attempts: number; http_status: number | null; last_error: string | null; updated_at: string }
export interface WebhookData {
  supported: boolean;
  list?: Webhook[];
  error?: string;
  newSecret?: { id: string; url: string; secret: string };
  log?: { id: string; rows: Delivery[] };
}
export const webhooks: WebhookData = { supported: true };

// What the server would refuse, said before sending (it checks again, with the address policy).
export function webhookFormProblem(url: string, events: string[], template: string): string | null {
  const u = url.trim();
  if (!/^https?:\/\/[^\s/?#]+/i.test(u)) return t('wh.badUrl');
  if (!events.length) return t('wh.noEvents');
  if (template.trim()) {
    try {
      const v: unknown = JSON.parse(template);
      if (v == null || typeof v !== 'object') return t('wh.badTemplate');
    } catch { return t('wh.badTemplate'); }
    if (new TextEncoder().encode(template).length > 16384) return t('wh.bigTemplate');
  }
  return null;
}

export async function loadWebhooks() {
  try {
    const r = await api.get<{ webhooks?: Webhook[] }>('/api/v1/webhooks');
    webhooks.list = (r.webhooks ?? []).filter((h) => h && typeof h.id === 'string');
    webhooks.supported = true;
    webhooks.error = undefined;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) webhooks.supported = false;
    else webhooks.error = errText(e);
  }
  render();
}

export async function createWebhook(url: string, events: string[], template: string, description: string): Promise<boolean> {
  const problem = webhookFormProblem(url, events, template);
  if (problem) { setFlash('error', problem); return false; }
  const body: Record<string, unknown> = { url: url.trim(), events };
  if (template.trim()) body.body_template = JSON.parse(template);
  if (description.trim()) body.description = description.trim();
  try {
    const r = await api.post<Webhook & { secret?: string }>('/api/v1/webhooks', body);
    if (r.secret) webhooks.newSecret = { id: r.id, url: r.url, secret: r.secret };
    await loadWebhooks();
    return true;
  } catch (e) { setFlash('error', errText(e)); return false; }
}

export async function deleteWebhook(id: string) {
  try {
    await api.del(`/api/v1/webhooks/${encodeURIComponent(id)}`);
    if (webhooks.newSecret?.id === id) webhooks.newSecret = undefined;
    if (webhooks.log?.id === id) webhooks.log = undefined;
    await loadWebhooks();
  } catch (e) { setFlash('error', errText(e)); }
}

export async function showDeliveries(id: string) {
  try {
    const r = await api.get<{ deliveries?: Delivery[] }>(`/api/v1/webhooks/${encodeURIComponent(id)}/deliveries?limit=50`);
    webhooks.log = { id, rows: r.deliveries ?? [] };
    render();
  } catch (e) { setFlash('error', errText(e)); }
}

export async function pingWebhook(id: string) {
  try {
    await api.post(`/api/v1/webhooks/${encodeURIComponent(id)}/ping`, {});
    setFlash('ok', t('wh.pinged'));
  } catch (e) { setFlash('error', errText(e)); }
}
