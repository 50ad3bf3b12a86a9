// The header's status control (docs/web.md): the user's own status in words; opening it offers
// the statuses, an optional note and an optional end time ("14:00"), Set and "Available again".
import { useRef, useState } from 'preact/hooks';
import { STATUSES, clearMyStatus, effective, mine, saveMyStatus, statusShort } from '../app/user_status';
import { t } from '../app/state';
import type { Key } from '../lib/i18n';

export function MyStatus() {
  const cur = effective(mine.status);
  const [status, setStatus] = useState<string>(cur?.status ?? 'away');
  const [note, setNote] = useState('');
  const [until, setUntil] = useState('');
  const box = useRef<HTMLDetailsElement>(null);
  const close = () => { if (box.current) box.current.open = false; };
  return (
    <details class="my-status" ref={box}>
      <summary id="my-status-summary" data-user-status={cur?.status ?? 'available'}>
        {t('us.title')}: {cur ? statusShort(cur) : t('us.available')}{cur?.note ? ` · ${cur.note}` : ''}
      </summary>
      <form class="my-status-form" onSubmit={(ev) => {
        ev.preventDefault();
        void saveMyStatus(status, note, until).then((ok) => { if (ok) { setNote(''); setUntil(''); close(); } });
      }}>
        <label for="my-status-select">{t('us.title')}</label>
        <select id="my-status-select" value={status} onChange={(ev) => setStatus((ev.target as HTMLSelectElement).value)}>
          {STATUSES.map((s) => <option key={s} value={s}>{t(`us.${s}` as Key)}</option>)}
        </select>
        <label for="my-status-note">{t('us.note')}</label>
        <input id="my-status-note" value={note} maxLength={200} onInput={(ev) => setNote((ev.target as HTMLInputElement).value)} />
        <label for="my-status-until">{t('us.untilLabel')}</label>
        <input id="my-status-until" type="time" value={until} onInput={(ev) => setUntil((ev.target as HTMLInputElement).value)} />
        <button type="submit">{t('us.save')}</button>
        <button type="button" id="my-status-clear" onClick={() => { void clearMyStatus().then(close); }}>{t('us.clear')}</button>
      </form>
    </details>);
}
