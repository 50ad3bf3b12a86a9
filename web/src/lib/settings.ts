// The user's own client settings (language, appearance, ring sound): kept in localStorage, and on
// the server (`GET/PUT /api/v1/me/settings`) when it has that route, so they follow the user to
// another browser. Unknown or bad values fall back to the defaults.
export interface UserSettings { lang: 'auto' | 'en' | 'de'; theme: 'auto' | 'light' | 'dark'; ring: boolean }
export const DEFAULT_SETTINGS: UserSettings = { lang: 'auto', theme: 'auto', ring: true };

export function parseSettings(v: unknown): UserSettings {
  const o = v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  return {
    lang: o.lang === 'en' || o.lang === 'de' ? o.lang : 'auto',
    theme: o.theme === 'light' || o.theme === 'dark' ? o.theme : 'auto',
    ring: typeof o.ring === 'boolean' ? o.ring : DEFAULT_SETTINGS.ring,
  };
}
