// The header's agent control (docs/web.md): the user's queue state in words ("support: paused:
// lunch"); opening it pauses with a reason or unpauses in every queue the user is an agent of, per
// queue logs out, and logs in to a queue by name.
import { useRef, useState } from 'preact/hooks';
import { agentStateText, logIn, logOut, myAgents, queues, setPaused } from '../app/queues';
import { myExtensions, t } from '../app/state';

export function AgentControls() {
  const mine = myAgents();
  const [reason, setReason] = useState('');
  const [queue, setQueue] = useState('');
  const box = useRef<HTMLDetailsElement>(null);
  if (!queues.list || !myExtensions().length) return null;  // no line: nothing to log in
  const summary = mine.length ? mine.map(({ queue: q, agent: a }) => `${q.name}: ${agentStateText(a)}`).join(', ') : t('q.myNone');
  const anyPaused = mine.some(({ agent }) => agent.paused);
  const anyActive = mine.some(({ agent }) => !agent.paused);
  return (
    <details class="agent-controls" ref={box}>
      <summary id="agent-summary" data-paused={anyPaused && !anyActive ? 'all' : anyPaused ? 'some' : 'none'}>
        {t('q.my')}: {summary}
      </summary>
      <div class="agent-form">
        {mine.length ? (<>
          <label for="agent-reason">{t('q.reason')}</label>
          <input id="agent-reason" maxLength={80} value={reason} onInput={(ev) => setReason((ev.target as HTMLInputElement).value)} />
          <button type="button" id="agent-pause" disabled={queues.busy || !anyActive} onClick={() => {
            void Promise.all(mine.filter(({ agent }) => !agent.paused)
              .map(({ queue: q, agent: a }) => setPaused(q.name, a.extension!, true, reason))).then(() => setReason(''));
          }}>{t('q.myPausedAll')}</button>
          <button type="button" id="agent-unpause" disabled={queues.busy || !anyPaused} onClick={() => {
            void Promise.all(mine.filter(({ agent }) => agent.paused).map(({ queue: q, agent: a }) => setPaused(q.name, a.extension!, false)));
          }}>{t('q.myUnpauseAll')}</button>
          <ul>{mine.filter(({ agent }) => agent.membership !== 'static').map(({ queue: q, agent: a }) => (
            <li key={q.id}>{q.name}{' '}
              <button type="button" disabled={queues.busy} aria-label={t('q.logoutOf', { name: a.name || a.extension!, queue: q.name })}
                onClick={() => void logOut(q.name, a.extension!)}>{t('q.logout')}</button></li>))}</ul>
        </>) : null}
        <form onSubmit={(ev) => { ev.preventDefault(); if (queue.trim()) void logIn(queue.trim()).then((ok) => { if (ok) setQueue(''); }); }}>
          <label for="agent-login-queue">{t('q.loginQueue')}</label>
          <input id="agent-login-queue" maxLength={80} value={queue} onInput={(ev) => setQueue((ev.target as HTMLInputElement).value)} />
          <button type="submit" disabled={queues.busy}>{t('q.login')}</button>
        </form>
      </div>
    </details>);
}
