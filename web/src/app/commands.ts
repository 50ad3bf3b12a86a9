// Call control from the page: dial, the buttons of a call card, and the outcome of each command
// (the 202 names it; the event stream reports done/failed later, failures become alerts).
import { dialTarget } from '../lib/phone';
import type { Call, CommandStatus } from '../lib/types';
import { callerLabel } from './caller';
import { alertUser } from './notify';
import { api, errText, live, say, setFlash, state } from './state';

// The 202 of a command (docs/api.md "Calls and call control").
export interface CommandAccepted { command_id?: string; command?: { id?: string } }

const sentCommands = new Map<string, { action: string; who: string }>();  // command id -> what we sent
export const targets = new Map<string, string>();  // call id -> transfer/consult target being typed

export function actionLabel(a: string): string {
  const labels: Record<string, string> = {
    answer: 'Answer', hangup: 'Hang up', hold: 'Hold', retrieve: 'Retrieve', consult: 'Consult', alternate: 'Alternate',
    transfer: 'Transfer', conference: 'Conference', deflect: 'Deflect',
    make_call: 'Call', make: 'Call', dial: 'Call', originate: 'Call', callback: 'Call back',
  };
  return labels[a] ?? a;
}

// Remembers the command a 202 named, so its outcome can say which call it was about.
export function track(r: CommandAccepted | null | undefined, action: string, who: string) {
  const id = r?.command_id ?? r?.command?.id;
  if (typeof id !== 'string') return;
  if (sentCommands.size > 200) sentCommands.clear();
  sentCommands.set(id, { action, who });
}

// Outcome of a command we (or another tab of this user) sent: failures are alerts.
export function commandOutcome(cmd: CommandStatus) {
  if (!cmd || typeof cmd.id !== 'string') return;
  const sent = sentCommands.get(cmd.id);
  const what = actionLabel(sent?.action ?? cmd.action ?? 'command');
  // The outcome may arrive before the 202 that names the command: then the call tells who it was.
  const call = cmd.call_id ? live.calls.get(cmd.call_id) : undefined;
  const who = sent?.who ?? (call ? callerLabel(call) : '');
  if (cmd.state === 'failed') {
    alertUser(`${what}${who ? ` (${who})` : ''} failed${cmd.reason ? `: ${cmd.reason}` : ''}`);
    sentCommands.delete(cmd.id);
  } else if (cmd.state === 'done') {
    say(`${what} done`);
    sentCommands.delete(cmd.id);
  }
}

export async function dial(raw: string) {
  const to = dialTarget(raw);
  if (!to) { setFlash('error', 'Enter a number to dial'); return; }
  try {
    const r = await api.post<CommandAccepted>('/api/v1/calls', { to });
    track(r, 'make_call', to);
    state.lastDialed = to;
    localStorage.setItem('cb.lastDialed', to);
    state.pendingDial = '';
    setFlash('ok', `Calling ${to}…`);
  } catch (e) {
    setFlash('error', `Dial failed: ${errText(e)}`);
  }
}

export async function control(c: Call, device: string, action: string) {
  let body: Record<string, string> = {};
  if (action === 'answer') body = { device };
  if (action === 'consult' || action === 'transfer' || action === 'deflect') {
    const input = document.getElementById(`target-${c.id}`) as HTMLInputElement | null;
    const to = dialTarget(input?.value ?? targets.get(c.id) ?? '');
    if (action !== 'transfer' && !to) { alertUser(`Enter the number to ${action === 'consult' ? 'consult' : 'deflect to'}`); input?.focus(); return; }
    if (to) body = { to };
  }
  try {
    const r = await api.post<CommandAccepted>(`/api/v1/calls/${encodeURIComponent(c.id)}/${action}`, body);
    track(r, action, callerLabel(c));
    say(`${actionLabel(action)} sent`);
  } catch (e) {
    alertUser(`${actionLabel(action)} failed: ${errText(e)}`);
  }
}
