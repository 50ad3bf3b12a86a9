# Scenario runner of the live suite: one callbridged per test group against the running lab, one
# tenant-wide WebSocket collecting every event, and per scenario a Ctx that drives calls, watches
# the live call list and line states, then judges journal, CDR and events (livetest.check).
# Runs in the ctest process's main thread; SIPp calls are child processes.
import itertools
import json
import os
import re
import sys
import time
import traceback
from pathlib import Path

from . import check, fixture
from .check import Cdr, Entry  # noqa: F401  (re-exported for scenario modules)
from .daemon import Daemon
from .lab import Lab, LabError

SCENARIOS = {}  # name -> (group, function)
GROUP_CONFIG = {}  # group -> callbridged config text, when a group needs other than daemon.CONFIG
# group -> fn(lab) run after the group, also when it failed: puts back what its scenarios changed
# in the lab beyond phones (e.g. the features group's dialplan include).
GROUP_TEARDOWN = {}
_callers = itertools.count(1)


def scenario(group):
    def deco(fn):
        SCENARIOS[fn.__name__] = (group, fn)
        return fn
    return deco


class ScenarioFailed(AssertionError):
    pass


class Ctx:
    """One run of one scenario. Everything in it waits on conditions with deadlines."""

    def __init__(self, h, name):
        self.h, self.lab, self.d, self.name = h, h.lab, h.daemon, name
        self.t0 = time.time()
        self.cdr_off = self.lab.cdr_offset()
        js = self.d.journal()
        self.journal_base = js[-1]["id"] if js else 0
        self.ws_base = len(self.ws.snapshot_messages())
        self.sipps = []
        self.report = []
        self.seen = {}  # what the live call list showed: (device, state) -> call

    @property
    def ws(self):
        return self.h.ws  # the current stream (restart_daemon replaces it)

    # ---------------------------------------------------------------- driving
    def caller(self):
        """A fresh external number per call (+49 89 123xxx), so nothing is confused with an
        earlier run's call."""
        return f"+4989123{next(_callers) % 1000:03d}"

    def trunk_call(self, did, caller, **kw):
        p = self.lab.trunk_call(did, caller, **kw)
        self.sipps.append(p)
        return p

    def phone_call(self, ext, number, **kw):
        p = self.lab.phone_call(ext, number, **kw)
        self.sipps.append(p)
        return p

    def phone(self, ext, scenario, **kw):
        return self.lab.phone(ext, scenario, **kw)

    # ---------------------------------------------------------------- watching
    def wait(self, pred, what, timeout=15.0, interval=0.02):
        deadline = time.monotonic() + timeout
        while True:
            v = pred()
            if v:
                return v
            if time.monotonic() > deadline:
                raise ScenarioFailed(f"timed out after {timeout} s waiting for {what}")
            for p in self.sipps:
                if not p.running() and p.proc.returncode != 0:
                    p.wait()  # raises with SIPp's error log
            time.sleep(interval)

    def connection(self, device, state, remote="any", timeout=15.0):
        """Waits until GET /api/v1/calls shows DEVICE's connection in STATE (and with REMOTE when
        given); returns the call. The state names are the API's (alerting, connected, held, ...)."""
        def find():
            for c in self.d.calls():
                for conn in c["connections"]:
                    if conn["device"] == device and conn["state"] == state and \
                            (remote == "any" or conn.get("remote") == remote):
                        return c
            return None
        call = self.wait(find, f"call list: {device} {state}" + ("" if remote == "any" else f" remote {remote}"),
                         timeout)
        self.seen[(device, state)] = call
        self.report.append(f"calls ok  {device} {state}" + ("" if remote == "any" else f" remote {remote}"))
        return call

    def line(self, device, state, timeout=15.0):
        self.wait(lambda: self.d.lines().get(device) == state, f"GET /lines: {device} {state}", timeout)
        self.report.append(f"line ok   {device} {state}")

    def api(self, verb, call, device=None, **body):
        """POST /api/v1/calls/{id}/{verb}; the command must be accepted (202)."""
        if device is not None:
            body["device"] = device
        return self.d.post(f"/api/v1/calls/{call['id']}/{verb}", body)

    def command_done(self, answer, timeout=15.0):
        """Waits until the command of a 202 answer is done (GET /api/v1/commands/{id})."""
        cid = answer.get("command_id")
        if not cid:
            raise ScenarioFailed(f"202 without command_id: {answer}")

        def state():
            c = self.d.get(f"/api/v1/commands/{cid}")
            if c.get("state") == "failed":
                raise ScenarioFailed(f"command {cid} failed: {c}")
            return c if c.get("state") == "done" else None
        return self.wait(state, f"command {cid} done", timeout)

    # ---------------------------------------------------------------- judging
    def finish(self, entries, cdr, events=None, lines=None, timeout=30.0):
        """Waits until the calls are over everywhere (SIPp done, no Asterisk channel, no live
        call, every expected journal entry and CDR row written), then judges."""
        for p in self.sipps:
            p.wait(timeout)
        self.lab.wait_no_channels(timeout)
        self.wait(lambda: not self.d.calls(), "an empty live call list", timeout)
        got = self.wait(lambda: (lambda js: js if len(js) >= len(entries) else None)(self.new_entries()),
                        f"{len(entries)} journal entries (have {len(self.new_entries())})", timeout)
        need = sum(1 for c in cdr if not c.optional)
        rows = self.wait(lambda: (lambda rs: rs if len(rs) >= need else None)(self.cdr_rows()),
                         f"{need} CDR rows", timeout)
        # every journal message of these entries is on the stream once the entries are stored
        self.ws.wait_for(lambda ms: sum(1 for m in ms[self.ws_base:] if m.get("type") == "journal")
                         >= len(entries), 10, "the journal messages")
        self.t1 = time.time()
        self.judge(entries, cdr, events or {}, lines or {}, got, rows)

    def cdr_rows(self):
        """CDR rows appended since the scenario started, without late rows of conversations an
        earlier scenario already had (Asterisk writes CDRs from its own thread, a few ms after
        the hangups)."""
        return [r for r in self.lab.cdr_rows(self.cdr_off) if r["linkedid"] not in self.h.done_linkedids]

    def new_entries(self):
        return [e for e in self.d.journal() if e["id"] > self.journal_base]

    def judge(self, entries, cdr, events, lines, got, rows):
        ok1, r1 = check.compare_journal(entries, got, (self.t0, self.t1))
        ok2, r2 = check.compare_cdr(cdr, rows, got)
        msgs = self.ws.snapshot_messages()[self.ws_base:]
        ok3, r3 = check.compare_events(msgs, events, lines, got)
        self.report += r1 + r2 + r3
        self.entries, self.rows = got, rows
        self.h.done_linkedids.update(r["linkedid"] for r in rows)
        self.h.done_linkedids.update(e["call_id"] for e in got if e.get("call_id"))
        if not (ok1 and ok2 and ok3):
            raise ScenarioFailed("\n".join(self.report))


