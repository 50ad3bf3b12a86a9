// Who is calling: the caller of a call (server remote_info, else the client's own lookup), the
// contact resolution (remembered choice, chooser) and the label used in announcements.
import { resolveContact, type Resolution } from '../lib/chooser';
import { callerOf, type Caller } from '../lib/remote';
import type { Call, Contact } from '../lib/types';
import { api, live, memory, myExtensions, render, state } from './state';

// GET /api/v1/contacts/lookup answer (docs/api.md).
interface LookupMatch { id: string | number; name: string; company?: string; source?: string; match?: string; matched_number?: string }

export const manualChoice = new Map<string, Contact>();  // call id -> contact picked (this session)
const lookups = new Map<string, Contact[] | null>();  // call id + number -> matches (null = in flight)
let afterLookup: () => void = () => {};
// Called after a client-side lookup finished (notifications may need the new name).
export function onLookupDone(fn: () => void) { afterLookup = fn; }

// Client-side lookup, only for servers that send no remote_info: once per call and number (a new
// call looks again, so contacts added meanwhile are found).
function clientLookup(callId: string, n: string): Contact[] | undefined {
  const key = `${callId}\u0000${n}`;
  if (!lookups.has(key)) {
    if (lookups.size > 500) lookups.clear();
    lookups.set(key, null);
    api.get<{ matches?: LookupMatch[] }>(`/api/v1/contacts/lookup?number=${encodeURIComponent(n)}`)
      .then((r) => {
        lookups.set(key, (r.matches ?? []).map((m): Contact => ({ id: String(m.id), name: m.name, company: m.company, source: m.source,
          match: m.match === 'company' ? 'company' : 'exact', number: m.matched_number })));
      })
      .catch(() => lookups.set(key, []))
      .finally(() => { render(); afterLookup(); });
  }
  return lookups.get(key) ?? undefined;
}

// The contact the user picked (now or earlier for the same number) per call, kept after the call
// ended so its journal entry can be given that contact when it arrives.
export const chosenFor = new Map<string, Contact>();

// How the server formats numbers (remote_info.display, the tenant's dialing plan) per E.164, kept
// in the browser (bounded) so the journal, which has E.164 only, shows numbers the same way.
const DISPLAYS_KEY = 'cb.displays';
const displays: Map<string, string> = (() => {
  try { const v = JSON.parse(localStorage.getItem(DISPLAYS_KEY) ?? '[]'); return new Map(Array.isArray(v) ? v.filter((x) => Array.isArray(x) && x.length === 2) : []); } catch { return new Map(); }
})();
function rememberDisplay(e164: string | null, display: string) {
  if (!e164 || !display || display === e164 || displays.get(e164) === display) return;
  displays.delete(e164);
  displays.set(e164, display);
  while (displays.size > 500) displays.delete(displays.keys().next().value as string);
  try { localStorage.setItem(DISPLAYS_KEY, JSON.stringify([...displays])); } catch { /* storage full: memory only */ }
}
export function displayOf(e164: string | null): string | undefined { return e164 ? displays.get(e164) : undefined; }

// The choice for a journal entry's call_id (the live call's id, or the id the entry names when a
// link prefix differs: `lab-1795.0` vs `1795.0`).
export function chosenForEntry(callId: string | undefined): Contact | undefined {
  if (!callId) return undefined;
  const exact = chosenFor.get(callId);
  if (exact) return exact;
  for (const [id, c] of chosenFor) if (id.endsWith(`-${callId}`) || callId.endsWith(`-${id}`)) return c;
  return undefined;
}

export function resolved(c: Call): { caller: Caller; res: Resolution } {
  const caller = callerOf(c, myExtensions(), state.uiConfig.home_country, (n) => clientLookup(c.id, n));
  if (caller.fromServer && caller.kind === 'external') rememberDisplay(caller.e164, caller.display);
  const picked = manualChoice.get(c.id);
  const res: Resolution = picked ? { kind: 'contact', contact: picked, remembered: true } : resolveContact(memory, caller.key, caller.contacts);
  if (res.kind === 'contact' && res.remembered) {
    if (chosenFor.size > 200) chosenFor.clear();
    chosenFor.set(c.id, res.contact);
    if (c.connections.some((x) => myExtensions().includes(x.device))) sendChoice(c.id, res.contact);
  }
  return { caller, res };
}

// The choice goes to the server at once (PUT /api/v1/calls/{id}/contact): it writes it into the
// call's journal entry when the call ends, even when this page is closed by then or the server
// restarted meanwhile. Once per call and contact. A server without the route (404 "no resource
// at", 405) is not asked again; the entry then gets the choice by PATCH when it arrives here
// (journalPushed), as before.
const sentChoices = new Map<string, string>();  // call id -> source:id sent
export const choiceRoute = { supported: true };
// "Choose another": the server forgets the choice sent for the call ({"contact": null}), so the
// entry is not written with a contact the user took back.
export function clearChoice(callId: string) {
  chosenFor.delete(callId);
  if (!sentChoices.has(callId)) return;
  sentChoices.delete(callId);
  if (!choiceRoute.supported) return;
  void api.request('PUT', `/api/v1/calls/${encodeURIComponent(callId)}/contact`, { contact: null }).catch(() => { /* ended meanwhile */ });
}
export function sendChoice(callId: string, contact: Contact) {
  const key = `${contact.source ?? 'store'}:${contact.id}`;
  if (!choiceRoute.supported || sentChoices.get(callId) === key) return;
  if (sentChoices.size > 200) sentChoices.clear();
  sentChoices.set(callId, key);
  void api.request('PUT', `/api/v1/calls/${encodeURIComponent(callId)}/contact`,
    { contact: { id: String(contact.id), source: contact.source ?? 'store', name: contact.name, company: contact.company ?? '' } })
    .catch((e: unknown) => {
      const err = e as { status?: number; detail?: string };
      if (err.status === 405 || (err.status === 404 && (err.detail ?? '').startsWith('no resource at'))) choiceRoute.supported = false;
      else if (!err.status || err.status >= 500) sentChoices.delete(callId);  // offline, server trouble: again on the next render
    });
}

export function colleagueName(caller: Caller): string {
  return caller.kind === 'internal' && caller.extension ? live.lines.get(caller.extension)?.name ?? '' : '';
}

export function callerLabel(c: Call): string {
  const { caller, res } = resolved(c);
  if (res.kind === 'contact') return `${res.contact.name}${res.contact.company ? `, ${res.contact.company}` : ''} (${caller.display})`;
  const colleague = colleagueName(caller);
  return colleague ? `${colleague} (${caller.display})` : caller.display;
}
