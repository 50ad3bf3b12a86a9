#!/usr/bin/env python3
"""Example webhook receiver for callbridge: verifies each delivery's signature, then prints it.

    python3 contrib/webhooks/receiver.py --secret whsec_... [--host 127.0.0.1] [--port 9000]

Answers 204 to a delivery whose X-Callbridge-Signature matches HMAC-SHA256(secret,
"<X-Callbridge-Timestamp>.<body>") and whose timestamp is within --tolerance seconds of now;
401 otherwise (callbridge does not retry a 401: the delivery log shows it). Standard library only.
Prints "listening on HOST:PORT" first (--port 0 picks a free port), then one line per delivery.
Deliveries can repeat (a retry after a lost answer): use the X-Callbridge-Delivery id to drop
duplicates. See docs/webhooks.md.
"""
import argparse
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1024 * 1024
_out = threading.Lock()


def say(line: str) -> None:
    """One whole line per delivery, also when deliveries arrive at once (one thread each)."""
    with _out:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def verify(secret: str, timestamp: str, body: bytes, signature_header: str, tolerance: int) -> str:
    """'' if the delivery is authentic and fresh, else why not."""
    try:
        ts = int(timestamp)
    except ValueError:
        return "no or bad X-Callbridge-Timestamp"
    if abs(time.time() - ts) > tolerance:
        return "timestamp outside the tolerance (replayed or clock skew)"
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    # The header may carry several signatures ("v1=...,v1=...") while a secret is being rotated.
    for part in signature_header.split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme == "v1" and hmac.compare_digest(value, expected):
            return ""
    return "signature does not match"


def make_handler(secret: str, tolerance: int):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, status: int):
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            if n > MAX_BODY:
                self.answer(413)
                return
            body = self.rfile.read(n)
            why = verify(secret, self.headers.get("X-Callbridge-Timestamp", ""), body,
                         self.headers.get("X-Callbridge-Signature", ""), tolerance)
            if why:
                say("rejected %s: %s" % (self.headers.get("X-Callbridge-Delivery", "?"), why))
                self.answer(401)
                return
            event = json.loads(body)
            say("%s %s %s" % (self.headers.get("X-Callbridge-Delivery"), self.headers.get("X-Callbridge-Event"),
                              json.dumps(event, sort_keys=True)))
            self.answer(204)

    return Handler


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--secret", required=True, help="the hook's secret (whsec_...), shown when it was created")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--tolerance", type=int, default=300, help="seconds a timestamp may be off (default 300)")
    a = p.parse_args()
    server = ThreadingHTTPServer((a.host, a.port), make_handler(a.secret, a.tolerance))
    server.daemon_threads = True
    say("listening on %s:%d" % server.server_address[:2])
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
