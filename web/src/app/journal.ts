// The journal page: the user's calls (stored entries plus live ones not stored yet), filters, the
// calls-per-hour/day chart, notes and call back.
import { bucketize, chartSvg, isMissed } from '../lib/chart';
import { displayNumber, formatDuration } from '../lib/phone';
import type { JournalEntry } from '../lib/types';
import { track, type CommandAccepted } from './commands';
import { h } from './dom';
import { api, errText, render, say, setFlash, state } from './state';

const noteDrafts = new Map<number, string>();  // entry id -> note being typed (survives re-renders)
const filters: Record<string, string> = { direction: '', disposition: '', q: '', since: '' };
let chartUnit: 'hour' | 'day' = 'hour';
let reloadTimer: number | null = null;

export async function loadJournal() {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
  q.set('limit', '200');
  try {
    const r = await api.get<{ entries?: JournalEntry[] }>(`/api/v1/journal?${q}`);
    const stored = r.entries ?? [];
    // Live entries (no id yet) stay until the store returns them.
    const key = (e: JournalEntry) => `${e.call_id ?? ''}|${e.party}|${e.started_at}`;
    const have = new Set(stored.map(key));
    const unfiltered = Object.values(filters).every((v) => !v);
    state.journal = [...(unfiltered ? state.journal.filter((e) => e.id == null && !have.has(key(e))) : []), ...stored];
    render();
  } catch (e) {
    setFlash('error', `Journal: ${errText(e)}`);
  }
}

// A journal entry from the event stream: shown at once; when it has no id yet (stored later) and
// the journal is on screen, the stored version is fetched shortly after.
export function journalPushed(entry: JournalEntry) {
  state.journal = [entry, ...state.journal.filter((e) => e.id == null || e.id !== entry.id)];
  if (state.view === 'journal' && entry.id == null && reloadTimer == null)
    reloadTimer = window.setTimeout(() => { reloadTimer = null; void loadJournal(); }, 300);
}

async function saveNote(e: JournalEntry, note: string) {
  try {
    await api.patch(`/api/v1/journal/${e.id}`, { note });
    e.note = note;
    noteDrafts.delete(e.id);
    say('Note saved');
  } catch (err) { setFlash('error', `Note: ${errText(err)}`); }
}

async function callback(e: JournalEntry) {
  const home = state.uiConfig.home_country;
  try {
    // Entries pushed by the event stream have no id until the journal is reloaded.
    const r = typeof e.id === 'number' ? await api.post<CommandAccepted>(`/api/v1/journal/${e.id}/callback`)
      : await api.post<CommandAccepted>('/api/v1/calls', { to: e.remote, from: e.party });
    track(r, 'callback', displayNumber(e.remote, home));
    setFlash('ok', `Calling back ${displayNumber(e.remote, home)}…`);
  } catch (err) { setFlash('error', `Callback failed: ${errText(err)}`); }
}

export function journalView() {
  const entries = state.journal;
  const sel = (name: string, label: string, options: string[]) => h('label', {}, label, ' ',
    h('select', { name, onchange: (ev: Event) => { filters[name] = (ev.target as HTMLSelectElement).value; void loadJournal(); } },
      options.map((o) => h('option', { value: o, selected: filters[name] === o }, o || 'any'))));
  const q = h('input', { type: 'search', name: 'q', value: filters.q, 'aria-label': 'Search number or name' });
  const buckets = bucketize(entries, chartUnit, new Date(), chartUnit === 'hour' ? 12 : 7);
  const chart = h('figure', { class: 'chart' });
  chart.innerHTML = chartSvg(buckets);  // numbers and fixed labels only
  chart.append(h('figcaption', {}, `Calls per ${chartUnit} (answered `, h('span', { class: 'key-answered' }, '■'), ' / missed ', h('span', { class: 'key-missed' }, '■'), ') ',
    h('button', { class: 'link', onclick: () => { chartUnit = chartUnit === 'hour' ? 'day' : 'hour'; render(); } }, `per ${chartUnit === 'hour' ? 'day' : 'hour'}`)));
  return h('div', {},
    h('h2', { tabindex: -1 }, 'Journal'),
    h('form', { class: 'filters', onsubmit: (ev: Event) => { ev.preventDefault(); filters.q = q.value; void loadJournal(); } },
      sel('direction', 'Direction', ['', 'inbound', 'outbound', 'internal']),
      sel('disposition', 'Result', ['', 'answered', 'missed', 'answered_elsewhere', 'rejected', 'no_answer', 'busy', 'failed']),
      q, h('button', { type: 'submit' }, 'Filter')),
    chart,
    h('div', { class: 'scroll' }, h('table', { class: 'journal' },
      h('caption', { class: 'sr-only' }, 'Your calls, newest first'),
      h('thead', {}, h('tr', {}, ['When', 'Dir', 'Number', 'Name', 'Result', 'Duration', 'Note', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, entries.map(journalRow)))),
    !entries.length ? h('p', { class: 'empty' }, 'No calls match.') : null);
}

function journalRow(e: JournalEntry) {
  const missed = isMissed(e);
  const hasId = typeof e.id === 'number';
  const note = h('input', { id: `note-${e.id}`, disabled: !hasId, title: hasId ? null : 'Saving…', type: 'text', value: noteDrafts.get(e.id) ?? e.note ?? '', 'aria-label': `Note for call ${e.id}`, maxlength: 2000,
    oninput: (ev: Event) => noteDrafts.set(e.id, (ev.target as HTMLInputElement).value),
    onchange: (ev: Event) => void saveNote(e, (ev.target as HTMLInputElement).value) });
  return h('tr', { class: missed ? 'missed' : '', dataset: { entryId: String(e.id) } },
    h('td', {}, new Date(e.started_at).toLocaleString()),
    h('td', {}, e.direction === 'inbound' ? '←' : e.direction === 'outbound' ? '→' : '↔', h('span', { class: 'sr-only' }, e.direction)),
    h('td', { class: 'num' }, e.remote_withheld ? 'withheld' : displayNumber(e.remote, state.uiConfig.home_country)),
    h('td', { class: 'who' }, e.contact?.name
      ? [h('span', { class: 'contact-name' }, e.contact.name),
         e.contact.company ? h('span', { class: 'company' }, `, ${e.contact.company}`) : null,
         e.contact.source ? h('small', { class: 'source', title: 'directory source' }, ` · ${e.contact.source}`) : null]
      : e.remote_name ?? ''),
    h('td', { class: 'disp' }, missed ? h('strong', {}, 'missed') : e.disposition),
    h('td', { class: 'dur' }, formatDuration(e.talk_s)),
    h('td', {}, note),
    h('td', {}, e.remote && !e.remote_withheld ? h('button', { class: missed ? 'primary' : '', onclick: () => void callback(e) }, missed ? 'Call back' : 'Call') : null));
}
