// Who is on the other end of a call, as the card, the notification and the action links need it.
// Prefers the server's per-connection `remote_info` (number formats, contact matches, lookup state;
// re-published when a directory lookup finishes); without it (older servers) falls back to the
// call's `remote` and a client-side `GET /contacts/lookup`. Pure: the lookup is injected.
import type { Call, Contact, RemoteInfo } from './types';
import { remoteOf } from './store';
import { displayNumber } from './phone';

export interface Caller {
  // Key for the chooser memory and lookups: E.164, else the extension, else null (withheld/unknown).
  key: string | null;
  e164: string | null;
  extension: string | null;
  kind: 'external' | 'internal' | 'withheld' | 'unknown';
  display: string;          // the number as the card shows it (local format)
  international: string;    // +49 89 123456 style when known, else ''
  // 'pending': the server (or our own lookup) is still looking; 'done': `contacts` is the answer;
  // 'none': no lookup applies (withheld, internal without directory, ...).
  lookup: 'pending' | 'done' | 'none';
  contacts: Contact[];
  fromServer: boolean;      // remote_info was present
}

// The remote_info of the connection on one of `devices`, else of any connection that has one.
export function remoteInfoOf(call: Call, devices: string[] = []): RemoteInfo | null {
  const conns = call.connections ?? [];
  const mine = conns.find((x) => devices.includes(x.device) && x.remote_info);
  if (mine?.remote_info) return mine.remote_info;
  return conns.find((x) => x.remote_info)?.remote_info ?? null;
}

const KINDS = new Set(['external', 'internal', 'withheld', 'unknown']);
const LOOKUPS = new Set(['pending', 'done', 'none']);

function cleanContacts(list: unknown): Contact[] {
  if (!Array.isArray(list)) return [];
  const out: Contact[] = [];
  for (const c of list) {
    if (!c || typeof c !== 'object') continue;
    const o = c as Record<string, unknown>;
    if (o.id == null || typeof o.name !== 'string') continue;
    out.push({ id: String(o.id), name: o.name,
      company: typeof o.company === 'string' ? o.company : undefined,
      source: typeof o.source === 'string' ? o.source : undefined,
      match: o.match === 'exact' || o.match === 'company' ? o.match : undefined,
      number: typeof o.number === 'string' ? o.number : undefined });
  }
  return out;
}

// Client-side lookup for servers without remote_info: returns the matches once known, else
// undefined (and starts the lookup).
export type LookupFn = (number: string) => Contact[] | undefined;

export function callerOf(call: Call, devices: string[], homeCountry: string | undefined, lookup: LookupFn): Caller {
  const info = remoteInfoOf(call, devices);
  if (info) {
    const kind = KINDS.has(info.kind) ? info.kind : 'unknown';
    const e164 = typeof info.e164 === 'string' && info.e164 ? info.e164 : null;
    const extension = typeof info.extension === 'string' && info.extension ? info.extension : null;
    const withheld = kind === 'withheld';
    const display = withheld ? 'withheld'
      : (typeof info.display === 'string' && info.display) || (e164 ? displayNumber(e164, homeCountry) : extension) || 'unknown';
    const state = LOOKUPS.has(info.lookup) ? info.lookup : 'none';
    return { key: withheld ? null : e164 ?? extension, e164, extension, kind, display,
      international: typeof info.international === 'string' ? info.international : '',
      lookup: withheld ? 'none' : state, contacts: withheld ? [] : cleanContacts(info.contacts), fromServer: true };
  }
  // Fallback: the call-level remote and our own lookup.
  const number = remoteOf(call, devices);
  const withheld = call.remote?.withheld === true || (!number && call.remote != null);
  const e164 = number && number.startsWith('+') ? number : null;
  const extension = number && !number.startsWith('+') ? number : null;
  const base = { key: withheld ? null : number, e164, extension,
    kind: (withheld ? 'withheld' : e164 ? 'external' : extension ? 'internal' : 'unknown') as Caller['kind'],
    display: withheld ? 'withheld' : displayNumber(number, homeCountry, call.remote?.display),
    international: '', fromServer: false };
  if (withheld || !number) return { ...base, lookup: 'none', contacts: [] };
  if (call.remote?.contacts) return { ...base, lookup: 'done', contacts: cleanContacts(call.remote.contacts) };
  const found = lookup(number);
  return found ? { ...base, lookup: 'done', contacts: found } : { ...base, lookup: 'pending', contacts: [] };
}

// Values for URL and card templates: remote.* and contact.* (contact may be null).
export function templateVars(caller: Caller, contact: Contact | null, callId: string) {
  return {
    remote: { e164: caller.e164 ?? '', extension: caller.extension ?? '', display: caller.display,
      international: caller.international, kind: caller.kind, number: caller.key ?? '' },
    contact: contact ? { id: contact.id, name: contact.name, company: contact.company ?? '', source: contact.source ?? '',
      match: contact.match ?? '', number: contact.number ?? '' } : {},
    call: { id: callId },
  };
}
