// Removes registry/host names from package-lock.json (`resolved` URLs, `funding` links) so the
// lockfile names packages only by name, version and integrity; `npm ci` resolves them through
// the configured registry or the local cache (`npm ci --offline`). Run after changing dependencies.
import { readFileSync, writeFileSync } from 'node:fs';
const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
let n = 0;
for (const pkg of Object.values(lock.packages ?? {})) {
  for (const k of ['resolved', 'funding']) if (k in pkg) { delete pkg[k]; n++; }
}
writeFileSync(path, JSON.stringify(lock, null, 2) + '\n');
console.log(`strip-lock: removed ${n} fields`);
