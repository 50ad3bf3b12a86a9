// Call control from the page: dial (with a warning while already on a call), the buttons of a call
// card, the consult -> complete/cancel transfer flow on a pair of calls, and the outcome of each
// command (the 202 names it; the event stream reports done/failed later, failures become alerts,
// a finished transfer a confirmation). Main thread.
import { dialTarget } from '../lib/phone';
import { ApiError } from '../lib/api';
import type { Call, CommandStatus } from '../lib/types';
import type { Key } from '../lib/i18n';
import { callerLabel } from './caller';
import { alertUser, api, errText, live, myExtensions, render, say, setFlash, state, t } from './state';

// The 202 of a command (docs/api.md "Calls and call control").
export interface CommandAccepted { command_id?: string; command?: { id?: string; call_id?: string | null }; call_id?: string | null }

const sentCommands = new Map<string, { action: string; who: string }>();  // command id -> what we sent
export const targets = new Map<string, string>();  // call id -> transfer/consult target being typed

// A consultation in progress: the held call, the consultation call once it shows up, the target.
// 'requesting' until the server accepted the consult: the pair exists from the click on, because
// the consultation call can arrive on the event stream before the 202 does (the server sends the
// PBX action before it answers, and the stream is another connection).
export interface Pair { heldId: string; consultId: string | null; target: string; caller: string; since: number; phase: 'requesting' | 'consulting' | 'completing' | 'cancelling' }
export const pairs = new Map<string, Pair>();  // held call id -> pair
// Parks sent: call id -> who is parked (the call may be gone when the space is named).
const parking = new Map<string, string>();
// Blind transfers sent: call id -> who went where (a confirmation when the call leaves us).
const transfers = new Map<string, { caller: string; target: string }>();
// Numbers the user dialed, until the call shows up (so the card shows it at once).
export const dialed: { to: string; at: number; callId: string | null }[] = [];

export function actionLabel(a: string): string {
  const k = `act.${a}` as Key;
  return ['answer', 'hangup', 'hold', 'retrieve', 'consult', 'alternate', 'transfer', 'conference', 'deflect', 'pickup', 'make_call', 'callback', 'park', 'unpark', 'move'].includes(a) ? t(k) : a;
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
    const error = cmd.reason ?? t('error.other');
    const action = sent?.action ?? cmd.action;
    if (action === 'pickup' && error.startsWith('Nothing to pick up')) {
      // The server's words for a pickup that came too late (docs/api.md), in the page's language.
      alertUser(who ? t('pickup.nothingWho', { who }) : t('pickup.nothing'));
      if (state.flash?.kind === 'ok') state.flash = null;  // "your phone rings" is over
      sentCommands.delete(cmd.id);
      return;
    }
    if (action === 'unpark' && error.startsWith('Nothing was parked at ')) {
      // Someone else took it, it timed out or the caller hung up while the phone rang.
      const space = /^Nothing was parked at (\S+)/.exec(error)?.[1] ?? '';
      alertUser(t('park.nothing', { space }));
      if (state.flash?.kind === 'ok') state.flash = null;
      sentCommands.delete(cmd.id);
      return;
    }
    alertUser(who ? t('act.failedWho', { action: what, who, error }) : t('act.failed', { action: what, error }));
    sentCommands.delete(cmd.id);
    if (cmd.action === 'make_call' || sent?.action === 'make_call') { dialed.length = 0; if (state.flash?.kind === 'ok') state.flash = null; }
    if (cmd.call_id) {
      transfers.delete(cmd.call_id);
      // A consult that failed leaves no consultation behind; a refused complete/cancel leaves the
      // pair as it was (cancel names the consultation call).
      const p = pairs.get(cmd.call_id) ?? [...pairs.values()].find((x) => x.consultId === cmd.call_id);
      if (p && (sent?.action ?? cmd.action) === 'consult' && p.consultId == null) pairs.delete(p.heldId);
      else if (p && p.phase !== 'consulting') p.phase = 'consulting';
    }
  } else if (cmd.state === 'done') {
    if ((sent?.action ?? cmd.action) === 'park' && cmd.space) {
      // The PBX named the space: tell the user where the caller waits (and read it out). The call
      // left the user's phone by then, so who it was comes from the click.
      const parked = who || (cmd.call_id ? parking.get(cmd.call_id) : undefined);
      if (cmd.call_id) parking.delete(cmd.call_id);
      const words = parked ? t('park.parkedAt', { who: parked, space: cmd.space }) : t('park.parkedAtAnon', { space: cmd.space });
      setFlash('ok', words);
      say(words);
    } else {
      say(t('act.done', { action: what }));
    }
    sentCommands.delete(cmd.id);
  }
}