class Harness:
    def __init__(self, lab_dir, callbridged, cli, workdir, config=None):
        self.config = config
        self.lab = Lab(lab_dir)
        self.workdir = Path(workdir)
        self.daemon = Daemon(self.workdir / "callbridged", callbridged, cli)
        self.ws = None
        self.done_linkedids = set()  # conversations of finished scenarios (late CDR rows)

    def start(self):
        self.lab.ensure_defaults()
        # what a group killed before its teardown (ctest timeout) left in the lab (idempotent)
        for undo in GROUP_TEARDOWN.values():
            undo(self.lab)
        if self.lab.channel_count():
            # calls left by a harness that was killed: the lab is ours (RESOURCE_LOCK)
            self.lab.cli("channel request hangup all")
            self.lab.wait_no_channels(15)
        self._start_daemon()

    def _start_daemon(self):
        self.daemon.start(**({"config": self.config} if self.config else {}))
        self.ws = self.daemon.events()
        self.ws.wait_for(lambda ms: any(m.get("type") == "snapshot" for m in ms), 10, "the snapshot")

    def restart_daemon(self, kill=True, down_s=0.0):
        """callbridged killed (SIGKILL) or stopped (SIGTERM), down for down_s seconds, and started
        again on the same data dir, token and recording dir (a new port); a new WebSocket
        replaces self.ws. The lab's calls go on (a restart mid-call is the point). A Ctx created
        before the restart judges journal and CDR as usual; pass it no events/lines (the old
        stream ended)."""
        if self.ws:
            self.ws.close()
        if kill:
            self.daemon.kill()
        else:
            self.daemon.stop()
        if down_s > 0:
            time.sleep(down_s)  # the outage itself
        self._start_daemon()

    def stop(self):
        if self.ws:
            self.ws.close()
        rc = self.daemon.stop()
        if rc not in (0, None):
            raise ScenarioFailed(f"callbridged exit code {rc}:\n{self.daemon.log_tail()}")


_DURATION_PROBLEM = re.compile(r"^(ring_s|talk_s|hold_s|ring_s\+talk_s)=[\d.]+, want [\d.\-]+\.\.[\d.]+( or .*)?$")


def timing_only(why):
    """True when a failure report has nothing wrong but durations outside their windows (what an
    overloaded machine does), i.e. entries, dispositions, remotes, transfers, CDR rows and events
    were all right."""
    problems = []
    for line in why.splitlines():
        if line.startswith("WRONG "):
            problems += [x.strip() for x in line.split(":", 1)[1].split(";")]
        elif re.match(r"^(MISSING|EXTRA|CDR MISSING|CDR EXTRA|CDR WRONG|EVENTS|LINES|WS |timed out|Traceback)", line):
            return False
    return bool(problems) and all(_DURATION_PROBLEM.match(x) for x in problems)


