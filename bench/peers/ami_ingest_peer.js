// AMI ingest peer for bench/ami_socket: the npm `asterisk-manager` client connects to the bench's
// loopback server (argv[2] = port), logs in as it always does, counts 'managerevent's until the
// server closes, and prints "events N seconds S" (wall time from connect to close).
'use strict';
const AsteriskManager = require('asterisk-manager');
const port = Number(process.argv[2]);
let events = 0;
const t0 = process.hrtime.bigint();
const ami = new AsteriskManager(port, '127.0.0.1', 'bench', 'bench', true);
ami.on('managerevent', () => { events += 1; });
ami.on('close', () => {
  // Events are emitted on process.nextTick: let the queued ones run before reporting.
  setImmediate(() => {
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    process.stdout.write(`events ${events} seconds ${s}\n`);
    process.exit(0);
  });
});
setTimeout(() => { process.stderr.write('ami_ingest_peer: timeout\n'); process.exit(1); }, 600000).unref();
