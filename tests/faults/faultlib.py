# Building blocks of the fault campaigns (tests/faults/campaign.py, docs/reliability.md): the PBX
# simulator as a process (callbridge-pbxsim), an observer AMI client that records everything the
# simulator did (the ground truth, journaled offline by `callbridge replay`), a TCP proxy between
# callbridged and the simulator that cuts the AMI connection on demand (also in the middle of a
# message), and the comparison of callbridged's journal with the ground truth.
# Runs in the campaign's thread; the proxy and the observer read on threads of their own.
import json
import os
import random
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "live"))
from livetest.daemon import CONFIG, Daemon, DaemonError  # noqa: E402,F401
from livetest.lab import die_with_parent  # noqa: E402

# The resync callbridge's AMI client asks after each login (drivers/ami default_resync_actions):
# the observer asks the same with the same ActionIDs, so `callbridge replay` accepts its stream.
RESYNC_ACTIONS = ["CoreShowChannels", "Status", "BridgeList", "DeviceStateList", "ExtensionStateList",
                  "PJSIPShowEndpoints", "PJSIPShowContacts", "QueueStatus", "ParkedCalls", "CoreStatus"]


class CampaignError(Exception):
    pass


def wait_until(pred, timeout, what, step=0.01):
    """Polls pred() until truthy (returns its value) or raises CampaignError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise CampaignError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


# ------------------------------------------------------------------------------------ simulator
class Sim:
    """One callbridge-pbxsim process: generated traffic from `profile` (flags), starting when the
    observer has logged in; `drain()` ends the traffic, the process exits when the calls are over."""

    def __init__(self, binary, workdir, index, seed, profile):
        self.index = index
        self.log = Path(workdir) / f"pbxsim-{index}.log"
        args = [binary, "--listen", "127.0.0.1:0", "--seed", str(seed), "--wait-login", "--control-stdin"]
        for k, v in profile.items():
            args += [f"--{k}", str(v)]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=open(self.log, "wb"), preexec_fn=die_with_parent)
        line = self.proc.stdout.readline().decode()
        m = re.search(r"AMI on 127\.0\.0\.1:(\d+)", line)
        if not m:
            raise CampaignError(f"pbxsim did not print its port: {line!r} {self.log.read_text()}")
        self.port = int(m.group(1))
        self.observer = Observer(self.port, Path(workdir) / f"observed-{index}.ami")

    def drain(self):
        self.proc.stdin.write(b"drain\n")
        self.proc.stdin.flush()

    def wait_calls_over(self, timeout):
        """After drain(): waits until every channel the observer saw has hung up (the simulator
        then exits by itself; it is stopped here in any case, its work being done)."""
        wait_until(lambda: self.proc.poll() is not None or
                   (self.observer.live_channels() == 0 and time.monotonic() - self.observer.last_event > 0.5),
                   timeout, "the simulator's calls to end after drain", step=0.05)
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait()
        self.observer.join(timeout=5)

    def kill(self):
        """A PBX restart: the process dies at once, every channel with it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.observer.join(timeout=5)


class Observer:
    """An AMI client that is never cut: logs in, asks the resync lists callbridge asks, and keeps
    every byte the simulator sends until the simulator goes away. Its file, replayed by
    `callbridge replay`, is what a callbridge that missed nothing journals."""

    def __init__(self, port, path):
        self.path = Path(path)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = open(self.path, "wb")
        self.logged_in = threading.Event()
        self.lock = threading.Lock()
        self.live = set()
        self._pending = b""
        self.last_event = time.monotonic()
        self.sock.sendall(b"Action: Login\r\nUsername: cti\r\nSecret: cti-secret\r\nEvents: on\r\n"
                          b"ActionID: login\r\n\r\n")
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.logged_in.wait(10):
            raise CampaignError("observer: no login answer from pbxsim")

    def _track(self, data):
        """Counts the simulator's live channels (Newchannel .. Hangup) from the event stream."""
        self._pending += data
        *blocks, self._pending = self._pending.split(b"\r\n\r\n")
        for b in blocks:
            if b.startswith(b"Event: Newchannel\r\n") or b.startswith(b"Event: Hangup\r\n"):
                m = re.search(rb"\r\nUniqueid: (\S+)", b)
                if m:
                    with self.lock:
                        if b.startswith(b"Event: Newchannel"):
                            self.live.add(m.group(1))
                        else:
                            self.live.discard(m.group(1))
                        self.last_event = time.monotonic()

    def live_channels(self):
        with self.lock:
            return len(self.live)

    def _run(self):
        buf = b""
        self.sock.settimeout(None)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.file.write(chunk)
                self._track(chunk)
                if not self.logged_in.is_set():
                    buf += chunk
                    if b"ActionID: login\r\n" in buf and b"\r\n\r\n" in buf.split(b"ActionID: login", 1)[1]:
                        self.sock.sendall(b"".join(f"Action: {a}\r\nActionID: resync-{a}\r\n\r\n".encode()
                                                   for a in RESYNC_ACTIONS))
                        self.logged_in.set()
        except OSError:
            pass
        finally:
            self.file.close()

    def join(self, timeout):
        self.thread.join(timeout)
        try:
            self.sock.close()
        except OSError:
            pass


