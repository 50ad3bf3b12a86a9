// Do-not-disturb and forwarding in the header, beside the AnyDevice switch: a DND toggle (a button
// with aria-pressed), a short note while forwarding is on, and a button to the forwarding dialog
// (always / on busy / on no answer after N s, follow-me to the active external device). When the
// PBX cannot carry them the controls are disabled and the reason is shown (docs/dialplan.md).
import { useEffect, useRef, useState } from 'preact/hooks';
import { forwardingShort, saveForwarding, setDnd, setFollowMe } from '../app/call_features';
import { render, state, t } from '../app/state';
import type { CallFeatures } from '../lib/types';

export function DndToggle() {
  const f = state.callFeatures;
  if (!f || !f.lines.length) return null;
  const off = !f.available;
  const short = forwardingShort(f);
  const open = () => { state.forwardingOpen = true; render(); };
  return (
    <span class="cf-switch">
      <button type="button" id="dnd-toggle" class={f.dnd ? 'dnd-on' : ''} aria-pressed={f.dnd} disabled={off}
        title={off ? t('cf.unavailable', { reason: f.reason ?? '' }) : t('cf.dndHelp')}
        aria-describedby={off ? 'cf-reason' : undefined} onClick={() => void setDnd(!f.dnd)}>
        {t('cf.dnd')}
      </button>
      {short ? <span class="cf-short" id="cf-short">{short}</span> : null}
      <button type="button" class="link" id="cf-open" onClick={open}>{t('cf.manage')}</button>
      {off ? <span id="cf-reason" class="sr-only">{t('cf.unavailable', { reason: f.reason ?? '' })}</span> : null}
    </span>);
}

function FollowMe({ f }: { f: CallFeatures }) {
  const ext = state.myDevices?.devices.find((d) => d.name === state.myDevices?.active && d.kind === 'external');
  const [mode, setMode] = useState<CallFeatures['follow_me']['mode']>(f.follow_me.mode);
  return (
    <fieldset class="cf-follow" disabled={!f.available}>
      <legend>{t('cf.follow')}</legend>
      <p class="hint">{ext ? t('cf.followHelp', { name: ext.name, number: ext.number }) : t('cf.followNeedsDevice')}</p>
      <label for="cf-follow-mode">{t('cf.followMode')}</label>
      <select id="cf-follow-mode" value={mode} onChange={(ev) => setMode((ev.target as HTMLSelectElement).value as typeof mode)}>
        <option value="parallel">{t('cf.mode.parallel')}</option>
        <option value="sequential">{t('cf.mode.sequential')}</option>
        <option value="device">{t('cf.mode.device')}</option>
      </select>
      <label class="check">
        <input type="checkbox" id="cf-follow" checked={f.follow_me.enabled} disabled={!ext && !f.follow_me.enabled}
          onChange={(ev) => void setFollowMe((ev.target as HTMLInputElement).checked, mode)} />
        {t('cf.followOnLabel')}
      </label>
    </fieldset>);
}

export function ForwardingDialog() {
  const ref = useRef<HTMLDialogElement>(null);
  const f = state.callFeatures;
  const [form, setForm] = useState({ unconditional: '', busy: '', no_answer: '', no_answer_seconds: 20 });
  useEffect(() => {
    const dlg = ref.current;
    if (!dlg) return;
    if (state.forwardingOpen && !dlg.open) {
      // Open with what the PBX holds now.
      const w = state.callFeatures?.forwarding;
      if (w) setForm({ unconditional: w.unconditional ?? '', busy: w.busy ?? '', no_answer: w.no_answer ?? '', no_answer_seconds: w.no_answer_seconds });
      dlg.showModal();
    }
    if (!state.forwardingOpen && dlg.open) dlg.close();
  });
  if (!f) return null;
  const close = () => { state.forwardingOpen = false; render(); };
  const field = (key: 'unconditional' | 'busy' | 'no_answer', label: string) => (
    <>
      <label for={`cf-${key}`}>{label}</label>
      <input id={`cf-${key}`} type="tel" value={form[key]} maxLength={40} placeholder={t('cf.destPlaceholder')}
        aria-describedby="cf-dest-help" onInput={(ev) => setForm({ ...form, [key]: (ev.target as HTMLInputElement).value })} />
    </>);
  const submit = async (ev: Event) => {
    ev.preventDefault();
    if (await saveForwarding(form)) close();
  };
  return (
    <dialog ref={ref} class="cf-dialog" aria-labelledby="cf-title" onClose={close}>
      <h2 id="cf-title">{t('cf.title')}</h2>
      {!f.available ? <p class="hint cf-unavailable" role="status">{t('cf.unavailable', { reason: f.reason ?? '' })}</p> : null}
      <form class="cf-form" onSubmit={(ev) => void submit(ev)}>
        <fieldset disabled={!f.available}>
          <legend>{t('cf.forwarding')}</legend>
          <p id="cf-dest-help" class="hint">{t('cf.destHelp')}</p>
          {field('unconditional', t('cf.always'))}
          {field('busy', t('cf.busy'))}
          {field('no_answer', t('cf.noAnswer'))}
          <label for="cf-seconds">{t('cf.seconds')}</label>
          <input id="cf-seconds" type="number" min={5} max={120} value={form.no_answer_seconds}
            onInput={(ev) => setForm({ ...form, no_answer_seconds: Number((ev.target as HTMLInputElement).value) || 20 })} />
          <button type="submit" id="cf-save">{t('cf.save')}</button>
        </fieldset>
      </form>
      <FollowMe f={f} />
      <button type="button" id="cf-close" onClick={close}>{t('cf.close')}</button>
    </dialog>);
}
