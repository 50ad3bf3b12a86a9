// The queue board (docs/queues.md, docs/web.md): per queue the waiting callers in position order
// with who they are (the directory's contact, else the number) and how long they have waited, the
// longest wait, today's answered and abandoned calls, and the agents with their state (paused with
// the reason, ringing, on a call, wrap-up until the PBX's wrap-up ends); pause/unpause/log out
// buttons for the agents the viewer may change. Waiting times tick every second.
import { useEffect, useState } from 'preact/hooks';
import { agentStateText, callerText, fmtWait, logIn, logOut, mayChange, queues, setPaused, waitOf } from '../app/queues';
import { fmtTime, state, t } from '../app/state';
import type { Queue, QueueAgent } from '../lib/types';

function AgentRow({ q, a }: { q: Queue; a: QueueAgent }) {
  const [reason, setReason] = useState('');
  const who = a.name || a.extension || a.interface;
  const state = a.state === 'wrap_up' && a.wrapup_until ? t('q.wrapUntil', { time: fmtTime(a.wrapup_until, false) }) : agentStateText(a);
  return (
    <tr data-agent={a.extension ?? a.interface} data-state={a.state}>
      <td>{who}</td>
      <td>{a.extension ?? '—'}</td>
      <td class={`agent-state state-${a.state}`}>{state}</td>
      <td>{a.calls_taken}</td>
      <td class="row-actions">{mayChange(a) && a.extension ? (
        a.paused ? (
          <button type="button" disabled={queues.busy} aria-label={t('q.unpauseOf', { name: who, queue: q.name })}
            onClick={() => void setPaused(q.name, a.extension!, false)}>{t('q.unpause')}</button>
        ) : (
          <span>
            <input class="pause-reason" aria-label={t('q.reason')} placeholder={t('q.reason')} maxLength={80} value={reason}
              onInput={(ev) => setReason((ev.target as HTMLInputElement).value)} />{' '}
            <button type="button" disabled={queues.busy} aria-label={t('q.pauseOf', { name: who, queue: q.name })}
              onClick={() => void setPaused(q.name, a.extension!, true, reason).then((ok) => { if (ok) setReason(''); })}>{t('q.pause')}</button>
          </span>)) : null}
        {mayChange(a) && a.extension && a.membership !== 'static' ? (
          <>{' '}<button type="button" disabled={queues.busy} aria-label={t('q.logoutOf', { name: who, queue: q.name })}
            onClick={() => void logOut(q.name, a.extension!)}>{t('q.logout')}</button></>) : null}
      </td>
    </tr>);
}

// Supervisors and admins log a colleague's extension in (the server checks the team).
function LoginOther({ q }: { q: Queue }) {
  const [ext, setExt] = useState('');
  const id = `login-ext-${q.id}`;
  return (
    <form class="login-other" onSubmit={(ev) => {
      ev.preventDefault();
      if (ext.trim()) void logIn(q.name, ext.trim()).then((ok) => { if (ok) setExt(''); });
    }}>
      <label for={id}>{t('q.loginExt')}</label>{' '}
      <input id={id} size={8} maxLength={32} value={ext} onInput={(e) => setExt((e.target as HTMLInputElement).value)} />{' '}
      <button type="submit" disabled={queues.busy}>{t('q.login')}</button>
    </form>);
}

function QueueCard({ q, now }: { q: Queue; now: number }) {
  const longest = q.callers.reduce((m, c) => Math.max(m, waitOf(c, now)), 0);
  return (
    <section class="queue" data-queue={q.id} aria-labelledby={`queue-${q.id}`}>
      <h3 id={`queue-${q.id}`}>{q.name}{q.pbx ? <span class="hint"> ({q.pbx})</span> : null}</h3>
      <dl class="queue-stats">
        <div><dt>{t('q.waiting')}</dt><dd class="waiting">{q.callers.length}</dd></div>
        <div><dt>{t('q.longest')}</dt><dd class="longest">{fmtWait(longest)}</dd></div>
        <div><dt>{t('q.answeredToday')}</dt><dd class="answered">{q.answered_today}</dd></div>
        <div><dt>{t('q.abandonedToday')}</dt><dd class="abandoned">{q.abandoned_today}</dd></div>
      </dl>
      <h4>{t('q.callers')}</h4>
      {q.callers.length ? (
        <table class="grid queue-callers" aria-label={`${t('q.callers')}: ${q.name}`}>
          <thead><tr><th scope="col">{t('q.pos')}</th><th scope="col">{t('q.caller')}</th><th scope="col">{t('q.wait')}</th></tr></thead>
          <tbody>{q.callers.map((c) => {
            const who = callerText(c);
            return (
              <tr key={c.uniqueid || c.channel} data-caller={c.uniqueid} data-position={c.position}>
                <td class="position">{c.position}</td>
                <td class="caller"><strong>{who.name}</strong>{who.detail ? <span class="hint"> {who.detail}</span> : null}</td>
                <td class="wait">{fmtWait(waitOf(c, now))}</td>
              </tr>);
          })}</tbody>
        </table>) : <p class="empty">{t('q.noCallers')}</p>}
      <h4>{t('q.agents')}</h4>
      {q.agents.length ? (
        <table class="grid queue-agents" aria-label={`${t('q.agents')}: ${q.name}`}>
          <thead><tr><th scope="col">{t('q.agent')}</th><th scope="col">{t('q.ext')}</th><th scope="col">{t('q.state')}</th>
            <th scope="col">{t('q.calls')}</th><th scope="col"><span class="sr-only">{t('adm.actions')}</span></th></tr></thead>
          <tbody>{q.agents.map((a) => <AgentRow key={a.interface} q={q} a={a} />)}</tbody>
        </table>) : <p class="empty">{t('q.noAgents')}</p>}
      {state.me?.role === 'admin' || state.me?.role === 'supervisor' ? <LoginOther q={q} /> : null}
    </section>);
}

export function QueuesPage() {
  const [now, setNow] = useState(Date.now());
  useEffect(() => { const i = window.setInterval(() => setNow(Date.now()), 1000); return () => window.clearInterval(i); }, []);
  const list = queues.list;
  return (
    <div class="queues">
      <h2 tabIndex={-1}>{t('q.title')}</h2>
      {queues.error ? <p class="flash error">{queues.error}</p> : null}
      {list ? (list.length ? list.map((q) => <QueueCard key={q.id} q={q} now={now} />) : <p class="empty">{t('q.none')}</p>) : <p>…</p>}
    </div>);
}
