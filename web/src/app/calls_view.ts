// The calls page: the user's lines, the dial box, and one card per call (the caller and their
// contact, action links, call control buttons from allowed_actions); and the presence page.
import { actionsFor } from '../lib/store';
import { expandUrl, flatten, renderCard } from '../lib/template';
import { templateVars } from '../lib/remote';
import type { Call, Line } from '../lib/types';
import { colleagueName, manualChoice, resolved } from './caller';
import { actionLabel, control, dial, targets } from './commands';
import { h } from './dom';
import { refreshNotifications } from './notify';
import { live, memory, render, state, tenantConfig } from './state';

export function callsView() {
  const devices = state.me?.extensions ?? [];
  const input = h('input', { id: 'dial', type: 'tel', inputmode: 'tel', autocomplete: 'off', value: state.pendingDial, placeholder: 'Number, e.g. 0211 339903-12',
    oninput: (ev: Event) => { state.pendingDial = (ev.target as HTMLInputElement).value; } });
  const mine = live.mine(devices);
  const ringing = live.incoming(devices);
  const others = mine.filter((c) => !ringing.includes(c));
  const lastDialed = state.lastDialed;
  return h('div', { class: 'calls' },
    h('h2', { tabindex: -1 }, 'Calls'),
    h('section', { 'aria-label': 'My lines', class: 'lines' },
      devices.map((d) => { const st = live.lines.get(d)?.state ?? 'unknown'; return h('span', { class: `line state-${st}`, dataset: { device: d } }, `${d}: ${st}`); })),
    h('form', { class: 'dialbox', role: 'search', 'aria-label': 'Dial', onsubmit: (ev: Event) => { ev.preventDefault(); void dial(input.value); } },
      h('label', { for: 'dial', class: 'sr-only' }, 'Number to dial'), input,
      h('button', { type: 'submit' }, 'Dial'),
      h('button', { type: 'button', disabled: !lastDialed, title: lastDialed ? `Redial ${lastDialed}` : 'Nothing dialed yet', onclick: () => void dial(lastDialed) }, 'Redial')),
    ringing.length ? h('section', { 'aria-label': 'Incoming calls' }, ringing.map((c) => callCard(c, true))) : null,
    others.length ? h('section', { 'aria-label': 'Active calls' }, others.map((c) => callCard(c, false))) : null,
    !mine.length ? h('p', { class: 'empty' }, 'No calls right now.') : null);
}

