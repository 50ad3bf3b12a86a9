// The calls page: the user's lines, the dial box (search as you type, favorites, a warning before
// dialing while on a call), and one card per call, keyed by call id: who, which way, the state in
// words with a running timer, the contact (chooser when several match) with recent calls and
// notes, action links, the transfer target and the control buttons from allowed_actions. A
// consultation shows the held call and the consultation call together with Complete/Cancel.
import { missingReasons, stateWord, type StateWord } from '../lib/callview';
import { actionsFor } from '../lib/store';
import { expandUrl, flatten } from '../lib/template';
import { templateVars } from '../lib/remote';
import { formatDuration } from '../lib/phone';
import { recentWith } from '../lib/journalview';
import type { Call } from '../lib/types';
import type { Key } from '../lib/i18n';
import { callerLabel, clearChoice, colleagueName, manualChoice, resolved } from '../app/caller';
import { statusOfExtension, statusSentence } from '../app/user_status';
import { actionLabel, cancelConsult, completeTransfer, confirmDial, control, dial, dialedNumber, moveCall, pairs, pickupCall, targets, type Pair } from '../app/commands';
import { live, memory, myExtensions, render, state, t, tenantConfig, fmtTime } from '../app/state';
import { syncAlerting } from '../app/alerting';
import { parkedCaller, parkedFor, parking, unpark } from '../app/parking';
import type { ParkedCall } from '../lib/types';
import { callNotes } from '../app/journal';
import { Elapsed, NumberField, SafeHtml } from './common';

export function CallsPage() {
  const devices = myExtensions();
  const mine = live.mine(devices);
  const ringing = live.incoming(devices);
  const others = mine.filter((c) => !ringing.includes(c));
  const pickable = live.pickable(devices);
  // Consultation pairs first (held + consultation call together), then single calls.
  const paired = new Set<string>();
  const items: ({ kind: 'pair'; pair: Pair } | { kind: 'call'; call: Call })[] = [];
  const mineIds = new Set(mine.map((c) => c.id));
  for (const p of pairs.values()) {
    if (!mineIds.has(p.heldId)) continue;
    items.push({ kind: 'pair', pair: p });
    paired.add(p.heldId);
    if (p.consultId) paired.add(p.consultId);
  }
  for (const c of others) if (!paired.has(c.id)) items.push({ kind: 'call', call: c });
  const offline = state.streamState.state !== 'online';
  return (
    <div class="calls">
      <h2 tabIndex={-1}>{t('calls.title')}</h2>
      {!devices.length ? <p class="notice">{t('calls.noExtension')}</p> : null}
      <section aria-label={t('calls.myLines')} class="lines">
        {devices.map((d) => { const st = live.lines.get(d)?.state ?? 'unknown'; return <span key={d} class={`line state-${st}`} data-device={d}>{d}: {lineWord(st)}</span>; })}
      </section>
      <DialBox />
      {offline && mine.length ? <p class="notice offline-note" role="status">{t('calls.offline')}</p> : null}
      {ringing.length ? <section aria-label={t('calls.incoming')} class="cards">{ringing.map((c) => <CallCard key={c.id} call={c} incoming inert={offline} />)}</section> : null}
      {items.length ? (
        <section aria-label={t('calls.active')} class="cards">
          {items.map((it) => it.kind === 'pair'
            ? <PairView key={`pair-${it.pair.heldId}`} pair={it.pair} inert={offline} />
            : <CallCard key={it.call.id} call={it.call} incoming={false} inert={offline} />)}
        </section>) : null}
      {!mine.length ? <p class="empty">{t('calls.none')}</p> : null}
      {pickable.length ? (
        <section aria-label={t('calls.pickable')} class="cards pickable">
          <h3>{t('calls.pickable')}</h3>
          {pickable.map(({ call, device }) => <PickupCard key={call.id} call={call} device={device} inert={offline} />)}
        </section>) : null}
      <ParkedPanel inert={offline} />
    </div>);
}

