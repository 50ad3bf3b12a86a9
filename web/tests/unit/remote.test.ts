import { describe, expect, it } from 'vitest';
import { callerOf, remoteInfoOf, templateVars } from '../../src/lib/remote';
import { ChooserMemory, MemoryStore, resolveContact } from '../../src/lib/chooser';
import { expandUrl, flatten, renderCard, urlTemplateProblem } from '../../src/lib/template';
import { EventStream } from '../../src/lib/events';
import type { Call, Contact, RemoteInfo } from '../../src/lib/types';

const info = (over: Partial<RemoteInfo> = {}): RemoteInfo => ({
  e164: '+4989123456', extension: null, kind: 'external', display: '089 123456', international: '+49 89 123456',
  lookup: 'done', contacts: [], ...over,
});
const call = (conns: Call['connections'], extra: Partial<Call> = {}): Call => ({ id: 'c1', connections: conns, ...extra });
const noLookup = (): Contact[] | undefined => { throw new Error('no client lookup expected'); };

describe('remote_info from the server', () => {
  it('takes the remote_info of the own connection', () => {
    const c = call([
      { device: '101', state: 'connected', remote_info: info({ e164: null, extension: '100', kind: 'internal', display: '100' }) },
      { device: '100', state: 'alerting', remote_info: info() },
    ]);
    expect(remoteInfoOf(c, ['100'])?.display).toBe('089 123456');
    const r = callerOf(c, ['100'], '49', noLookup);
    expect(r).toMatchObject({ key: '+4989123456', display: '089 123456', international: '+49 89 123456', lookup: 'done', fromServer: true });
  });
  it('pending lookup, then the re-published call with two matches -> chooser, remembered per number', () => {
    const pending = callerOf(call([{ device: '100', state: 'alerting', remote_info: info({ lookup: 'pending' }) }]), ['100'], '49', noLookup);
    expect(pending.lookup).toBe('pending');
    expect(pending.contacts).toEqual([]);
    const two = [{ id: '1', name: 'Max Muster', company: 'ACME', source: 'store', match: 'exact' as const, number: '+4989123456' },
                 { id: '2', name: 'Erika Muster', company: 'Beta', source: 'ldap', match: 'company' as const, number: '+498912' }];
    const done = callerOf(call([{ device: '100', state: 'alerting', remote_info: info({ contacts: two }) }]), ['100'], '49', noLookup);
    expect(done.contacts.map((c) => [c.name, c.match])).toEqual([['Max Muster', 'exact'], ['Erika Muster', 'company']]);
    const mem = new ChooserMemory(new MemoryStore());
    expect(resolveContact(mem, done.key, done.contacts).kind).toBe('choose');
    mem.remember(done.key!, done.contacts[1]);
    expect(resolveContact(mem, done.key, done.contacts)).toMatchObject({ kind: 'contact', contact: { name: 'Erika Muster' } });
  });
  it('withheld: no key, no contacts, no lookup', () => {
    const r = callerOf(call([{ device: '100', state: 'alerting', remote_info: info({ e164: null, kind: 'withheld', display: '', lookup: 'none', contacts: [{ id: 'x', name: 'X' }] }) }]), ['100'], '49', noLookup);
    expect(r).toMatchObject({ key: null, display: 'withheld', lookup: 'none', contacts: [] });
  });
  it('internal callers are keyed by extension; junk contacts are dropped', () => {
    const r = callerOf(call([{ device: '100', state: 'alerting', remote_info: info({ e164: null, extension: '101', kind: 'internal', display: '', lookup: 'none',
      contacts: [null as any, { id: 5, name: 'Ben' } as any, { name: 'no id' } as any] }) }]), ['100'], '49', noLookup);
    expect(r.key).toBe('101');
    expect(r.display).toBe('101');
    expect(r.contacts).toEqual([{ id: '5', name: 'Ben', company: undefined, source: undefined, match: undefined, number: undefined }]);
  });
});

