// The queue board's data (docs/queues.md): GET /api/v1/queues once, then the stream's
// {"type":"queue"} events keep it current (changed: replaced or added; removed: gone). Agents log
// in (POST .../members), log out (DELETE .../members/{ext}), pause with a reason and unpause
// (PATCH .../members/{ext}); the PBX's change comes back as a queue event. The page is
// ui/Queues.tsx, the header control ui/AgentControls.tsx. Main thread.
import type { Queue, QueueAgent, QueueCaller, ServerMessage } from '../lib/types';
import { api, errText, myExtensions, render, setFlash, state, t } from './state';

export interface QueueData { list?: Queue[]; error?: string; busy: boolean }
export const queues: QueueData = { busy: false };

const byName = (a: Queue, b: Queue) => (a.name === b.name ? a.pbx.localeCompare(b.pbx) : a.name.localeCompare(b.name));
const valid = (q: unknown): q is Queue => !!q && typeof (q as Queue).id === 'string' && Array.isArray((q as Queue).agents)
  && Array.isArray((q as Queue).callers);

export async function loadQueues() {
  try {
    const r = await api.get<{ queues?: Queue[] }>('/api/v1/queues');
    queues.list = (r.queues ?? []).filter(valid).sort(byName);
    queues.error = undefined;
  } catch (e) { queues.error = errText(e); }
  render();
}

// A queue event of the stream. Before the first load there is nothing to update.
export function queueEvent(m: Extract<ServerMessage, { type: 'queue' }>) {
  if (!queues.list) return;
  if (m.event === 'removed') {
    queues.list = queues.list.filter((q) => q.id !== m.id);
  } else if (valid(m.queue)) {
    queues.list = [...queues.list.filter((q) => q.id !== m.queue.id), m.queue].sort(byName);
  }
}

// Seconds a caller has waited at `now` (ms), from when they joined.
export function waitOf(c: QueueCaller, now: number): number {
  const joined = Date.parse(c.joined);
  return Number.isFinite(joined) ? Math.max(0, Math.floor((now - joined) / 1000)) : c.wait;
}

export function fmtWait(s: number): string {
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

// The caller in words: the best contact (and company), else the number as the PBX gave it.
export function callerText(c: QueueCaller): { name: string; detail: string } {
  const info = c.remote_info;
  const best = info?.contacts?.[0];
  const number = info?.display || c.number || '';
  if (best) return { name: best.name, detail: [best.company, number].filter(Boolean).join(' · ') };
  if (info?.kind === 'withheld' || (!c.number && !info)) return { name: t('q.withheld'), detail: '' };
  return { name: number || c.name || t('q.unknownCaller'), detail: c.name && number ? c.name : '' };
}

// The agent's state in words ("paused: lunch", "wrap-up until 14:02").
export function agentStateText(a: QueueAgent): string {
  if (a.state === 'paused') return a.paused_reason ? t('q.pausedWhy', { reason: a.paused_reason }) : t('q.paused');
  return t(`q.state.${a.state}` as Parameters<typeof t>[0]);
}

// The queues where one of my extensions is an agent, with that agent.
export function myAgents(): { queue: Queue; agent: QueueAgent }[] {
  const mine = myExtensions();
  const out: { queue: Queue; agent: QueueAgent }[] = [];
  for (const q of queues.list ?? [])
    for (const a of q.agents) if (a.extension && mine.includes(a.extension)) out.push({ queue: q, agent: a });
  return out;
}

// Whether the buttons for `a` are shown: own extensions; supervisors and admins anyone (the server
// checks the team).
export function mayChange(a: QueueAgent): boolean {
  if (!a.extension) return false;
  const role = state.me?.role;
  return role === 'admin' || role === 'supervisor' || myExtensions().includes(a.extension);
}

async function act(fn: () => Promise<unknown>, ok: string) {
  queues.busy = true;
  render();
  try {
    await fn();
    setFlash('ok', ok);
    return true;
  } catch (e) {
    setFlash('error', errText(e));
    return false;
  } finally {
    queues.busy = false;
    render();
  }
}

const memberPath = (q: string, ext: string) => `/api/v1/queues/${encodeURIComponent(q)}/members/${encodeURIComponent(ext)}`;

export function setPaused(queue: string, ext: string, paused: boolean, reason = '') {
  const body: Record<string, unknown> = { paused };
  if (paused && reason.trim()) body.reason = reason.trim();
  return act(() => api.patch(memberPath(queue, ext), body),
    paused ? t('q.didPause', { ext, queue }) : t('q.didUnpause', { ext, queue }));
}

export function logIn(queue: string, ext?: string) {
  const body: Record<string, unknown> = {};
  if (ext) body.extension = ext;
  return act(() => api.post(`/api/v1/queues/${encodeURIComponent(queue)}/members`, body),
    t('q.didLogin', { queue })).then(async (ok) => { if (ok) await loadQueues(); return ok; });
}

export function logOut(queue: string, ext: string) {
  return act(() => api.del(memberPath(queue, ext)), t('q.didLogout', { ext, queue }));
}
