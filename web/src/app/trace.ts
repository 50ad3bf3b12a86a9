// The admins' explain trace of one call ("why did Anna get no pop?", docs/troubleshooting.md):
// GET /api/v1/calls/{id}/trace, opened from a journal entry's Explain button and shown by
// ui/TraceDialog.tsx, one section per part (PBX events, number, directory lookups, event
// delivery, journal) with each step's time. Main thread.
import { api, errText, render, state } from './state';

export type TraceStage = 'pbx' | 'number' | 'directory' | 'delivery' | 'journal';
export interface TraceStep { at: string; stage: TraceStage; what: string; detail: string }
export interface CallTrace { call_id: string; first: string; last: string; dropped: number; steps: TraceStep[] }

export interface TraceView { callId?: string; trace?: CallTrace; error?: string; loading: boolean }
export const traceView: TraceView = { loading: false };

export const STAGES: readonly TraceStage[] = ['pbx', 'number', 'directory', 'delivery', 'journal'];

// Traces are the tenant admins' (the API answers 403 to everyone else).
export function mayExplain(): boolean { return state.me?.role === 'admin'; }

// The trace's steps per part, in the parts' order, each part's steps by time; empty parts left out.
export function traceGroups(t: CallTrace): { stage: TraceStage; steps: TraceStep[] }[] {
  const steps = Array.isArray(t.steps) ? t.steps : [];
  return STAGES.map((stage) => ({ stage, steps: steps.filter((s) => s.stage === stage).sort((a, b) => a.at.localeCompare(b.at)) }))
    .filter((g) => g.steps.length > 0);
}

export async function openTrace(callId: string) {
  traceView.callId = callId;
  traceView.trace = undefined;
  traceView.error = undefined;
  traceView.loading = true;
  render();
  try {
    const t = await api.get<CallTrace>(`/api/v1/calls/${encodeURIComponent(callId)}/trace`);
    if (traceView.callId === callId) traceView.trace = t;
  } catch (e) {
    if (traceView.callId === callId) traceView.error = errText(e);
  }
  if (traceView.callId === callId) traceView.loading = false;
  render();
}

export function closeTrace() {
  traceView.callId = undefined;
  traceView.trace = undefined;
  traceView.error = undefined;
  traceView.loading = false;
  render();
}