// Whether the user is on a call now (connected or holding one): dialing then asks first.
export function onCall(): boolean {
  const mine = myExtensions();
  return live.mine(mine).some((c) => c.connections.some((x) => mine.includes(x.device) && (x.state === 'connected' || x.state === 'held')));
}

export const confirmDial = { to: '' };  // the number waiting for "Dial anyway"

export async function dial(raw: string, force = false) {
  const to = dialTarget(raw);
  if (!to) { setFlash('error', t('dial.empty')); return; }
  if (!force && onCall()) { confirmDial.to = to; render(); return; }
  // The question goes at the click, not when the server has answered (it sends the PBX action
  // first: web_e2e_dial_card saw the Originate while the question was still shown).
  if (confirmDial.to) { confirmDial.to = ''; render(); }
  // Noted before the request: the call's first event may come over the stream before the 202
  // (the demo's PBX answers the Originate at once), and its card shows the number from the start.
  dialed.splice(0, dialed.length, { to, at: Date.now(), callId: null });
  try {
    const r = await api.post<CommandAccepted>('/api/v1/calls', { to });
    track(r, 'make_call', to);
    state.lastDialed = to;
    localStorage.setItem('cb.lastDialed', to);
    state.pendingDial = '';
    setFlash('ok', t('dial.calling', { number: to }));
  } catch (e) {
    dialed.length = 0;
    setFlash('error', t('dial.failed', { error: errText(e) }));
  }
}

// Directed pickup from the presence page: the server takes the call ringing longest at the
// colleague's line (POST /api/v1/lines/{device}/pickup; the page knows lines, not call ids).
// Feature detection: a server without the route answers 404 "no resource at ..." (or 405);
// then the button goes away for this page's life.
export const pickup = { supported: true };
export async function pickupLine(device: string, name: string) {
  try {
    const r = await api.post<CommandAccepted>(`/api/v1/lines/${encodeURIComponent(device)}/pickup`, {});
    track(r, 'pickup', name);
    setFlash('ok', t('presence.pickupSent', { name }));
  } catch (e) {
    if (e instanceof ApiError && (e.status === 405 || (e.status === 404 && e.detail.startsWith('no resource at')))) {
      pickup.supported = false;
      alertUser(t('presence.pickupUnsupported'));
      render();
      return;
    }
    alertUser(t('act.failed', { action: actionLabel('pickup'), error: errText(e) }));
  }
}

// "Pick up" on a colleague's ringing call card (the call's allowed_actions offer it): POST
// /api/v1/calls/{id}/pickup; the outcome (done, or "Nothing to pick up") comes as a command event.
export async function pickupCall(c: Call, name: string) {
  try {
    const r = await api.post<CommandAccepted>(`/api/v1/calls/${encodeURIComponent(c.id)}/pickup`, {});
    track(r, 'pickup', name);
    setFlash('ok', t('presence.pickupSent', { name }));
  } catch (e) {
    alertUser(t('act.failed', { action: actionLabel('pickup'), error: errText(e) }));
  }
}

// The number the user dialed for a call that does not know its remote yet (null: not ours).
export function dialedNumber(c: Call): string | null {
  const d = dialed.find((x) => x.callId === c.id);
  return d ? d.to : null;
}

// A call of ours appeared: the consultation of a pending consult (whether or not its 202 came
// yet), or the call the user just dialed. Neither is a call ringing in at the user's phone.
export function consultCallSeen(c: Call) {
  if (live.incoming(myExtensions()).some((x) => x.id === c.id)) return;
  const now = Date.now();
  for (const p of pairs.values()) {
    if (p.consultId == null && p.heldId !== c.id && now - p.since < 60_000) { p.consultId = c.id; return; }
  }
  const d = dialed.find((x) => x.callId == null && now - x.at < 60_000);
  if (d) d.callId = c.id;
}