// The tenant's parked calls (docs/parking.md): space, caller (contact when looked up), who parked
// it, for how long, and Pick up (the user's phone rings first). Everyone of the tenant sees them.
function ParkedPanel({ inert }: { inert: boolean }) {
  if (!parking.supported) return null;
  const list = parking.list ?? [];
  return (
    <section aria-labelledby="parked-title" class="parked">
      <h3 id="parked-title">{t('park.title')}</h3>
      {parking.error ? <p class="notice" role="status">{parking.error}</p> : null}
      {!list.length ? <p class="empty">{t('park.none')}</p> : (
        <table class="parked-list">
          <thead><tr><th scope="col">{t('park.space')}</th><th scope="col">{t('park.caller')}</th><th scope="col">{t('park.by')}</th>
            <th scope="col">{t('park.for')}</th><th scope="col"><span class="sr-only">{t('park.pickup')}</span></th></tr></thead>
          <tbody>{list.map((p) => <ParkedRow key={p.id} p={p} inert={inert} />)}</tbody>
        </table>)}
    </section>);
}

function ParkedRow({ p, inert }: { p: ParkedCall; inert: boolean }) {
  const who = parkedCaller(p);
  const by = p.parked_by ? (live.lines.get(p.parked_by)?.name || p.parked_by) : '';
  const parsed = Date.parse(p.since);
  const since = Number.isFinite(parsed) ? parsed : Date.now() - parkedFor(p, Date.now()) * 1000;
  return (
    <tr data-space={p.space} data-parked-id={p.id}>
      <td class="space">{p.space}</td>
      <td class="caller"><strong>{who.name}</strong>{who.detail ? <small> {who.detail}</small> : null}</td>
      <td class="by">{by}</td>
      <td class="for"><Elapsed since={since} />{p.times_out_at ? <small class="hint"> {t('park.timesOut', { time: fmtTime(p.times_out_at, false) })}</small> : null}</td>
      <td><button type="button" class="ctl ctl-unpark" data-action="unpark" disabled={inert}
        aria-label={t('park.pickupAria', { space: p.space, who: who.name })} onClick={() => void unpark(p)}>{t('park.pickup')}</button></td>
    </tr>);
}

// A call ringing at a colleague's line that the user may take over (its allowed_actions offer
// "pickup" there): who calls, at whose line, and Pick up (the user's phone rings first).
function PickupCard({ call: c, device, inert }: { call: Call; device: string; inert: boolean }) {
  const who = callerLabel(c);
  const name = live.lines.get(device)?.name || device;
  return (
    <article class={`card colleague-ringing ${inert ? 'inert' : ''}`} aria-label={t('calls.ringsAt', { who, name })}
      data-call-id={c.id} data-ringing-at={device} aria-disabled={inert ? 'true' : undefined}>
      <div class="card-head"><span class="badge word-ringing">{t('calls.ringsAt', { who, name })}</span></div>
      <div class="controls" role="group" aria-label={t('card.controls')}>
        <button type="button" class="ctl ctl-pickup" data-action="pickup" disabled={inert}
          aria-label={t('presence.pickup', { name })} onClick={() => void pickupCall(c, name)}>{actionLabel('pickup')}</button>
      </div>
    </article>);
}

export function lineWord(st: string): string {
  const k = `line.${st}` as Key;
  return ['idle', 'ringing', 'busy', 'held', 'offline', 'dnd', 'unknown'].includes(st) ? t(k) : st;
}

function DialBox() {
  const last = state.lastDialed;
  const submit = (ev: Event) => { ev.preventDefault(); void dial(state.pendingDial); };
  return (
    <form class="dialbox" role="search" aria-label={t('dial.submit')} onSubmit={submit}>
      <NumberField id="dial" label={t('dial.label')} labelClass="sr-only" value={state.pendingDial} placeholder={t('dial.placeholder')}
        onValue={(v) => { state.pendingDial = v; confirmDial.to = ''; render(); }}
        onPick={(s) => { state.pendingDial = s.number; render(); void dial(s.number); }} />
      <button type="submit">{t('dial.submit')}</button>
      <button type="button" disabled={!last} title={last ? t('dial.redialTitle', { number: last }) : t('dial.nothing')} onClick={() => void dial(last)}>{t('dial.redial')}</button>
      {confirmDial.to ? (
        <div class="confirm" role="alertdialog" aria-labelledby="confirm-dial-text">
          <span id="confirm-dial-text">{t('dial.onCall', { number: confirmDial.to })}</span>
          <button type="button" class="primary" id="confirm-dial" onClick={() => void dial(confirmDial.to, true)}>{t('dial.submit')}</button>
          <button type="button" onClick={() => { confirmDial.to = ''; render(); }}>{t('contacts.cancel')}</button>
        </div>) : null}
      {state.favorites.length ? (
        <div class="favorites" aria-label={t('dial.favorites')} role="group">
          {state.favorites.slice(0, 12).map((f) => <button key={f.number} type="button" class="fav" onClick={() => void dial(f.number)}>★ {f.name || f.number}</button>)}
        </div>) : null}
    </form>);
}

