// Small pieces shared by the pages: the running timer, the search-as-you-type number field
// (combobox with suggestions from contacts, colleagues and favorites), and sanitized template HTML.
// Rendered by Preact on the main thread; inputs are controlled from app state, so re-renders keep
// what is typed and the caret.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { formatElapsed } from '../lib/callview';
import { suggestions, type Suggestion } from '../lib/suggest';
import { renderCard, type Vars } from '../lib/template';
import { forSuggest, searchContacts } from '../app/contacts';
import { live, state, t } from '../app/state';

export function Elapsed({ since }: { since: number }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => { const i = window.setInterval(() => setNow(Date.now()), 1000); return () => window.clearInterval(i); }, []);
  return <span class="timer">{formatElapsed(now - since)}</span>;
}

// The card template of the tenant, filled and sanitized (lib/template.ts), as real DOM nodes.
export function SafeHtml({ template, vars, class: cls }: { template: string; vars: Vars; class?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const key = template + '\u0000' + JSON.stringify(vars);
  useLayoutEffect(() => { ref.current?.replaceChildren(renderCard(template, vars)); }, [key]);
  return <div class={cls} ref={ref} />;
}

interface NumberFieldProps {
  id: string;
  label: string;
  value: string;
  onValue: (v: string) => void;
  onPick: (s: Suggestion) => void;
  placeholder?: string;
  labelClass?: string;
}

// A number/name field that suggests as you type (ARIA combobox + listbox). Arrow keys move
// through the suggestions, Enter takes the highlighted one (else the form submits), Escape closes.
export function NumberField({ id, label, value, onValue, onPick, placeholder, labelClass }: NumberFieldProps) {
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const q = value.trim();
  const contacts = q.length >= 2 && !/^\+?[0-9 ()/.\-*#]{1,2}$/.test(q) ? searchContacts(q) : [];
  const lines = [...live.lines.values()].filter((l) => !(state.me?.extensions ?? []).includes(l.device));
  const list = open ? suggestions(value, forSuggest(contacts), lines, state.favorites) : [];
  const shown = list.length > 0 && !(list.length === 1 && list[0].kind === 'number');
  const listId = `${id}-list`;
  const pick = (s: Suggestion) => { setOpen(false); setActive(-1); onPick(s); };
  return (
    <span class="numberfield">
      <label for={id} class={labelClass}>{label}</label>
      <input id={id} type="text" inputMode="tel" autoComplete="off" spellcheck={false} value={value} placeholder={placeholder}
        role="combobox" aria-autocomplete="list" aria-expanded={shown} aria-controls={listId}
        aria-activedescendant={shown && active >= 0 ? `${listId}-${active}` : undefined}
        onInput={(ev) => { onValue((ev.target as HTMLInputElement).value); setOpen(true); setActive(-1); }}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
        onKeyDown={(ev) => {
          if (!shown) return;
          if (ev.key === 'ArrowDown') { ev.preventDefault(); setActive((active + 1) % list.length); }
          else if (ev.key === 'ArrowUp') { ev.preventDefault(); setActive((active - 1 + list.length) % list.length); }
          else if (ev.key === 'Escape') { setOpen(false); }
          else if (ev.key === 'Enter' && active >= 0) { ev.preventDefault(); pick(list[active]); }
        }} />
      <ul id={listId} role="listbox" class="suggest" hidden={!shown} aria-label={t('dial.suggestions')}>
        {shown && list.map((s, i) => (
          <li key={`${s.kind}:${s.number}`} id={`${listId}-${i}`} role="option" aria-selected={i === active} class={`opt opt-${s.kind}`}
            data-number={s.number} onMouseDown={(ev) => ev.preventDefault()} onClick={() => pick(s)}>
            <strong>{s.kind === 'number' ? t('dial.dialNumber', { number: s.label }) : s.label}</strong>
            {s.detail ? <span class="detail"> {s.detail}</span> : null}
          </li>))}
      </ul>
    </span>);
}
