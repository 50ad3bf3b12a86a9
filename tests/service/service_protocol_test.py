#!/usr/bin/env python3
"""callbridged under a service manager, without systemd: the real binary started as systemd would
start the packaged unit (NOTIFY_SOCKET, WATCHDOG_USEC, a config file), with this test as the
service manager. Checks (docs/install.md):
  - READY=1 comes from the main process only once /healthz answers (Type=notify, NotifyAccess=main);
  - WATCHDOG=1 arrives within the interval WATCHDOG_USEC asks for;
  - --log-format journal: "<N>" priority prefixes and no timestamps of its own;
  - SIGHUP: RELOADING=1 then READY=1; the log level and a tenant's dialing plan change live, a
    changed [server] listen is named as needing a restart, a broken file changes nothing;
  - SIGTERM: STOPPING=1 and exit code 0.
usage: service_protocol_test.py CALLBRIDGED
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

DEADLINE_S = 20


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


class Notifications:
    """The service manager's end of $NOTIFY_SOCKET: datagrams with the sender's pid (SCM_CREDENTIALS)."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)

    def next(self, timeout=DEADLINE_S):
        self.sock.settimeout(timeout)
        try:
            data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            return None, None
        pid = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = int.from_bytes(payload[0:4], "little")
        return data.decode(), pid

    def wait_for(self, key, timeout=DEADLINE_S):
        """The next message holding `key` (e.g. "READY=1"), and every message before it."""
        end = time.monotonic() + timeout
        seen = []
        while time.monotonic() < end:
            msg, pid = self.next(max(0.1, end - time.monotonic()))
            if msg is None:
                break
            seen.append((msg, pid))
            if key in msg.split("\n"):
                return msg, pid, seen
        fail(f"no {key} within {timeout} s; got {seen}")


class Log:
    """Collects the daemon's stderr on a thread; wait_for() a pattern with a deadline."""

    def __init__(self, stream):
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()

    def wait_for(self, pattern, start=0, timeout=DEADLINE_S):
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.lines)):
                    if rx.search(self.lines[i]):
                        return i
                left = end - time.monotonic()
                if left <= 0:
                    fail(f"no log line matching {pattern!r} within {timeout} s; log:\n" + "\n".join(self.lines))
                self.cond.wait(left)


def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.read().decode()


def write_config(path, level, dialing_country=None, listen="127.0.0.1:0", broken=False):
    text = f'[server]\nlisten = "{listen}"\nlog_level = "{level}"\n'
    if dialing_country:
        text += f'[tenant.acme.dialing]\ncountry_code = "{dialing_country}"\narea_code = "30"\n'
    if broken:
        text += "[server\n"
    with open(path + ".new", "w") as f:
        f.write(text)
    os.replace(path + ".new", path)


def main():
    daemon = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="cb-service-") as tmp:
        conf = os.path.join(tmp, "callbridge.toml")
        write_config(conf, "info")
        notify = Notifications(os.path.join(tmp, "notify"))
        env = dict(os.environ)
        env.pop("JOURNAL_STREAM", None)
        env.update(NOTIFY_SOCKET=os.path.join(tmp, "notify"), WATCHDOG_USEC="600000",
                   STATE_DIRECTORY=os.path.join(tmp, "state"))
        os.mkdir(os.path.join(tmp, "state"), 0o700)
        proc = subprocess.Popen([daemon, "--config", conf, "--log-format", "journal"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        log = Log(proc.stderr)
        try:
            msg, pid, _ = notify.wait_for("READY=1")
            if pid != proc.pid:
                fail(f"READY=1 from pid {pid}, not the main process {proc.pid} (NotifyAccess=main)")
            m = re.search(r"STATUS=serving on (\S+)", msg)
            if not m:
                fail(f"READY=1 without STATUS=serving on ADDRESS: {msg!r}")
            base = f"http://{m.group(1)}"
            status, body = get(base + "/healthz")  # at once: ready means serving
            if (status, body.strip()) != (200, "ok"):
                fail(f"/healthz right after READY=1: {status} {body!r}")
            # The data dir is systemd's StateDirectory when no data_dir is configured.
            if not os.path.exists(os.path.join(tmp, "state", "journal.db")):
                fail("no journal.db in $STATE_DIRECTORY")
            notify.wait_for("WATCHDOG=1", timeout=2)  # WATCHDOG_USEC=0.6 s: pinged every 0.3 s

            # Journal format: <N> prefixes, no timestamps (journald stamps lines itself).
            first = log.wait_for(r"starting; data dir")
            line = log.lines[first]
            if not line.startswith("<6>") or re.search(r"\d{4}-\d\d-\d\dT", line):
                fail(f"journal format line: {line!r}")

            # SIGHUP 1: log level and a new tenant with a dialing plan, live.
            write_config(conf, "debug", dialing_country="49")
            mark = len(log.lines)
            proc.send_signal(signal.SIGHUP)
            notify.wait_for("RELOADING=1")
            notify.wait_for("READY=1")
            log.wait_for(r"^<6>reload: log level debug \(was info\)", mark)
            log.wait_for(r"^<6>reload: tenant acme added", mark)
            # SIGHUP 2: the plan changes (tenant restarted); listen changes (needs a restart).
            write_config(conf, "debug", dialing_country="43", listen="127.0.0.1:1")
            mark = len(log.lines)
            proc.send_signal(signal.SIGHUP)
            notify.wait_for("READY=1")
            log.wait_for(r"^<4>reload: \[server\] listen changed but needs a restart", mark)
            log.wait_for(r"^<6>reload: tenant acme restarted", mark)
            if get(base + "/healthz")[0] != 200:
                fail("/healthz after reload")
            # SIGHUP 3: a broken file changes nothing and the daemon stays up.
            write_config(conf, "info", broken=True)
            mark = len(log.lines)
            proc.send_signal(signal.SIGHUP)
            notify.wait_for("READY=1")
            log.wait_for(r"^<3>reload: .*nothing changed, the running configuration stays", mark)
            if proc.poll() is not None or get(base + "/healthz")[0] != 200:
                fail("daemon not serving after a broken file was reloaded")

            proc.send_signal(signal.SIGTERM)
            notify.wait_for("STOPPING=1")
            rc = proc.wait(timeout=DEADLINE_S)
            if rc != 0:
                fail(f"exit code {rc} after SIGTERM")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    print("service protocol: READY after listening, watchdog, journal format, SIGHUP reload, STOPPING: ok")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
