#!/usr/bin/env python3
"""A small CRM lookup endpoint for the HTTP directory tests (label "http").

Listens on 127.0.0.1 port 0 (or https with --cert/--key), prints "PORT <n>" once listening.
--contacts FILE adds numbers (a JSON object e164 -> list of contacts) for other tests.
GET /api/lookup?number=<e164>  (Authorization: Bearer test-token required)
  known numbers -> {"data": {"contacts": [...]}}; unknown -> 404
  special numbers exercise the client's error handling (see SPECIAL).
GET /api/search?q=<text>&limit=<n>  (same token): the contacts whose name or company contains
  the text (case-insensitive), each with its numbers {"number", "type"}, at most n; "boom" -> 500.
"""
import argparse
import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

CONTACTS = {
    "+4921133990345": [
        {"id": 4711, "name": "Anna Schmidt", "company": {"name": "ACME GmbH"}, "phoneType": "work"},
    ],
    "+4930555000": [
        {"id": "c-1", "name": "Kunde Eins", "company": {"name": "Eins AG"}},
        {"id": "c-2", "name": "Kunde Zwei", "company": None, "type": "company"},
        {"id": "c-3", "name": ""},
    ],
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def search(self, url):
        args = parse_qs(url.query)
        text = args.get("q", [""])[0].lower()
        limit = int(args.get("limit", ["50"])[0])
        if text == "boom":
            return self.send(500, '{"error":"boom"}')
        found = {}
        for number, contacts in CONTACTS.items():
            for c in contacts:
                company = (c.get("company") or {}).get("name", "") if isinstance(c.get("company"), dict) else ""
                if not c.get("name") or (text not in c["name"].lower() and text not in company.lower()):
                    continue
                hit = found.setdefault(str(c["id"]), dict(c, numbers=[]))
                hit["numbers"].append({"number": number, "type": c.get("phoneType", "")})
        hits = list(found.values())[:limit]
        if not hits:
            return self.send(404, '{"data":{"contacts":[]}}')
        return self.send(200, json.dumps({"data": {"contacts": hits}}))

    def do_GET(self):
        url = urlparse(self.path)
        number = parse_qs(url.query).get("number", [""])[0]
        if url.path == "/api/search":
            if self.headers.get("Authorization") != "Bearer test-token":
                return self.send(401, '{"error":"unauthorized"}')
            return self.search(url)
        if url.path != "/api/lookup":
            return self.send(404, "{}")
        if self.headers.get("Authorization") != "Bearer test-token":
            return self.send(401, '{"error":"unauthorized"}')
        if number == "+4930000503":
            return self.send(503, '{"error":"maintenance"}')
        if number == "+4930000001":
            return self.send(200, "{not json")
        if number == "+4930000002":
            return self.send(200, "x" * (2 * 1024 * 1024))
        if number == "+4930000003":
            # Slow CRM: answers after 3 s (the client gives up long before).
            time.sleep(3)
            return self.send(200, '{"data":{"contacts":[]}}')
        if number == "+4930000004":
            return self.send(200, '{"data":{"contacts":"oops"}}')
        if number in CONTACTS:
            return self.send(200, json.dumps({"data": {"contacts": CONTACTS[number]}}))
        return self.send(404, '{"data":{"contacts":[]}}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--contacts", help="JSON file {e164: [contact, ...]} added to the built-in ones")
    a = ap.parse_args()
    if a.contacts:
        with open(a.contacts, encoding="utf-8") as f:
            CONTACTS.update(json.load(f))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("PORT", srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