const STATE_KEYS: Record<StateWord, Key> = {
  ringing: 'state.ringing', ringingOut: 'state.ringingOut', dialing: 'state.dialing', connected: 'state.connected',
  held: 'state.held', queued: 'state.queued', failed: 'state.failed', ended: 'state.ended',
};

function CallCard({ call: c, incoming, inert, inPair }: { call: Call; incoming: boolean; inert: boolean; inPair?: Pair }) {
  const { caller, res } = resolved(c);
  const devices = myExtensions();
  const device = devices.find((d) => c.connections.some((x) => x.device === d)) ?? devices[0];
  // In a consultation pair, Complete transfer / Cancel replace the cards' own transfer buttons.
  const actions = actionsFor(c, device).filter((a) => !inPair || !['consult', 'transfer', 'deflect'].includes(a));
  const meta = live.meta.get(c.id);
  const word = stateWord(c, devices);
  const direction = incoming || meta?.direction === 'in' ? 'in' : meta?.direction === 'out' ? 'out' : null;
  const dialedTo = dialedNumber(c);
  // A dialed call shows the number at once, whatever the PBX reported so far.
  const noNumber = caller.kind === 'unknown' && (!caller.display || caller.display === 'unknown');
  const disp = noNumber && dialedTo ? dialedTo : noNumber ? '…' : caller.display;
  const pending = (caller.lookup === 'pending' && res.kind === 'unknown') || (noNumber && !!dialedTo);
  const cfg = tenantConfig();
  const contact = res.kind === 'contact' ? res.contact : null;
  const vars = flatten(templateVars(caller, contact, c.id));
  const colleague = colleagueName(caller);
  const who = contact ? contact.name : colleague || (caller.kind === 'withheld' ? t('card.withheld') : disp);
  const links = (res.kind === 'contact' ? cfg.actions : res.kind === 'unknown' && !pending ? cfg.unknown_actions : []) ?? [];
  const linkEls = links.map((l) => ({ l, u: expandUrl(l.url, vars) })).filter((x) => x.u);
  // The target field stays while it holds text, even when a state change takes consult/transfer
  // away for a moment: removing it would drop the focus of someone typing in it.
  const needsTarget = !inPair && (actions.includes('consult') || actions.includes('transfer') || actions.includes('deflect') || !!targets.get(c.id));
  const intl = caller.international && caller.international !== disp ? caller.international : '';
  const recent = recentWith(state.journal, caller.key).filter((e) => e.call_id !== c.id);
  const reasons = missingReasons(c, device).map((r) => `${actionLabel(r.action)}: ${r.reason}`);
  const dirWord = direction === 'in' ? t('dir.in') : direction === 'out' ? t('dir.out') : t('dir.call');
  const ownState = c.connections.find((x) => x.device === device)?.state ?? '';
  return (
    <article class={`card ${incoming ? 'ringing' : ''} ${word === 'connected' ? 'connected' : ''} ${inert ? 'inert' : ''}`}
      aria-label={`${dirWord}: ${who}`} data-call-id={c.id} data-lookup={caller.lookup} data-source={caller.fromServer ? 'server' : 'client'}
      data-state={word} aria-disabled={inert ? 'true' : undefined}>
      <div class="card-head">
        <span class="dir" aria-hidden="true">{direction === 'in' ? '↙' : direction === 'out' ? '↗' : '↔'}</span>
        <span class="dir-word">{dirWord}</span>
        <span class={`badge state-${ownState} word-${word}`}>
          {t(STATE_KEYS[word])}{(word === 'connected' || word === 'held') && meta?.connectedAt ? <> <Elapsed since={meta.connectedAt} /></> : null}
        </span>
      </div>
      <div class="who-line">
        <span class="number">{disp}{intl ? <small class="intl"> {intl}</small> : null}</span>
      </div>
      {res.kind === 'contact' ? (
        <div class="contact">
          {cfg.card_template ? <SafeHtml template={cfg.card_template} vars={vars} /> : <>
            <strong class="contact-name">{res.contact.name}</strong>
            {res.contact.company ? <div>{res.contact.company}</div> : null}
            <small>{t('card.source', { source: res.contact.source ?? '' })}{res.contact.match === 'company' ? ` (${t('card.companyNumber')})` : ''}</small></>}
          {caller.contacts.length > 1 ? <button type="button" class="link" onClick={() => { manualChoice.delete(c.id); clearChoice(c.id); if (caller.key) memory.forget(caller.key); render(); }}>{t('card.chooseAnother')}</button> : null}
        </div>
      ) : res.kind === 'choose' ? (
        <fieldset class="chooser">
          <legend>{t('card.choose', { n: res.options.length })}</legend>
          {res.options.map((o) => (
            <button type="button" key={`${o.source ?? ''}:${o.id}`} class="choice" data-contact-id={o.id} onClick={() => {
              manualChoice.set(c.id, o);
              if (caller.key) memory.remember(caller.key, o);
              render();
              syncAlerting();
              requestAnimationFrame(() => (document.querySelector(`article[data-call-id="${CSS.escape(c.id)}"] .controls button`) as HTMLElement | null)?.focus());
            }}>
              <strong>{o.name}</strong> <span>{[o.company, o.source, o.match === 'company' ? t('card.companyNumber') : ''].filter(Boolean).join(' · ')}</span>
            </button>))}
        </fieldset>
      ) : pending ? (
        <div class="contact pending" aria-busy="true"><span>{t('card.lookingUp')}</span></div>
      ) : colleague ? (
        <div class="contact colleague"><strong>{colleague}</strong> <small>{t('card.colleague')}</small>
          {(() => {
            const us = caller.extension ? statusOfExtension(caller.extension) : null;
            const words = us ? statusSentence(colleague, us.status) : '';
            return words ? <p class={`colleague-status us-${us!.status.status}`}>{words}</p> : null;
          })()}</div>
      ) : (
        <div class="contact unknown"><strong>{caller.kind === 'withheld' ? t('card.withheld') : caller.kind === 'internal' ? t('card.internal') : t('card.unknown')}</strong></div>
      )}
      <label class="call-note"><span>{t('card.callNote')}</span>
        <textarea id={`callnote-${c.id}`} rows={2} maxLength={2000} value={callNotes.get(c.id)?.text ?? ''}
          onInput={(ev) => { callNotes.set(c.id, { text: (ev.target as HTMLTextAreaElement).value, at: Date.now() }); }} /></label>
      {recent.length ? (
        <details class="recent">
          <summary>{t('card.recent')} ({recent.length})</summary>
          <ul>{recent.map((e) => <li key={e.id ?? e.started_at}>{fmtTime(e.started_at)} · {t(`disp.${e.disposition}` as Key)}{e.talk_s ? ` · ${formatDuration(e.talk_s)}` : ''}{e.note ? <> · <em>{e.note}</em></> : null}</li>)}</ul>
        </details>) : null}
      {linkEls.length ? <div class="links">{linkEls.map(({ l, u }) => <a key={l.label + l.url} href={u!} target="_blank" rel="noopener noreferrer" class="action-link">{l.label}</a>)}</div> : null}
      {needsTarget ? (
        <div class="target">
          <NumberField id={`target-${c.id}`} label={t('xfer.target')} value={targets.get(c.id) ?? ''}
            onValue={(v) => { targets.set(c.id, v); render(); }} onPick={(s) => { targets.set(c.id, s.number); render(); }} />
        </div>) : null}
      <div class="controls" role="group" aria-label={t('card.controls')}>
        {actions.map((a) => <button type="button" key={a} id={`ctl-${c.id}-${a}`} class={`ctl ctl-${a}`} data-action={a} disabled={inert}
          onClick={() => void control(c, device, a)}>{actionLabel(a)}</button>)}
      </div>
      {!inPair && ownState === 'connected' ? <MoveControls call={c} device={device} inert={inert} /> : null}
      {reasons.length ? <p class="hint why">{t('card.whyMissing', { reason: reasons.join('; ') })}</p> : null}
      {inert ? <p class="hint inert-note">{t('card.inert')}</p> : null}
    </article>);
}