function callCard(c: Call, incoming: boolean) {
  const { caller, res } = resolved(c);
  const disp = caller.display;
  const cfg = tenantConfig();
  const contact = res.kind === 'contact' ? res.contact : null;
  const vars = flatten(templateVars(caller, contact, c.id));
  const mineDevices = state.me?.extensions ?? [];
  const device = mineDevices.find((d) => c.connections.some((x) => x.device === d)) ?? mineDevices[0];
  const conn = c.connections.find((x) => x.device === device);
  const actions = actionsFor(c, device);
  const pending = caller.lookup === 'pending' && res.kind === 'unknown';
  let contactPart: Node;
  if (res.kind === 'contact') {
    const card = h('div', { class: 'contact' });
    if (cfg.card_template) card.appendChild(renderCard(cfg.card_template, vars));
    else card.append(h('strong', { class: 'contact-name' }, res.contact.name), h('div', {}, res.contact.company ?? ''),
      h('small', {}, `source: ${res.contact.source ?? ''}${res.contact.match === 'company' ? ' (company number)' : ''}`));
    if (caller.contacts.length > 1) card.append(h('button', { class: 'link', onclick: () => { manualChoice.delete(c.id); if (caller.key) memory.forget(caller.key); render(); } }, 'Choose another'));
    contactPart = card;
  } else if (res.kind === 'choose') {
    contactPart = h('fieldset', { class: 'chooser' }, h('legend', {}, `${res.options.length} contacts match — who is it?`),
      res.options.map((o) => h('button', { class: 'choice', dataset: { contactId: o.id }, onclick: () => {
        manualChoice.set(c.id, o);
        if (caller.key) memory.remember(caller.key, o);
        render();
        refreshNotifications();
        (document.querySelector(`article[data-call-id="${CSS.escape(c.id)}"] .controls button`) as HTMLElement | null)?.focus();
      } },
        h('strong', {}, o.name), ' ', h('span', {}, [o.company, o.source, o.match === 'company' ? 'company number' : ''].filter(Boolean).join(' · ')))));
  } else if (pending) {
    contactPart = h('div', { class: 'contact pending', 'aria-busy': 'true' }, h('span', {}, 'Looking up contact…'));
  } else {
    const colleague = colleagueName(caller);
    contactPart = colleague
      ? h('div', { class: 'contact colleague' }, h('strong', {}, colleague), h('small', {}, ' colleague'))
      : h('div', { class: 'contact unknown' }, h('strong', {}, caller.kind === 'withheld' ? 'number withheld' : 'unknown'));
  }
  const links = (res.kind === 'contact' ? cfg.actions : res.kind === 'unknown' && !pending ? cfg.unknown_actions : []) ?? [];
  const linkEls: Node[] = [];
  for (const l of links) {
    const u = expandUrl(l.url, vars);
    if (u) linkEls.push(h('a', { href: u, target: '_blank', rel: 'noopener noreferrer', class: 'action-link' }, l.label));
  }
  const needsTarget = actions.includes('consult') || actions.includes('transfer') || actions.includes('deflect');
  const intl = caller.international && caller.international !== disp ? caller.international : '';
  return h('article', { class: `card ${incoming ? 'ringing' : ''}`, 'aria-label': `${incoming ? 'Incoming call' : 'Call'} ${disp}`, dataset: { callId: c.id, lookup: caller.lookup, source: caller.fromServer ? 'server' : 'client' } },
    h('div', { class: 'card-head' },
      h('span', { class: 'number' }, disp, intl ? h('small', { class: 'intl' }, ` ${intl}`) : null),
      h('span', { class: `badge state-${conn?.state ?? ''}` }, conn?.state ?? '')),
    contactPart,
    linkEls.length ? h('div', { class: 'links' }, linkEls) : null,
    needsTarget ? h('span', { class: 'target' }, h('label', { for: `target-${c.id}` }, 'Transfer/consult/deflect to'), h('input', { id: `target-${c.id}`, type: 'tel', autocomplete: 'off', value: targets.get(c.id) ?? '', oninput: (ev: Event) => targets.set(c.id, (ev.target as HTMLInputElement).value) })) : null,
    h('div', { class: 'controls', role: 'group', 'aria-label': 'Call control' },
      actions.map((a) => h('button', { id: `ctl-${c.id}-${a}`, class: `ctl ctl-${a}`, dataset: { action: a }, onclick: () => void control(c, device, a) }, actionLabel(a)))));
}

export function presenceView() {
  const lines = [...live.lines.values()].sort((a, b) => a.device.localeCompare(b.device, undefined, { numeric: true }));
  const own = state.me?.extensions ?? [];
  return h('div', {},
    h('h2', { tabindex: -1 }, 'Presence'),
    h('ul', { class: 'presence' }, lines.map((l: Line) => h('li', {},
      h('button', { class: `line state-${l.state}`, dataset: { device: l.device }, disabled: own.includes(l.device),
        'aria-label': `${l.name ?? l.device}, ${l.state}. Call`, onclick: () => void dial(l.device) },
        h('span', { class: 'dot', 'aria-hidden': 'true' }), h('strong', {}, l.name ?? l.device), h('span', {}, ` ${l.device} · ${l.state}`))))),
    !lines.length ? h('p', { class: 'empty' }, 'No lines visible yet.') : null);
}