# ------------------------------------------------------------------------------------ proxy
class Proxy:
    """TCP proxy callbridged -> simulator. `cut()` ends the current connection the way a network
    fault does: in the middle of an AMI message (part of a read forwarded, then closed) or between
    reads, with a FIN or a reset. While no upstream is set (a PBX restarting) connections are
    refused by closing them at once."""

    def __init__(self):
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.upstream = None  # port of the simulator
        self.lock = threading.Lock()
        self.pair = None
        self.accepted_at = []  # monotonic times of connections that reached the simulator
        self.rng = random.Random(1)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                up = self.upstream
            u = None
            if up is not None:
                try:
                    u = socket.create_connection(("127.0.0.1", up), timeout=5)
                    u.settimeout(None)
                except OSError:
                    u = None
            if u is None:
                c.close()
                continue
            pair = _Pair(c, u, self.rng)
            with self.lock:
                old, self.pair = self.pair, pair
                self.accepted_at.append(time.monotonic())
            if old:
                old.close(reset=False)
            pair.start()

    def set_upstream(self, port):
        with self.lock:
            self.upstream = port

    def cut(self, mid_message, reset, timeout=3.0):
        """Cuts the current connection; returns the monotonic time of the cut (None: none open)."""
        with self.lock:
            pair = self.pair
        if pair is None or pair.closed.is_set():
            return None
        if mid_message:
            pair.cut_request = reset
            if not pair.closed.wait(timeout):  # no traffic flowing: cut between reads
                pair.close(reset)
        else:
            pair.close(reset)
        return pair.cut_at

    def close(self):
        self.lsock.close()
        with self.lock:
            if self.pair:
                self.pair.close(reset=False)


class _Pair:
    """One proxied connection, pumped by one thread (select); only that thread closes the sockets,
    so a close is never stuck behind a recv() of another thread."""

    def __init__(self, c, u, rng):
        self.c, self.u, self.rng = c, u, rng
        self.closed = threading.Event()
        self.cut_request = None  # None, or reset flag: cut inside the next message from upstream
        self.close_request = None  # None, or reset flag: cut now
        self.cut_at = None
        self.mid_cuts = 0

    def start(self):
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        reset = False
        try:
            while self.close_request is None:
                r, _, _ = select.select([self.c, self.u], [], [], 0.02)
                for src in r:
                    data = src.recv(65536)
                    if not data:
                        raise EOFError
                    if src is self.u:
                        req = self.cut_request
                        if req is not None:
                            # Forward up to a point strictly inside a message (not at a block end).
                            ends = {m.end() for m in re.finditer(rb"\r\n\r\n", data)}
                            inside = [i for i in range(1, len(data)) if i not in ends]
                            if inside:
                                self.c.sendall(data[:self.rng.choice(inside)])
                                self.mid_cuts += 1
                                reset = req
                                raise EOFError
                        self.c.sendall(data)
                    else:
                        self.u.sendall(data)
            reset = self.close_request
        except (OSError, EOFError):
            pass
        self.cut_at = time.monotonic()
        for s in (self.c, self.u):
            try:
                if reset:  # RST instead of FIN
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
            except OSError:
                pass
        self.closed.set()

    def close(self, reset):
        if not self.closed.is_set():
            self.close_request = reset
            self.closed.wait(5)


# ------------------------------------------------------------------------------------ daemon
def daemon_config(reconnect_max_ms=1000):
    return CONFIG + f"""
[[pbx]]
name = "sim"
reconnect_min_ms = 100
reconnect_max_ms = {reconnect_max_ms}
"""


