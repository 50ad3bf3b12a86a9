// The journal page: newest first, the open missed calls counter, filters, CSV export, the
// calls-per-hour/day chart, and one row per call keyed by entry id (number formatted, the line for
// admins/supervisors, contact chosen in the pop, result, ring and talk time, transfer from/to, note,
// call back, and for admins Explain: the call's explain trace, ui/TraceDialog; a missed call called
// back since is marked so). Narrow screens get one block per call
// that keeps name and note.
import { useState } from 'preact/hooks';
import { bucketize, chartSvg } from '../lib/chart';
import { displayNumber, formatDuration } from '../lib/phone';
import { carriedBy, durationEstimated, isMissedEntry, isUnseenOutcome, missedCount, missedDone, newestFirst } from '../lib/journalview';
import type { JournalEntry } from '../lib/types';
import type { Key } from '../lib/i18n';
import { displayOf } from '../app/caller';
import { callback, csvHref, filters, loadJournal, noteDrafts, saveNote } from '../app/journal';
import { api, errText, fmtTime, isSupervisor, live, setFlash, state, t } from '../app/state';
import { mayExplain, openTrace } from '../app/trace';
import { TraceDialog } from './TraceDialog';

// "≈ " before a duration that rests on an estimated time (callbridge did not see that moment).
const approx = (estimated: boolean) => (estimated ? <span class="approx" title={t('journal.estimated')}>≈ </span> : null);

const DISPOSITIONS = ['answered', 'missed', 'answered_elsewhere', 'rejected', 'no_answer', 'busy', 'failed', 'unknown'];
const DIRECTIONS = ['inbound', 'outbound', 'internal'];

