// The contacts page: search (as you type), a contact's details with click-to-dial and a favorite
// star on every number, and editing of the built-in store (new, edit, delete). Contacts of other
// directory sources are shown read only.
import { useState } from 'preact/hooks';
import { asContact, forgetSearches, isFavorite, searchContacts, toggleFavorite, type StoreContact } from '../app/contacts';
import { dial } from '../app/commands';
import { api, errText, render, setFlash, t } from '../app/state';

interface Draft { id: string | null; display_name: string; company: string; email: string; note: string; numbers: string }

function toDraft(c: StoreContact | null): Draft {
  return { id: c?.id ?? null, display_name: c?.display_name ?? '', company: c?.company ?? '', email: c?.email ?? '', note: c?.note ?? '',
    numbers: (c?.numbers ?? []).map((n) => (n.label ? `${n.label}: ${n.number}` : n.number)).join('\n') };
}

// "work: 0211 339903-12" per line -> numbers (a line without "label:" is an unlabeled number).
export function parseNumbers(text: string): { label: string; number: string }[] {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const m = /^([^:0-9+()]{1,32}):\s*(.+)$/.exec(l);
    return m ? { label: m[1].trim(), number: m[2].trim() } : { label: '', number: l };
  });
}

export function ContactsPage() {
  const [q, setQ] = useState('');
  const [selected, setSelected] = useState<StoreContact | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const list = searchContacts(q) ?? [];
  const save = async (d: Draft) => {
    const body = { display_name: d.display_name.trim(), company: d.company.trim(), email: d.email.trim(), note: d.note, numbers: parseNumbers(d.numbers) };
    try {
      const r = d.id ? await api.patch<unknown>(`/api/v1/contacts/${encodeURIComponent(d.id)}`, body) : await api.post<unknown>('/api/v1/contacts', body);
      forgetSearches();
      setSelected(asContact(r) ?? null);
      setDraft(null);
      setFlash('ok', t('contacts.saved'));
    } catch (e) { setFlash('error', errText(e)); }
  };
  const remove = async (c: StoreContact) => {
    try {
      await api.del(`/api/v1/contacts/${encodeURIComponent(c.id)}`);
      forgetSearches();
      setSelected(null);
      setFlash('ok', t('contacts.deleted'));
    } catch (e) { setFlash('error', errText(e)); }
  };
  const field = (k: keyof Omit<Draft, 'id' | 'numbers'>, label: string, type: 'text' | 'email' = 'text') => draft && (
    <label class="block-field" key={k}><span>{label}</span>
      <input type={type as 'text'} id={`contact-${k}`} value={draft[k]} required={k === 'display_name'} onInput={(ev) => setDraft({ ...draft, [k]: (ev.target as HTMLInputElement).value })} />
    </label>);
  return (
    <div class="contacts-page">
      <h2 tabIndex={-1}>{t('contacts.title')}</h2>
      <div class="toolbar">
        <input type="search" id="contact-search" value={q} aria-label={t('contacts.search')} placeholder={t('contacts.search')}
          onInput={(ev) => { setQ((ev.target as HTMLInputElement).value); render(); }} />
        <button type="button" id="contact-new" onClick={() => { setSelected(null); setDraft(toDraft(null)); }}>{t('contacts.new')}</button>
      </div>
      <div class="split">
        <ul class="contact-list" aria-label={t('contacts.title')}>
          {list.map((c) => (
            <li key={`${c.source ?? ''}:${c.id}`}>
              <button type="button" class={`contact-item ${selected?.id === c.id ? 'selected' : ''}`} aria-pressed={selected?.id === c.id}
                onClick={() => {
                  setSelected(c);
                  setDraft(null);
                  // Search results carry name, company and numbers; the store has the rest (e-mail, note).
                  if (!c.readonly) void api.get<unknown>(`/api/v1/contacts/${encodeURIComponent(c.id)}`).then((full) => { const x = asContact(full); if (x) setSelected(x); }).catch(() => {});
                }}>
                <strong>{c.display_name || '—'}</strong>{c.company ? <span class="detail"> · {c.company}</span> : null}
              </button>
            </li>))}
          {!list.length ? <li class="empty">{t('contacts.none')}</li> : null}
        </ul>
        {draft ? (
          <form class="contact-edit" aria-label={draft.id ? t('contacts.edit') : t('contacts.new')} onSubmit={(ev) => { ev.preventDefault(); void save(draft); }}>
            {field('display_name', t('contacts.name'))}
            {field('company', t('contacts.company'))}
            {field('email', t('contacts.email'), 'email')}
            <label class="block-field"><span>{t('contacts.numbers')}</span>
              <textarea id="contact-numbers" rows={4} value={draft.numbers} onInput={(ev) => setDraft({ ...draft, numbers: (ev.target as HTMLTextAreaElement).value })} /></label>
            <label class="block-field"><span>{t('contacts.note')}</span>
              <textarea id="contact-note" rows={3} value={draft.note} onInput={(ev) => setDraft({ ...draft, note: (ev.target as HTMLTextAreaElement).value })} /></label>
            <div class="inline-form">
              <button type="submit" id="contact-save">{t('contacts.save')}</button>
              <button type="button" onClick={() => setDraft(null)}>{t('contacts.cancel')}</button>
            </div>
          </form>
        ) : selected ? (
          <section class="contact-details" aria-label={selected.display_name}>
            <h3>{selected.display_name}</h3>
            {selected.company ? <p>{selected.company}</p> : null}
            {selected.email ? <p><a href={`mailto:${selected.email}`}>{selected.email}</a></p> : null}
            <ul class="numbers">
              {selected.numbers.map((n) => (
                <li key={n.number}>
                  <button type="button" class="dial-number" data-number={n.number} aria-label={t('contacts.call', { number: n.number })}
                    onClick={() => void dial(n.number)}>☎ {n.number}</button>
                  {n.label ? <span class="detail"> {n.label}</span> : null}
                  <button type="button" class="link fav-toggle" aria-pressed={isFavorite(n.number)}
                    aria-label={`${isFavorite(n.number) ? t('contacts.unfavorite') : t('contacts.favorite')}: ${n.number}`}
                    onClick={() => void toggleFavorite({ number: n.number, name: selected.display_name })}>{isFavorite(n.number) ? '★' : '☆'}</button>
                </li>))}
            </ul>
            {selected.note ? <p class="note">{selected.note}</p> : null}
            {selected.readonly ? <p class="hint">{t('contacts.readonly', { source: selected.source ?? '' })}</p> : (
              <div class="inline-form">
                <button type="button" id="contact-edit" onClick={() => setDraft(toDraft(selected))}>{t('contacts.edit')}</button>
                <button type="button" id="contact-delete" onClick={() => void remove(selected)}>{t('contacts.delete')}</button>
              </div>)}
          </section>
        ) : null}
      </div>
    </div>);
}
