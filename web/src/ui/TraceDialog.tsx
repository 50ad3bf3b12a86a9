// The explain trace of one call (app/trace): a dialog over the journal with one section per part
// (PBX events, number, directory lookups, event delivery, journal), each step with its time, what
// happened and the words why. Escape or the close button closes it.
import type { Key } from '../lib/i18n';
import { closeTrace, traceGroups, traceView } from '../app/trace';
import { t } from '../app/state';

const clock = (at: string) => (at.length >= 23 && at[10] === 'T' ? at.slice(11, 23) : at);

export function TraceDialog() {
  const v = traceView;
  if (!v.callId) return null;
  const groups = v.trace ? traceGroups(v.trace) : [];
  return (
    <div class="trace-backdrop" onClick={(ev) => { if (ev.target === ev.currentTarget) closeTrace(); }}>
      <div class="trace-dialog" role="dialog" aria-modal="true" aria-labelledby="trace-title"
        onKeyDown={(ev) => { if (ev.key === 'Escape') closeTrace(); }}>
        <h3 id="trace-title">{t('trace.title', { id: v.callId })}</h3>
        {v.loading ? <p class="trace-loading">{t('trace.loading')}</p> : null}
        {v.error ? <p class="trace-error error" role="alert">{v.error}</p> : null}
        {v.trace && !groups.length ? <p class="empty">{t('trace.empty')}</p> : null}
        {groups.map((g) => (
          <section key={g.stage} class="trace-stage" data-stage={g.stage}>
            <h4>{t(`trace.stage.${g.stage}` as Key)}</h4>
            <ol>{g.steps.map((s, i) => (
              <li key={i}><time dateTime={s.at}>{clock(s.at)}</time> <strong class="what">{s.what}</strong>{s.detail ? <span class="detail"> {s.detail}</span> : null}</li>))}
            </ol>
          </section>))}
        {v.trace && v.trace.dropped > 0 ? <p class="trace-dropped">{t('trace.dropped', { n: v.trace.dropped })}</p> : null}
        <button type="button" class="trace-close" autoFocus onClick={() => closeTrace()}>{t('trace.close')}</button>
      </div>
    </div>);
}