def keep_fixtures(h, passed, dest_root, asterisk):
    """Writes a replay fixture (livetest/fixture.py) per passed scenario to dest_root/NAME: the
    AMI messages of its time window from callbridged's recording, the journal it produced."""
    records = sorted(h.daemon.record.glob("*.amirec"))
    for name, ctx in passed.items():
        if not hasattr(ctx, "t1"):
            continue  # judged no calls (e.g. features_missing_include): nothing to replay
        ok = fixture.write_fixture(dest_root, name, records, (ctx.t0, ctx.t1), ctx.entries,
                                   ctx.rows, asterisk, getattr(SCENARIOS[name][1], "__doc__", "") or "")
        print(f"fixture {'written' if ok else 'NOT written (no messages)'}: {Path(dest_root) / name}")


def run(group, names, lab_dir, callbridged, cli, workdir, repeat=1, keep=None):
    """Runs the scenarios of one group REPEAT times with one callbridged. Returns an exit code."""
    todo = [n for n, (g, _) in SCENARIOS.items() if g == group and (not names or n in names)]
    if not todo:
        print(f"no scenarios in group {group!r}", file=sys.stderr)
        return 1
    h = Harness(lab_dir, callbridged, cli, workdir, config=GROUP_CONFIG.get(group))
    results = {n: [0, 0, 0] for n in todo}  # passed, failed, failed on durations only
    failures = []
    passed = {}  # name -> Ctx of its first passing run (for CB_LIVE_KEEP fixtures)
    asterisk = ""
    t_start = time.monotonic()
    try:
        h.start()
        asterisk = h.lab.asterisk_version()
        print(f"callbridged on 127.0.0.1:{h.daemon.port} ({h.daemon.dir}), {asterisk}", flush=True)
        for rnd in range(repeat):
            for n in todo:
                ctx = Ctx(h, n)
                t = time.monotonic()
                try:
                    SCENARIOS[n][1](ctx)
                    results[n][0] += 1
                    status = "PASS"
                    passed.setdefault(n, ctx)
                except Exception as e:  # report every kind, go on with the next
                    results[n][1] += 1
                    status = "FAIL"
                    why = str(e) if isinstance(e, (AssertionError, LabError)) else traceback.format_exc()
                    stalls = h.lab.sipp_overloads(ctx.t0)
                    if stalls:
                        why += (f"\n(SIPp's watchdog reported the machine overloaded during this scenario, "
                                f"{len(stalls)} time(s), up to {max(stalls)} ms: timings may be off)")
                    failures.append((n, rnd, why))
                    if timing_only(why):
                        results[n][2] += 1
                    dump = h.workdir / f"{n}-{rnd + 1}-events.jsonl"
                    with open(dump, "w") as out:
                        for m in h.ws.snapshot_messages()[ctx.ws_base:]:
                            out.write(json.dumps(m) + "\n")
                    # leave the lab clean for the next scenario
                    for p in ctx.sipps:
                        p.kill()
                    try:
                        h.lab.wait_no_channels(20)
                    except AssertionError:
                        h.lab.cli("channel request hangup all")
                        h.lab.wait_no_channels(10)
                    # its entries and CDR rows must not count for the next scenario
                    deadline = time.monotonic() + 10
                    while h.daemon.calls() and time.monotonic() < deadline:
                        time.sleep(0.05)
                    h.done_linkedids.update(r["linkedid"] for r in ctx.cdr_rows())
                finally:
                    h.lab.restore_all()
                print(f"{status} {n}" + (f" (round {rnd + 1})" if repeat > 1 else "")
                      + f" {time.monotonic() - t:.1f}s", flush=True)
                if status == "PASS" and os.environ.get("CB_LIVE_VERBOSE"):
                    print("  " + "\n  ".join(ctx.report), flush=True)
    finally:
        try:
            h.stop()
        finally:
            h.lab.restore_all()
            if group in GROUP_TEARDOWN:
                GROUP_TEARDOWN[group](h.lab)
            if keep:
                keep_fixtures(h, passed, keep, asterisk)
    for n, rnd, e in failures:
        print(f"\n--- FAIL {n} (round {rnd + 1}):\n{e}", flush=True)
    print(f"\ngroup {group}: {time.monotonic() - t_start:.1f}s; "
          + ", ".join(f"{n} {p}/{p + f}" + (f" ({tf} on durations only)" if tf else "")
                      for n, (p, f, tf) in results.items()), flush=True)
    if failures:
        print(f"callbridged log: {h.daemon.logfile}\nAMI recording: {h.daemon.record}", flush=True)
    return 1 if failures else 0
