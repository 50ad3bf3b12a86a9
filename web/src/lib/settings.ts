// The user's own client settings (language, appearance, ring sound, desktop notifications): kept
// in localStorage, and on the server (`GET/PUT /api/v1/me/settings`: `language`, `theme`,
// `ring_sound`, `notifications`) when it has that route, so they follow the user to another
// browser. Unknown or bad values fall back to the defaults, which are the server's
// (src/api/rest_user_settings.cpp). Desktop notifications start off: the browser shows them only
// after it asked the user for permission, and it asks only in answer to a click, so the switch is
// off until the user turns it on, and turning it on is what asks (Settings page). A default of
// "on" would show a switch that does nothing in every browser that was never asked.
export interface UserSettings { lang: 'auto' | 'en' | 'de'; theme: 'auto' | 'light' | 'dark'; ring: boolean; notifications: boolean }
export const DEFAULT_SETTINGS: UserSettings = { lang: 'auto', theme: 'auto', ring: true, notifications: false };

// Reads both the browser's own keys and the server's names (the server's win when both are there).
export function parseSettings(v: unknown): UserSettings {
  const o = v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  const lang = o.language ?? o.lang, ring = o.ring_sound ?? o.ring;
  return {
    lang: lang === 'en' || lang === 'de' ? lang : 'auto',
    theme: o.theme === 'light' || o.theme === 'dark' ? o.theme : 'auto',
    ring: typeof ring === 'boolean' ? ring : DEFAULT_SETTINGS.ring,
    notifications: typeof o.notifications === 'boolean' ? o.notifications : DEFAULT_SETTINGS.notifications,
  };
}

// The body of PUT /api/v1/me/settings (the server takes exactly these keys).
export function serverSettings(s: UserSettings) {
  return { language: s.lang, theme: s.theme, ring_sound: s.ring, notifications: s.notifications };
}