async function exportCsv() {
  try {
    const text = await api.text(csvHref());
    const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `journal-${new Date().toISOString().slice(0, 10)}.csv`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (e) { setFlash('error', errText(e)); }
}

export function JournalPage() {
  const [unit, setUnit] = useState<'hour' | 'day'>('hour');
  const [q, setQ] = useState(filters.q);
  const entries = newestFirst(state.journal);
  const missed = missedCount(state.journalMissed, entries);
  const buckets = bucketize(entries, unit, new Date(), unit === 'hour' ? 12 : 7);
  const party = isSupervisor();
  const home = state.uiConfig.home_country;
  const sel = (name: string, label: string, options: string[], word: (o: string) => string) => (
    <label>{label}{' '}
      <select name={name} value={filters[name]} onChange={(ev) => { filters[name] = (ev.target as HTMLSelectElement).value; void loadJournal(); }}>
        <option value="">{t('journal.any')}</option>
        {options.map((o) => <option key={o} value={o}>{word(o)}</option>)}
      </select>
    </label>);
  return (
    <div class="journal-page">
      <h2 tabIndex={-1}>{t('journal.title')}</h2>
      <div class="toolbar">
        <button type="button" class={`missed-counter ${missed ? 'has-missed' : ''}`} aria-pressed={filters.disposition === 'missed'}
          onClick={() => { filters.disposition = filters.disposition === 'missed' ? '' : 'missed'; void loadJournal(); }}>
          {missed ? t('journal.missedOpen', { n: missed }) : t('journal.missedNone')}
        </button>
        <form class="filters" onSubmit={(ev) => { ev.preventDefault(); filters.q = q; void loadJournal(); }}>
          {sel('direction', t('journal.dir'), DIRECTIONS, (o) => t(`dir.${o}` as Key))}
          {sel('disposition', t('journal.result'), DISPOSITIONS, (o) => t(`disp.${o}` as Key))}
          <input type="search" name="q" value={q} aria-label={t('journal.search')} placeholder={t('journal.search')} onInput={(ev) => setQ((ev.target as HTMLInputElement).value)} />
          <button type="submit">{t('journal.filter')}</button>
        </form>
        <button type="button" id="journal-csv" onClick={() => void exportCsv()}>{t('journal.csv')}</button>
      </div>
      <figure class="chart">
        <div dangerouslySetInnerHTML={{ __html: chartSvg(buckets) }} />
        <figcaption>{t('journal.chart', { unit: t(unit === 'hour' ? 'journal.hour' : 'journal.day'), a: '\u0001', m: '\u0002' }).split(/([\u0001\u0002])/).map((part, i) =>
          part === '\u0001' ? <span key={i} class="key-answered">■</span> : part === '\u0002' ? <span key={i} class="key-missed">■</span> : part)}{' '}
          <button type="button" class="link" onClick={() => setUnit(unit === 'hour' ? 'day' : 'hour')}>{t(unit === 'hour' ? 'journal.perDay' : 'journal.perHour')}</button>
        </figcaption>
      </figure>
      <div class="table-wrap" tabIndex={0} role="region" aria-label={t('journal.caption')}>
        <table class={`journal ${party ? 'with-party' : ''}`}>
          <caption class="sr-only">{t('journal.caption')}</caption>
          <thead><tr>
            <th scope="col" class="c-when">{t('journal.when')}</th>
            <th scope="col" class="c-dir">{t('journal.dir')}</th>
            {party ? <th scope="col" class="c-party">{t('journal.party')}</th> : null}
            <th scope="col" class="c-num">{t('journal.number')}</th>
            <th scope="col" class="c-name">{t('journal.name')}</th>
            <th scope="col" class="c-disp">{t('journal.result')}</th>
            <th scope="col" class="c-ring">{t('journal.ring')}</th>
            <th scope="col" class="c-dur">{t('journal.duration')}</th>
            <th scope="col" class="c-xfer">{t('journal.transfer')}</th>
            <th scope="col" class="c-note">{t('journal.note')}</th>
            <th scope="col" class="c-act"><span class="sr-only">{t('journal.actions')}</span></th>
          </tr></thead>
          <tbody>{entries.map((e) => <Row key={e.id ?? `${e.call_id}|${e.party}|${e.started_at}`} e={e} all={entries} party={party} home={home} />)}</tbody>
        </table>
      </div>
      {!entries.length ? <p class="empty">{t('journal.none')}</p> : null}
      <TraceDialog />
    </div>);
}

function partyName(ext: string): string {
  const n = live.lines.get(ext)?.name;
  return n ? `${n} (${ext})` : ext;
}

function Row({ e, all, party, home }: { e: JournalEntry; all: JournalEntry[]; party: boolean; home?: string }) {
  const missed = isMissedEntry(e);
  const done = missed && missedDone(e, all);
  const hasId = typeof e.id === 'number';
  const number = e.remote_withheld ? t('card.withheld') : displayNumber(e.remote, home, displayOf(e.remote));
  const name = e.contact?.name ?? e.remote_name ?? '';
  const when = fmtTime(e.started_at);
  const dirIcon = e.direction === 'inbound' ? '↙' : e.direction === 'outbound' ? '↗' : '↔';
  const xfer = [e.transferred_from ? t('journal.xferFrom', { who: partyName(e.transferred_from) }) : '', e.transferred_to ? t('journal.xferTo', { who: partyName(e.transferred_to) }) : ''].filter(Boolean).join(', ');
  return (
    <tr class={`${missed && !done ? 'missed' : ''} ${done ? 'missed-done' : ''}`} data-entry-id={String(e.id)}>
      <td class="c-when" data-label={t('journal.when')}><time dateTime={e.started_at}>{when}</time></td>
      <td class="c-dir" data-label={t('journal.dir')}><span aria-hidden="true">{dirIcon} </span>{t(`dir.${e.direction}` as Key)}</td>
      {party ? <td class="c-party" data-label={t('journal.party')}>{partyName(e.party)}</td> : null}
      <td class="c-num num" data-label={t('journal.number')}>{number}</td>
      <td class="c-name who" data-label={t('journal.name')}>
        {e.contact?.name ? <><span class="contact-name">{e.contact.name}</span>{e.contact.company ? <span class="company">, {e.contact.company}</span> : null}
          {e.contact.source ? <small class="source" title="directory source"> · {e.contact.source}</small> : null}</> : name}
      </td>
      <td class="c-disp disp" data-label={t('journal.result')}>{missed && !done ? <strong>{t('disp.missed')}</strong>
        : isUnseenOutcome(e) ? <span class="disp-unknown" title={t('journal.unseen')}>{t('disp.unknown')}</span>
        : DISPOSITIONS.includes(e.disposition) ? t(`disp.${e.disposition}` as Key) : e.disposition}
        {done ? <span class="tag-done"> ✓ {t('journal.calledBack')}</span> : null}
        {carriedBy(e) ? <span class="tag-device" title={e.device?.number}> · {t('journal.via', { device: carriedBy(e) ?? '' })}</span> : null}</td>
      <td class="c-ring" data-label={t('journal.ring')}>{approx(durationEstimated(e, 'ring'))}{formatDuration(e.ring_s)}</td>
      <td class="c-dur dur" data-label={t('journal.duration')}>{approx(durationEstimated(e, 'talk'))}{formatDuration(e.talk_s)}</td>
      <td class="c-xfer" data-label={t('journal.transfer')}>{xfer}</td>
      <td class="c-note" data-label={t('journal.note')}>
        <input id={`note-${e.id}`} disabled={!hasId} title={hasId ? undefined : t('journal.saving')} type="text" maxLength={2000}
          value={noteDrafts.get(e.id) ?? e.note ?? ''} aria-label={t('journal.noteFor', { who: name || number, time: when })}
          onInput={(ev) => { noteDrafts.set(e.id, (ev.target as HTMLInputElement).value); }}
          onChange={(ev) => void saveNote(e, (ev.target as HTMLInputElement).value)}
          onKeyDown={(ev) => { if (ev.key === 'Enter') void saveNote(e, (ev.target as HTMLInputElement).value); }}
          onBlur={(ev) => void saveNote(e, (ev.target as HTMLInputElement).value)} />
      </td>
      <td class="c-act">
        {e.remote && !e.remote_withheld ? <button type="button" class={missed && !done ? 'primary' : ''} onClick={() => void callback(e)}
          aria-label={`${missed && !done ? t('journal.callback') : t('journal.call')}: ${name || number}`}>{missed && !done ? t('journal.callback') : t('journal.call')}</button> : null}
        {mayExplain() && e.call_id ? <button type="button" class="explain" onClick={() => void openTrace(e.call_id ?? '')}
          aria-label={t('journal.explainFor', { time: when })}>{t('journal.explain')}</button> : null}
      </td>
    </tr>);
}