// A call of ours ended: finish the pair or transfer it belonged to, with a confirmation.
export function pairEnded(callId: string) {
  const tr = transfers.get(callId);
  if (tr) { transfers.delete(callId); setFlash('ok', t('xfer.done', tr)); say(t('xfer.done', tr)); }
  for (const [held, p] of pairs) {
    if (p.heldId !== callId && p.consultId !== callId) continue;
    if (p.phase === 'completing') {
      pairs.delete(held);
      const words = t('xfer.done', { caller: p.caller, target: p.target });
      setFlash('ok', words); say(words);
    } else if (p.phase === 'cancelling' && callId === p.consultId) {
      pairs.delete(held);
      const c = live.calls.get(p.heldId);
      const device = c && c.connections.find((x) => myExtensions().includes(x.device))?.device;
      if (c && device && (c.allowed_actions?.[device] ?? []).includes('retrieve')) void control(c, device, 'retrieve');
      setFlash('ok', t('xfer.cancelled', { caller: p.caller }));
    } else if (callId === p.heldId) {
      pairs.delete(held);
    } else {
      p.consultId = null;
    }
  }
  const i = dialed.findIndex((x) => x.callId === callId);
  if (i >= 0) dialed.splice(i, 1);
}

// The pair a call belongs to, if any.
export function pairOf(callId: string): Pair | undefined {
  for (const p of pairs.values()) if (p.heldId === callId || p.consultId === callId) return p;
  return undefined;
}

async function post(c: Call, action: string, body: Record<string, string>): Promise<boolean> {
  try {
    const r = await api.post<CommandAccepted>(`/api/v1/calls/${encodeURIComponent(c.id)}/${action}`, body);
    track(r, action, callerLabel(c));
    say(t('act.sent', { action: actionLabel(action) }));
    return true;
  } catch (e) {
    alertUser(t('act.failed', { action: actionLabel(action), error: errText(e) }));
    return false;
  }
}

export async function control(c: Call, device: string, action: string) {
  let body: Record<string, string> = {};
  if (action === 'answer') body = { device };
  let to = '';
  if (action === 'consult' || action === 'transfer' || action === 'deflect') {
    to = dialTarget(targets.get(c.id) ?? '');
    // Transfer without a target completes a consultation (the pair's button); on a single call it
    // needs one like consult and deflect.
    if (!to && !(action === 'transfer' && pairOf(c.id))) {
      alertUser(t('xfer.needTarget', { action: actionLabel(action) }));
      document.getElementById(`target-${c.id}`)?.focus();
      return;
    }
    if (to) body = { to };
  }
  const caller = callerLabel(c);
  if (action === 'park') {
    if (parking.size > 50) parking.clear();
    parking.set(c.id, caller);
  }
  let pair: Pair | undefined;
  if (action === 'consult') {
    pair = { heldId: c.id, consultId: null, target: to, caller, since: Date.now(), phase: 'requesting' };
    pairs.set(c.id, pair);
    render();
  }
  const ok = await post(c, action, body);
  if (pair) {
    // Unless the held call ended or the consult failed meanwhile (pairEnded/commandOutcome).
    if (pairs.get(c.id) === pair) { if (ok) pair.phase = 'consulting'; else pairs.delete(c.id); }
    render();
  }
  if (!ok) return;
  if ((action === 'transfer' || action === 'deflect') && to) {
    transfers.set(c.id, { caller, target: to });
    targets.delete(c.id);
  }
}

// AnyDevice, moving a call (docs/api.md POST /api/v1/calls/{id}/move): the user's connected call
// goes to one of their external devices ("take it on my mobile") or back to the desk phone (the
// extension that has it). The new device rings and takes the call over once answered; the
// command's outcome says when (done) or why not (failed: not answered, the call ended).
export async function moveCall(c: Call, device: string) {
  return post(c, 'move', { device });
}

// "Complete transfer" on a pair: transfer without target on the call that allows it.
export async function completeTransfer(p: Pair) {
  const mine = myExtensions();
  const pick = [p.consultId, p.heldId].map((id) => (id ? live.calls.get(id) : undefined)).find((c) => {
    const d = c?.connections.find((x) => mine.includes(x.device))?.device;
    return c && d && (c.allowed_actions?.[d] ?? []).includes('transfer');
  }) ?? live.calls.get(p.heldId);
  if (!pick) return;
  p.phase = 'completing';
  render();
  if (!(await post(pick, 'transfer', {}))) { p.phase = 'consulting'; render(); }
}

// "Cancel consultation": hang up the consultation call; the held caller is resumed when it ended.
export async function cancelConsult(p: Pair) {
  const c = p.consultId ? live.calls.get(p.consultId) : undefined;
  if (!c) { pairs.delete(p.heldId); render(); return; }
  p.phase = 'cancelling';
  render();
  if (!(await post(c, 'hangup', {}))) { p.phase = 'consulting'; render(); }
}