describe('fallback without remote_info', () => {
  it('uses call.remote.contacts when the server sends them', () => {
    const r = callerOf(call([{ device: '100', state: 'alerting', remote: '+4989123456' }], { remote: { number: '+4989123456', display: '089 123456', contacts: [{ id: '1', name: 'Max' }] } }), ['100'], '49', noLookup);
    expect(r).toMatchObject({ fromServer: false, lookup: 'done', display: '089 123456' });
    expect(r.contacts[0].name).toBe('Max');
  });
  it('asks the client lookup, pending until it answers', () => {
    const asked: string[] = [];
    let answer: Contact[] | undefined;
    const lookup = (n: string) => { asked.push(n); return answer; };
    const c = call([{ device: '100', state: 'alerting', remote: '+4989123456' }]);
    expect(callerOf(c, ['100'], '49', lookup)).toMatchObject({ lookup: 'pending', display: '089123456', key: '+4989123456' });
    answer = [{ id: '1', name: 'Max' }];
    expect(callerOf(c, ['100'], '49', lookup).contacts).toHaveLength(1);
    expect(asked).toEqual(['+4989123456', '+4989123456']);
  });
  it('withheld call-level remote', () => {
    const r = callerOf(call([{ device: '100', state: 'alerting', remote: null }], { remote: { number: null, withheld: true } }), ['100'], '49', noLookup);
    expect(r).toMatchObject({ kind: 'withheld', display: 'withheld', lookup: 'none', key: null });
  });
});

describe('template values', () => {
  const caller = callerOf(call([{ device: '100', state: 'alerting', remote_info: info() }]), ['100'], '49', noLookup);
  it('action links use remote and contact values; contact links hide for unknown callers', () => {
    const known = flatten(templateVars(caller, { id: 'c 1', name: 'Max', company: 'ACME', source: 'store' }, 'call-1'));
    const unknown = flatten(templateVars(caller, null, 'call-1'));
    expect(expandUrl('https://crm.example/contacts/{contact.id}', known)).toBe('https://crm.example/contacts/c%201');
    expect(expandUrl('https://crm.example/contacts/{contact.id}', unknown)).toBeNull();
    expect(expandUrl('https://crm.example/new?phone={remote.e164}&d={remote.display}', unknown)).toBe('https://crm.example/new?phone=%2B4989123456&d=089%20123456');
  });
  it('card templates with single-brace placeholders escape contact data', () => {
    const vars = flatten(templateVars(caller, { id: '1', name: '<img src=x onerror=alert(1)>', company: 'A&B' }, 'c'));
    const div = document.createElement('div');
    div.append(renderCard('<strong>{contact.name}</strong> <em>{contact.company}</em> <span onclick="x()">{remote.international}</span>', vars));
    expect(div.querySelector('img')).toBeNull();
    expect(div.querySelector('strong')!.textContent).toBe('<img src=x onerror=alert(1)>');
    expect(div.querySelector('em')!.textContent).toBe('A&B');
    expect(div.querySelector('span')!.hasAttribute('onclick')).toBe(false);
    expect(div.querySelector('span')!.textContent).toBe('+49 89 123456');
  });
  it('URL template problems for the admin editor', () => {
    expect(urlTemplateProblem('https://crm.example/contacts/{contact.id}')).toBeNull();
    expect(urlTemplateProblem('tel:{remote.e164}')).toBeNull();
    expect(urlTemplateProblem('')).toBe('enter a URL');
    expect(urlTemplateProblem('javascript:alert(1)')).toMatch(/must start/);
    expect(urlTemplateProblem('{contact.id}')).toMatch(/must start/);
    expect(urlTemplateProblem('https://x/{contact.nmae}')).toBe('unknown placeholder {contact.nmae}');
  });
});

describe('command outcomes on the event stream', () => {
  it('are delivered with or without seq, without moving the resume position', () => {
    const got: any[] = [];
    const s = new EventStream({ url: async () => 'ws://x', open: () => ({} as any), setTimer: () => 0, clearTimer: () => {} },
      { message: (m) => got.push(m), state: () => {} });
    expect(s.handleFrame(JSON.stringify({ type: 'snapshot', seq: 5, calls: [], lines: [] }))).toBe(true);
    expect(s.handleFrame(JSON.stringify({ type: 'command', command: { id: 'k1', action: 'hold', state: 'failed', reason: 'No such channel' } }))).toBe(true);
    expect(s.lastSeq).toBe(5);
    expect(s.handleFrame(JSON.stringify({ type: 'command', seq: 6, command: { id: 'k2', action: 'hangup', state: 'done' } }))).toBe(true);
    expect(s.lastSeq).toBe(6);
    expect(s.handleFrame(JSON.stringify({ type: 'call' }))).toBe(false);  // other messages still need a seq
    expect(got.map((m) => m.command?.id ?? m.type)).toEqual(['snapshot', 'k1', 'k2']);
  });
});