def pbx_counters(d):
    diag = d.get("/api/v1/diagnostics")
    return diag["pbx"][0]["counters"], diag


def resyncs_done(d):
    try:
        return pbx_counters(d)[0]["tracker_resyncs_done"]
    except (OSError, DaemonError, KeyError, IndexError):
        return None


# ------------------------------------------------------------------------------------ judging
def ground_truth(cli, workdir, files, config_text):
    cfg = Path(workdir) / "replay.toml"
    cfg.write_text(config_text)
    out = Path(workdir) / "ground-truth.jsonl"
    r = subprocess.run([cli, "replay", "--config", str(cfg), "--journal-out", str(out), *map(str, files)],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise CampaignError(f"callbridge replay failed: {r.stderr}")
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def _t(s):
    if s is None:
        return None
    from datetime import datetime
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


KEY = ("call_id", "party", "direction", "remote")
EXACT = ("remote_withheld", "transferred_to", "transferred_from")
TIMES = ("started_at", "answered_at", "ended_at")


def compare(truth, got, tolerance_estimated):
    """Matches entries by (call_id, party, direction, remote) and judges them.
    Returns dict: lost, duplicated, wrong (lists of text), matched count.
    - lost: a ground-truth entry callbridged does not have;
    - duplicated: a callbridged entry beyond the ground truth's (a second entry for a party);
    - wrong: a field differs although callbridged did not mark it estimated (times within 2 ms),
      or an estimated time lies more than `tolerance_estimated` s from the truth;
    - transfer_unseen: only transferred_to/from missing, on an entry with estimated values."""
    def key(e):
        return tuple(e.get(k) for k in KEY)

    want, have = {}, {}
    for e in truth:
        want.setdefault(key(e), []).append(e)
    for e in got:
        have.setdefault(key(e), []).append(e)
    lost, dup, wrong, transfers = [], [], [], []
    matched = 0
    for k in set(want) | set(have):
        w = sorted(want.get(k, []), key=lambda e: e["started_at"])
        h = sorted(have.get(k, []), key=lambda e: e["started_at"])
        for e in w[len(h):]:
            lost.append(json.dumps(e))
        extra = h[len(w):] if len(h) > len(w) else []
        for e in extra:
            dup.append(json.dumps({x: e.get(x) for x in (*KEY, "disposition", *TIMES, "estimated")}))
        for a, b in zip(w, h):
            matched += 1
            est = set(b.get("estimated") or [])
            problems = []
            # An estimated disposition says "unknown" (it may have been answered unseen); any
            # other value must be the truth - a guessed "missed" is wrong (docs/journal.md "Faults").
            if a["disposition"] != b["disposition"] and not ("disposition" in est and b["disposition"] == "unknown"):
                problems.append(f"disposition {b['disposition']} (truth {a['disposition']}"
                                f"{', estimated' if 'disposition' in est else ''})")
            for f in EXACT:
                if a.get(f) != b.get(f):
                    problems.append(f"{f} {b.get(f)} (truth {a.get(f)})")
            for f in TIMES:
                ta, tb = _t(a.get(f)), _t(b.get(f))
                if f == "answered_at" and "disposition" in est and (ta is None) != (tb is None):
                    continue  # answered or not is what the estimated disposition says it does not know
                if (ta is None) != (tb is None):
                    problems.append(f"{f} {b.get(f)} (truth {a.get(f)})")
                    continue
                if ta is None:
                    continue
                tol = tolerance_estimated if f in est else 0.002
                if abs(ta - tb) > tol:
                    problems.append(f"{f} {b.get(f)} (truth {a.get(f)}{', estimated' if f in est else ''})")
            if not problems:
                continue
            # A transfer answered and completed inside one gap leaves no trace callbridged can
            # see (docs/journal.md "Faults"): counted apart, never for an entry followed live.
            if est and all(p.startswith(("transferred_to None", "transferred_from None")) for p in problems):
                transfers.append(f"{k}: " + "; ".join(problems))
            else:
                wrong.append(f"{k}: " + "; ".join(problems))
    return {"lost": lost, "duplicated": dup, "wrong": wrong, "transfer_unseen": transfers,
            "matched": matched}


def rss_kb(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def machine():
    cpus = os.cpu_count()
    load = os.getloadavg()[0]
    return f"{cpus} cores, load {load:.1f}"
