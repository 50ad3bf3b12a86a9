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

export function resolved(c: Call): { caller: Caller; res: Resolution } {
  const caller = callerOf(c, myExtensions(), state.uiConfig.home_country, (n) => clientLookup(c.id, n));
  const picked = manualChoice.get(c.id);
  if (picked) return { caller, res: { kind: 'contact', contact: picked, remembered: true } };
  return { caller, res: resolveContact(memory, caller.key, caller.contacts) };
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