// AnyDevice: a connected call of the user moves to one of their external devices, or back to the
// desk phone (moveCall). Shown when the user has an external device the tenant allows; the server
// refuses a move to the device the call is on already, in words.
function MoveControls({ call: c, device, inert }: { call: Call; device: string; inert: boolean }) {
  const external = (state.myDevices?.devices ?? []).filter((d) => d.kind === 'external' && d.allowed !== false);
  if (!external.length) return null;
  return (
    <div class="move-controls" role="group" aria-label={t('move.group')}>
      {external.map((d) => <button type="button" key={d.name} class="ctl ctl-move" data-action="move" data-device={d.name} disabled={inert}
        aria-label={t('move.toAria', { name: d.name, number: d.number })} onClick={() => void moveCall(c, d.name)}>{t('move.to', { name: d.name })}</button>)}
      <button type="button" class="ctl ctl-move" data-action="move" data-device={device} disabled={inert}
        aria-label={t('move.deskAria', { ext: device })} onClick={() => void moveCall(c, device)}>{t('move.desk')}</button>
    </div>);
}

function PairView({ pair, inert }: { pair: Pair; inert: boolean }) {
  const held = live.calls.get(pair.heldId)!;
  const consult = pair.consultId && live.mine(myExtensions()).some((c) => c.id === pair.consultId) ? live.calls.get(pair.consultId) : undefined;
  const text = t('xfer.pair', { caller: pair.caller, target: pair.target });
  const busy = pair.phase !== 'consulting';
  // Cancel hangs up the consultation call. With the PBX's attended transfer (Atxfer: one channel
  // of the phone carries both calls) the server ends the consulted side, not the phone's channel,
  // and the PBX returns the user to the held caller; a call the phone holds itself is resumed
  // afterwards (pairEnded). Until the consultation call is known, the page says how to cancel.
  const consultDevice = consult?.connections.find((x) => myExtensions().includes(x.device))?.device ?? '';
  const canCancel = !!consult && (consult.allowed_actions?.[consultDevice] ?? []).includes('hangup');
  return (
    <div class="pair" role="group" aria-label={text} data-held={pair.heldId} data-consult={pair.consultId ?? ''}>
      <p class="pair-head">{text}</p>
      <div class="pair-calls">
        <CallCard call={held} incoming={false} inert={inert} inPair={pair} />
        {consult ? <CallCard key={consult.id} call={consult} incoming={false} inert={inert} inPair={pair} /> : null}
      </div>
      <div class="pair-controls">
        <button type="button" class="primary" id={`complete-${pair.heldId}`} disabled={inert || busy} onClick={() => void completeTransfer(pair)}>{t('xfer.complete')}</button>
        {canCancel ? <button type="button" id={`cancel-${pair.heldId}`} disabled={inert || busy} onClick={() => void cancelConsult(pair)}>{t('xfer.cancel')}</button>
          : <p class="hint cancel-hint">{t('xfer.cancelHint', { caller: pair.caller, target: pair.target })}</p>}
      </div>
    </div>);
}

// Used by the shortcut keys: the first call with `action` allowed for the user.
export function firstCallWith(action: string): { call: Call; device: string } | null {
  const devices = myExtensions();
  const ringing = live.incoming(devices);
  const active = live.mine(devices).filter((c) => !ringing.includes(c));
  const calls = action === 'hangup' ? [...active, ...ringing] : [...ringing, ...active];
  for (const c of calls) {
    const d = devices.find((x) => c.connections.some((k) => k.device === x));
    if (d && actionsFor(c, d).includes(action)) return { call: c, device: d };
  }
  return null;
}
