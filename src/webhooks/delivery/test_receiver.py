#!/usr/bin/env python3
"""A scripted webhook receiver for dispatcher_test (real HTTP on 127.0.0.x, port 0).

Prints "PORT <n>" once listening, then one JSON line per request it received:
{"path", "headers" (lower-case names), "body", "status" (what it answered)}.
What it answers depends on the path:
  /status/<code>/...            always <code>
  /fail/<n>/<name>              500 for the first n requests to this path, then 204
  /slow/<n>/<ms>/<name>         waits <ms> before answering the first n requests (printing
                                "ARRIVED <path> <count>" when one arrives), then 204
  /redirect/<code>?to=<url>     <code> with Location: <url>
  /big                          200 with a 200 KiB body
  anything else                 204
With CERT and KEY (PEM files) after the host it serves HTTPS with that certificate.
"""
import json
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
counts = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace")
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        with lock:
            counts[url.path] = counts.get(url.path, 0) + 1
            seen = counts[url.path]
        status, headers, out = 204, {}, b""
        if parts[0] == "status":
            status = int(parts[1])
        elif parts[0] == "fail" and seen <= int(parts[1]):
            status = 500
        elif parts[0] == "slow" and seen <= int(parts[1]):
            with lock:
                sys.stdout.write("ARRIVED %s %d\n" % (url.path, seen))
                sys.stdout.flush()
            time.sleep(int(parts[2]) / 1000.0)
        elif parts[0] == "redirect":
            status = int(parts[1])
            headers["Location"] = urllib.parse.parse_qs(url.query)["to"][0]
        elif parts[0] == "big":
            status, out = 200, b"x" * (200 * 1024)
        line = json.dumps({"path": url.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                           "body": body, "status": status})
        with lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        try:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout): expected in the timeout tests


def main():
    host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    if len(sys.argv) > 3:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    sys.stdout.write("PORT %d\n" % server.server_address[1])
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
