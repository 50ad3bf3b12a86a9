// The presence page: every colleague's line the user may see, with display name and state in
// words, grouped by team (when the server sends teams), searchable; a click calls them, and a
// colleague's ringing line offers "Pick up" (your own extension takes the call).
import { useState } from 'preact/hooks';
import type { Line } from '../lib/types';
import { dial, pickup, pickupLine } from '../app/commands';
import { live, myExtensions, t } from '../app/state';
import { lineWord } from './Calls';
import { statusOfExtension, statusShort } from '../app/user_status';

const norm = (s: string) => s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase();

export function PresencePage() {
  const [q, setQ] = useState('');
  const own = myExtensions();
  const all = [...live.lines.values()].sort((a, b) => (a.name || a.device).localeCompare(b.name || b.device, undefined, { numeric: true }));
  const qn = norm(q.trim());
  const lines = qn ? all.filter((l) => norm(`${l.name ?? ''} ${l.device} ${l.team ?? ''}`).includes(qn)) : all;
  const teams = new Map<string, Line[]>();
  for (const l of lines) { const k = l.team ?? ''; teams.set(k, [...(teams.get(k) ?? []), l]); }
  const grouped = [...teams.entries()].sort(([a], [b]) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b)));
  const showHeads = grouped.length > 1 || (grouped.length === 1 && grouped[0][0] !== '');
  return (
    <div>
      <h2 tabIndex={-1}>{t('presence.title')}</h2>
      <input type="search" class="presence-search" value={q} aria-label={t('presence.search')} placeholder={t('presence.search')}
        onInput={(ev) => setQ((ev.target as HTMLInputElement).value)} />
      {grouped.map(([team, ls]) => (
        <section key={team || '-'} class="team" aria-label={team || t('presence.noTeam')}>
          {showHeads ? <h3>{team || t('presence.noTeam')}</h3> : null}
          <ul class="presence">
            {ls.map((l) => {
              const mine = own.includes(l.device);
              const name = l.name || l.device;
              const us = statusOfExtension(l.device);
              return (
                <li key={l.device}>
                  <button type="button" class={`line state-${l.state}`} data-device={l.device} disabled={mine}
                    onClick={() => void dial(l.device)}>
                    <span class="dot" aria-hidden="true" />
                    <span class="pname"><strong>{name}</strong><span class="pdetail">{l.device} · {lineWord(l.state)}{l.status ? ` · ${l.status}` : ''}{l.forwarded_to ? ` · ${t('presence.forwarded', { to: l.forwarded_to })}` : ''}</span>
                      {us ? <span class={`pstatus us-${us.status.status}`} data-user-status={us.status.status}>{statusShort(us.status)}</span> : null}
                      {us?.status.note ? <span class="pnote">{us.status.note}</span> : l.note ? <span class="pnote">{l.note}</span> : null}</span>
                    <span class="sr-only">{mine ? ` (${t('presence.you')})` : `. ${t('presence.call', { name })}`}</span>
                  </button>
                  {!mine && own.length > 0 && pickup.supported && l.state === 'ringing'
                    ? <button type="button" class="pickup" data-pickup={l.device} aria-label={t('presence.pickup', { name })}
                        onClick={() => void pickupLine(l.device, name)}>{t('presence.pickupShort')}</button>
                    : null}
                </li>);
            })}
          </ul>
        </section>))}
      {!lines.length ? <p class="empty">{t('presence.none')}</p> : null}
    </div>);
}
