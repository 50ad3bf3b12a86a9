#!/usr/bin/env node
// Started by playwright-core in place of Debian's firefox-esr (harness.mjs browser() when
// E2E_BROWSER=firefox): runs the real Firefox ($CB_FIREFOX) with playwright's arguments and relays
// its WebDriver BiDi socket. Why: playwright's Firefox-over-BiDi ("moz-firefox" channel) sends
// emulation.setMediaFeaturesOverride for every new page, which Firefox ESR 153 does not implement
// ("unknown command"), so no page could open. The relay answers that command itself when it asks
// for what Firefox shows anyway (no override, or "light": headless Firefox has a light scheme) and
// refuses any other value (a dark scheme cannot be emulated; the test must set it another way).
// And ESR's browsingContext.downloadWillBegin/downloadEnd events carry neither the `download` id of
// newer BiDi nor a navigation id, which playwright needs to report a download: the relay adds a
// `download` id per download URL (the download itself is Firefox's, file and all). Every other
// message passes unchanged. One process per browser; exits with Firefox.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { WebSocket, WebSocketServer } from 'ws';

const real = process.env.CB_FIREFOX;
if (!real) { console.error('firefox_relay: CB_FIREFOX (the real firefox-esr) is not set'); process.exit(2); }

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 256 << 20 });
await new Promise((r) => server.once('listening', r));
let upstreamBase = null;  // ws://127.0.0.1:PORT of Firefox's BiDi server, from its log line

const ff = spawn(real, process.argv.slice(2), { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
ff.on('exit', (code, signal) => { server.close(); process.exit(code ?? (signal ? 1 : 0)); });
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => ff.kill(sig));
// Firefox's output goes on to playwright line by line, with the BiDi address replaced by the relay's.
for (const [from, to] of [[ff.stdout, process.stdout], [ff.stderr, process.stderr]]) {
  createInterface({ input: from, crlfDelay: Infinity }).on('line', (line) => {
    const m = /WebDriver BiDi listening on (ws:\/\/\S+)$/.exec(line);
    if (m) {
      upstreamBase = m[1];
      line = line.replace(m[1], `ws://127.0.0.1:${server.address().port}`);
    }
    to.write(line + '\n');
  });
}

const answersItself = (msg) => {
  if (msg?.method !== 'emulation.setMediaFeaturesOverride') return null;
  const features = msg.params?.features ?? {};
  const keys = Object.keys(features);
  const plain = keys.every((k) => k === 'prefers-color-scheme') && [null, undefined, 'light'].includes(features['prefers-color-scheme']);
  return plain ? { type: 'success', id: msg.id, result: {} }
    : { type: 'error', id: msg.id, error: 'unsupported operation',
        message: `firefox_relay: Firefox ESR cannot emulate media features ${JSON.stringify(features)} over WebDriver BiDi` };
};

// Download events without an id get one, the same for the start and the end of one URL.
const downloads = new Map();  // url -> id
let downloadSeq = 0;
const withDownloadId = (text) => {
  if (!text.includes('"browsingContext.download')) return text;
  let msg;
  try { msg = JSON.parse(text); } catch { return text; }
  const p = msg.params;
  if (msg.type !== 'event' || !p || p.download != null || p.navigation != null) return text;
  if (msg.method === 'browsingContext.downloadWillBegin') downloads.set(p.url, `relay-download-${++downloadSeq}`);
  else if (msg.method !== 'browsingContext.downloadEnd') return text;
  p.download = downloads.get(p.url) ?? `relay-download-${++downloadSeq}`;
  if (msg.method === 'browsingContext.downloadEnd') downloads.delete(p.url);
  return JSON.stringify(msg);
};

server.on('connection', (client, req) => {
  if (!upstreamBase) { client.close(1011, 'Firefox is not listening yet'); return; }
  const up = new WebSocket(upstreamBase + req.url, { maxPayload: 256 << 20 });
  const pending = [];
  up.on('open', () => { for (const m of pending.splice(0)) up.send(m); });
  up.on('message', (data, isBinary) => client.send(isBinary ? data : withDownloadId(data.toString()), { binary: isBinary }));
  client.on('message', (data, isBinary) => {
    let own = null;
    if (!isBinary) { try { own = answersItself(JSON.parse(data.toString())); } catch { /* not JSON: pass it on */ } }
    if (own) { client.send(JSON.stringify(own)); return; }
    const m = isBinary ? data : data.toString();
    if (up.readyState === WebSocket.OPEN) up.send(m); else pending.push(m);
  });
  const closeBoth = () => { client.close(); up.close(); };
  up.on('close', closeBoth); client.on('close', closeBoth);
  up.on('error', closeBoth); client.on('error', closeBoth);
});
