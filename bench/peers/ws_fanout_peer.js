// The Node `ws` peer of bench/ws_fanout: the documented ws broadcast pattern
// (wss.clients.forEach(c => c.send(data))) on 127.0.0.1, driven over stdin/stdout with the same line
// protocol as `ws_fanout serve`:
//   -> "port N" once listening
//   <- "bcast MSGS BYTES BATCH"  -> "done"   (MSGS messages of BYTES JSON, BATCH per event-loop turn)
//   <- "mem"                     -> "mem RSS_KB HEAP_KB CLIENTS"
//   <- "exit"
'use strict';
const { WebSocketServer, WebSocket } = require('ws');
const readline = require('readline');

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, backlog: 4096 });

function message(bytes, i) {
  const head = `{"type":"call","seq":${i},"pad":"`;
  const tail = '"}';
  return Buffer.from(head + 'x'.repeat(Math.max(0, bytes - head.length - tail.length)) + tail);
}

wss.on('listening', () => process.stdout.write(`port ${wss.address().port}\n`));
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, ...args] = line.trim().split(/\s+/);
  if (cmd === 'bcast') {
    const [msgs, bytes, batch] = args.map(Number);
    let sent = 0;
    const round = () => {
      for (let b = 0; b < batch && sent < msgs; ++b, ++sent) {
        const data = message(bytes, sent + 1);
        wss.clients.forEach((c) => { if (c.readyState === WebSocket.OPEN) c.send(data, { binary: false }); });
      }
      if (sent < msgs) setImmediate(round);
      else process.stdout.write('done\n');
    };
    round();
  } else if (cmd === 'mem') {
    if (global.gc) global.gc();
    const mu = process.memoryUsage();
    process.stdout.write(`mem ${Math.round(mu.rss / 1024)} ${Math.round(mu.heapUsed / 1024)} ${wss.clients.size}\n`);
  } else if (cmd === 'exit') {
    process.exit(0);
  }
});
