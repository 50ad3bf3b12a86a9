# callbridged as the live scenarios run it: the built binary against the lab's AMI, HTTP on port
# 0, its own data dir, --record of the AMI traffic; an admin token made with the `callbridge` CLI;
# REST and WebSocket helpers. Called from the scenario thread (the WebSocket reads on its own).
import http.client
import json
import os
import re
import signal
import subprocess
import time
import urllib.parse
from pathlib import Path

from .lab import die_with_parent
from .ws import WsClient

# +49 30 555-1xx: the lab's company numbers (../shared/lab README), 3-digit extensions.
CONFIG = """\
[tenant.default.dialing]
country_code = "49"
area_code = "30"
base_number = "555"
extension_length = 3

[tenant.default.call_control]
context = "from-internal"
"""

PHONES = ["100", "101", "102", "103", "104", "105"]


class DaemonError(Exception):
    pass


class Daemon:
    def __init__(self, workdir, callbridged, cli, ami="127.0.0.1:5038"):
        self.dir = Path(workdir)
        self.data = self.dir / "data"
        self.record = self.dir / "record"
        self.logfile = self.dir / "callbridged.log"
        self.bin, self.cli_bin, self.ami = callbridged, cli, ami
        self.proc = None
        self.port = None
        self.token = None

    def start(self, config=CONFIG, timeout=20):
        self.dir.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(exist_ok=True)
        self.record.mkdir(exist_ok=True)
        cfg = self.dir / "callbridge.toml"
        cfg.write_text(config)
        if self.token is None:
            args = ["token", "create", "--data-dir", str(self.data), "--tenant", "default",
                    "--user", "live", "--role", "admin", "--display-name", "Live Harness"]
            for p in PHONES:
                args += ["--extension", p]
            r = subprocess.run([self.cli_bin, *args], capture_output=True, text=True, timeout=30)
            if r.returncode != 0:
                raise DaemonError(f"callbridge token create failed: {r.stderr}")
            self.token = r.stdout.strip().splitlines()[-1].strip()
        log = open(self.logfile, "ab")
        self.log_offset = self.logfile.stat().st_size
        self.proc = subprocess.Popen(
            [self.bin, "--config", str(cfg), "--listen", "127.0.0.1:0", "--data-dir", str(self.data),
             "--ami", self.ami, "--ami-user", "cti", "--ami-secret", "cti-secret",
             "--record", str(self.record), "--log-level", os.environ.get("CB_LIVE_LOG_LEVEL", "debug")],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        log.close()
        deadline = time.monotonic() + timeout
        while self.port is None:
            m = re.search(rb"HTTP API listening on 127\.0\.0\.1:(\d+)",
                          self.logfile.read_bytes()[self.log_offset:])
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                raise DaemonError(f"callbridged exited ({self.proc.returncode}):\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise DaemonError("callbridged did not log its HTTP port")
            time.sleep(0.02)
        # ready = the AMI link is logged in (readyz names what is not ready)
        while True:
            st, body = self.request("GET", "/readyz", auth=False)
            if st == 200:
                break
            if time.monotonic() > deadline:
                raise DaemonError(f"callbridged not ready: {st} {body}\n{self.log_tail()}")
            time.sleep(0.05)
        return self

    def log_tail(self, n=40):
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self, timeout=15):
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise DaemonError("callbridged did not stop within 15 s of SIGTERM")
        self.port = None
        return rc

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.port = None

    # ---------------------------------------------------------------- HTTP
    def request(self, method, path, body=None, auth=True, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            raw = r.read()
        finally:
            conn.close()
        ctype = r.getheader("Content-Type", "")
        if "json" in ctype and raw:
            return r.status, json.loads(raw)
        return r.status, raw.decode(errors="replace")

    def get(self, path):
        st, body = self.request("GET", path)
        if st != 200:
            raise DaemonError(f"GET {path}: {st} {body}")
        return body

    def post(self, path, body=None, expect=(200, 201, 202)):
        st, out = self.request("POST", path, body if body is not None else {})
        if st not in expect:
            raise DaemonError(f"POST {path} {body}: {st} {out}")
        return out

    def calls(self):
        return self.get("/api/v1/calls")["calls"]

    def lines(self):
        return {l["device"]: l["state"] for l in self.get("/api/v1/lines")["lines"]}

    def journal(self, **filters):
        """Every journal entry (all pages), oldest first."""
        out, before = [], None
        while True:
            q = dict(filters, limit=500)
            if before is not None:
                q["before"] = before
            page = self.get("/api/v1/journal?" + urllib.parse.urlencode(q))
            out.extend(page["entries"])
            before = page.get("next_before")
            if not before or not page["entries"]:
                break
        out.sort(key=lambda e: e["id"])
        return out

    def events(self, scope="tenant"):
        return WsClient(self.port, f"/api/v1/events?scope={scope}", self.token)
