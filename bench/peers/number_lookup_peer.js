// Peer for bench/number_lookup: libphonenumber-js on the same contacts and caller ids.
// Usage: node number_lookup_peer.js CONTACTS.tsv INPUTS.tsv CONTACTS_OUT INPUTS_OUT
//   CONTACTS.tsv: "ID<TAB>NUMBER AS STORED"; INPUTS.tsv: "PBX<TAB>CALLER ID" (PBX 1 reports an
//   outside-line code "0" in front of external numbers). Writes one E.164 (or empty) per line to
//   the *_OUT files and prints one summary line (CPU seconds of the timed input loop, digest).
// Same rules as case (b) of the C++ harness: a bare 2-digit extension is appended to the company
// number, PBX 1's leading "0" is dropped, the rest is parsePhoneNumberFromString(text, 'DE'),
// accepted when isPossible(). Lookup: exact, else LookupService's company fallback (drop 1..5
// trailing digits, never below 7; for 2+ also base + "0"), smallest distance wins.
'use strict';
const fs = require('fs');
const { parsePhoneNumberFromString } = require('libphonenumber-js');
const version = require('libphonenumber-js/package.json').version;

const [contactsFile, inputsFile, contactsOut, inputsOut] = process.argv.slice(2);
if (!inputsOut) {
  console.error('usage: node number_lookup_peer.js CONTACTS.tsv INPUTS.tsv CONTACTS_OUT INPUTS_OUT');
  process.exit(2);
}

function e164(text) {
  const p = parsePhoneNumberFromString(text, 'DE');
  return p && p.isPossible() ? p.number : '';
}
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

// Contacts -> Map(E.164 -> id or array of ids)
const contactLines = fs.readFileSync(contactsFile, 'utf8').split('\n');
const map = new Map();
const contactE164 = [];
let c0 = cpu();
for (const line of contactLines) {
  if (!line) continue;
  const t = line.indexOf('\t');
  const id = +line.slice(0, t);
  const e = e164(line.slice(t + 1));
  contactE164.push(e);
  if (!e) continue;
  const prev = map.get(e);
  if (prev === undefined) map.set(e, id);
  else if (Array.isArray(prev)) prev.push(id);
  else map.set(e, [prev, id]);
}
const contactsCpu = cpu() - c0;

const inputLines = fs.readFileSync(inputsFile, 'utf8').split('\n');
if (inputLines.length && inputLines[inputLines.length - 1] === '') inputLines.pop();
const pbx = new Uint8Array(inputLines.length);
const text = new Array(inputLines.length);
inputLines.forEach((l, i) => { pbx[i] = l.charCodeAt(0) === 49 ? 1 : 0; text[i] = l.slice(2); });
const out = new Array(text.length);
const d = { resolved: 0, exact: 0, company: 0, none: 0, matches: 0, idSum: 0n };
let idSum = 0;  // stays below 2^53 for the sizes used; folded into a BigInt at the end

function add(v) {
  if (Array.isArray(v)) { for (const id of v) idSum += id; return v.length; }
  idSum += v;
  return 1;
}
function lookup(e) {
  let v = map.get(e);
  if (v !== undefined) { d.matches += add(v); d.exact++; return; }
  const digits = e.slice(1);
  const n = digits.length;
  let prev = '';
  for (let k = 1; k <= 5 && k < n; k++) {
    if (n - k < 7) break;
    const base = '+' + digits.slice(0, n - k);
    let found = 0;
    v = map.get(base);
    if (v !== undefined) found += add(v);
    if (k >= 2) {
      const zero = base + '0';
      if (zero !== prev) { v = map.get(zero); if (v !== undefined) found += add(v); }
    }
    if (found) { d.matches += found; d.company++; return; }
    prev = base;
  }
  d.none++;
}

const w0 = process.hrtime.bigint();
c0 = cpu();
for (let i = 0; i < text.length; i++) {
  let s = text[i];
  if (s.length === 2 && s.charCodeAt(0) >= 48 && s.charCodeAt(0) <= 57 && s.charCodeAt(1) >= 48 && s.charCodeAt(1) <= 57) {
    s = '0211339903' + s;
  } else if (pbx[i] === 1 && s.charCodeAt(0) === 48) {
    s = s.slice(1);
  }
  const e = e164(s);
  out[i] = e;
  if (!e) { d.none++; continue; }
  d.resolved++;
  lookup(e);
}
const inputsCpu = cpu() - c0;
const wall = Number(process.hrtime.bigint() - w0) / 1e9;

fs.writeFileSync(contactsOut, contactE164.join('\n') + '\n');
fs.writeFileSync(inputsOut, out.join('\n') + '\n');
console.log(`version ${version} contacts_cpu ${contactsCpu.toFixed(3)} cpu ${inputsCpu.toFixed(3)} wall ${wall.toFixed(3)} ` +
            `resolved ${d.resolved} exact ${d.exact} company ${d.company} none ${d.none} matches ${d.matches} id_sum ${idSum}`);
