#!/usr/bin/env python3
"""Fault campaigns against the real callbridged (docs/reliability.md "Fault injection").

  campaign.py drops  --runs 100 [--restart-every 10]   AMI link cuts (mid-message too) and PBX restarts
  campaign.py kills  --runs 20                         kill -9 of callbridged under traffic, restart
  campaign.py disk   --runs 3 --readonly               data file system full (then space back), then read-only

Traffic comes from callbridge-pbxsim (seeded); an observer AMI connection that is never cut records
everything the simulator did, and `callbridge replay` of that record is the ground truth: the
journal callbridged writes through the faults must have exactly its entries (nothing lost, nothing
twice), every field the same unless callbridged marked it `estimated` (then within the gap), and
no call may stay live. Prints one summary row (Markdown) and exits 1 when anything must-be-zero is
not zero. Needs the built callbridged, callbridge and callbridge-pbxsim (paths as arguments).
"""
import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faultlib import (CampaignError, Daemon, DaemonError, Proxy, Sim, compare, daemon_config,  # noqa: E402
                      ground_truth, machine, resyncs_done, rss_kb, wait_until)

# Short calls on few seats: every phase of a call (ringing, talking, on hold, transferring) is in
# progress at any moment a fault hits.
PROFILE = {"seats": 24, "cps": 6, "answer-ratio": 0.7, "miss-ratio": 0.2, "busy-ratio": 0.1,
           "hold-ratio": 0.2, "transfer-ratio": 0.1, "attended-ratio": 0.05, "talk-mean": 3}


class Campaign:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.work = Path(args.workdir or tempfile.mkdtemp(prefix=f"cb-faults-{args.kind}-"))
        self.work.mkdir(parents=True, exist_ok=True)
        self.sims = []
        self.proxy = Proxy()
        self.config = daemon_config()
        self.recovery = []  # seconds: fault -> resynced
        self.resync_after_reconnect = []  # seconds: the new AMI connection accepted -> resynced
        self.peak_rss_kb = 0
        self.notes = []

    def new_sim(self):
        s = Sim(self.args.pbxsim, self.work, len(self.sims), self.args.seed * 1000 + len(self.sims), PROFILE)
        self.sims.append(s)
        self.proxy.set_upstream(s.port)
        return s

    def start(self):
        self.new_sim()
        self.d = Daemon(self.work / "callbridged", self.args.callbridged, self.args.cli,
                        ami=f"127.0.0.1:{self.proxy.port}")
        self.d.start(config=self.config)
        wait_until(lambda: (resyncs_done(self.d) or 0) >= 1, 15, "the first resync")

    def traffic_pause(self):
        # The random moment of the next fault (traffic runs meanwhile): not a wait for a condition.
        time.sleep(self.rng.uniform(self.args.min_gap, self.args.max_gap))
        self.peak_rss_kb = max(self.peak_rss_kb, rss_kb(self.d.proc.pid))

    def finish(self):
        """Ends the traffic, waits for the calls to end and judges the journal. Returns the row."""
        sim = self.sims[-1]
        sim.drain()
        sim.wait_calls_over(timeout=120)
        stuck = 0
        try:
            wait_until(lambda: not self.d.calls(), 20, "GET /api/v1/calls to empty", step=0.05)
        except CampaignError:
            stuck = len(self.d.calls())
            self.notes.append(f"stuck calls: {json.dumps(self.d.calls())[:2000]}")
        truth = ground_truth(self.args.cli, self.work, [s.observer.path for s in self.sims], self.config)
        try:
            wait_until(lambda: len(self.d.journal()) >= len(truth), 20, "the journal to catch up", step=0.1)
        except CampaignError as e:
            self.notes.append(str(e))
        got = self.d.journal()
        self.peak_rss_kb = max(self.peak_rss_kb, rss_kb(self.d.proc.pid))
        res = compare(truth, got, tolerance_estimated=self.args.tolerance)
        res["stuck"] = stuck
        res["truth"] = len(truth)
        res["got"] = len(got)
        return res

    def report(self, res, extra):
        rec = sorted(self.recovery)
        row = {
            "campaign": self.args.kind, "runs": self.args.runs, "entries": res["truth"],
            "lost": len(res["lost"]), "duplicated": len(res["duplicated"]), "wrong": len(res["wrong"]),
            "transfer_unseen": len(res["transfer_unseen"]),
            "stuck": res["stuck"], "max_recovery_s": round(rec[-1], 3) if rec else None,
            "median_recovery_s": round(rec[len(rec) // 2], 3) if rec else None,
            "max_reconnect_to_resynced_s": round(max(self.resync_after_reconnect), 3)
            if self.resync_after_reconnect else None,
            "peak_rss_mb": round(self.peak_rss_kb / 1024, 1), "machine": machine(), **extra,
        }
        for what in ("lost", "duplicated", "wrong", "transfer_unseen"):
            for line in res[what][:30]:
                print(f"{what.upper()}: {line}")
        for n in self.notes:
            print(f"NOTE: {n}")
        print("| " + " | ".join(f"{k}={v}" for k, v in row.items()) + " |")
        (self.work / "summary.json").write_text(json.dumps(row, indent=1))
        bad = row["lost"] or row["duplicated"] or row["wrong"] or row["stuck"] or extra.get("problems")
        return 1 if bad else 0

    def close(self):
        try:
            self.d.stop()
        except (DaemonError, AttributeError):
            if getattr(self, "d", None):
                self.d.kill()
        for s in self.sims:
            s.kill()
        self.proxy.close()
        if getattr(self, "fs", None):
            self.fs.close()


# ------------------------------------------------------------------------------------ drops
def run_drops(c):
    a = c.args
    c.start()
    mid = restarts = resets = 0
    for i in range(a.runs):
        c.traffic_pause()
        before = resyncs_done(c.d)
        restart = a.restart_every and i % a.restart_every == a.restart_every - 1
        if restart:
            # Asterisk restarts: the connection drops and after the reconnect no channel is left.
            c.proxy.set_upstream(None)
            t0 = time.monotonic()
            c.sims[-1].kill()
            c.new_sim()
            restarts += 1
        else:
            in_message = c.rng.random() < 0.7
            reset = c.rng.random() < 0.5
            t0 = c.proxy.cut(mid_message=in_message, reset=reset)
            if t0 is None:
                raise CampaignError(f"fault {i}: no AMI connection to cut")
            mid += in_message
            resets += reset
        wait_until(lambda: (resyncs_done(c.d) or 0) > before, 20, f"the resync after fault {i}", step=0.005)
        t1 = time.monotonic()
        c.recovery.append(t1 - t0)
        reconnects = [t for t in c.proxy.accepted_at if t > t0]
        if reconnects:
            c.resync_after_reconnect.append(t1 - reconnects[0])
    res = c.finish()
    cuts = a.runs - restarts
    return c.report(res, {"cuts": cuts, "cut_in_message": mid, "cut_reset": resets, "pbx_restarts": restarts})


# ------------------------------------------------------------------------------------ kills
def integrity(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def run_kills(c):
    a = c.args
    c.start()
    problems, seen = [], {}
    for i in range(a.runs):
        c.traffic_pause()
        for e in c.d.journal():
            seen[e["id"]] = e  # committed: the API reads them from the database
        t0 = time.monotonic()
        c.d.kill()
        ok = integrity(c.d.data / "journal.db")
        if ok != "ok":
            problems.append(f"kill {i}: integrity_check: {ok}")
        c.d.start(config=c.config)
        wait_until(lambda: (resyncs_done(c.d) or 0) >= 1, 20, f"the resync after restart {i}", step=0.005)
        c.recovery.append(time.monotonic() - t0)
        now = {e["id"]: e for e in c.d.journal()}
        for id_, e in seen.items():
            if id_ not in now:
                problems.append(f"kill {i}: committed row {id_} lost: {json.dumps(e)}")
            elif now[id_] != e and {k: v for k, v in now[id_].items() if k != "contact"} != \
                    {k: v for k, v in e.items() if k != "contact"}:
                problems.append(f"kill {i}: committed row {id_} changed: {json.dumps(e)} -> {json.dumps(now[id_])}")
    res = c.finish()
    ok = integrity(c.d.data / "journal.db")
    if ok != "ok":
        problems.append(f"final integrity_check: {ok}")
    for p in problems[:30]:
        print(f"PROBLEM: {p}")
    interrupted = sum(1 for e in c.d.journal() if e.get("estimated"))
    return c.report(res, {"committed_rows_checked": len(seen), "rows_lost_or_changed": len(problems),
                          "entries_estimated": interrupted, "problems": len(problems)})


# ------------------------------------------------------------------------------------ disk
class DataFs:
    """The data directory on its own small ext4 file system (a loop-mounted image, mounted with
    errors=remount-ro): fill() fills it to the last block, free() gives the space back,
    make_readonly() makes the kernel turn it read-only the way a disk error does (ext4
    trigger_fs_error; `mount -o remount,ro` is refused while callbridged holds the files open for
    writing), repair() = what an administrator does after that: umount, e2fsck, mount."""

    def __init__(self, work, mountpoint, size_mb):
        self.image = Path(work) / "data.img"
        self.mnt = Path(mountpoint)
        self.mnt.mkdir(parents=True, exist_ok=True)
        subprocess.run(["truncate", "-s", f"{size_mb}M", str(self.image)], check=True)
        subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", str(self.image)], check=True)
        self.mount()
        self.filler = self.mnt / "filler"

    def mount(self):
        subprocess.run(["mount", "-o", "loop,errors=remount-ro", str(self.image), str(self.mnt)], check=True)
        src = subprocess.run(["findmnt", "-n", "-o", "SOURCE", str(self.mnt)], capture_output=True, text=True)
        self.dev = Path(src.stdout.strip()).name  # loopN

    def fill(self):
        with open(self.filler, "ab") as f:
            block = b"\0" * (1 << 20)
            try:
                while True:
                    f.write(block)
                    f.flush()
            except OSError:
                pass
            try:
                while True:  # the last partial megabyte
                    f.write(b"\0" * 4096)
                    f.flush()
            except OSError:
                pass

    def free(self):
        self.filler.unlink(missing_ok=True)

    def make_readonly(self):
        Path(f"/sys/fs/ext4/{self.dev}/trigger_fs_error").write_text("fault campaign\n")

    def repair(self):
        subprocess.run(["umount", str(self.mnt)], check=True)
        r = subprocess.run(["e2fsck", "-fy", str(self.image)], capture_output=True, text=True)
        self.mount()
        return r.returncode  # 0 clean, 1 corrected (the error flag the trigger set)

    def close(self):
        subprocess.run(["umount", str(self.mnt)], capture_output=True)


def readyz(d):
    try:
        st, body = d.request("GET", "/readyz", auth=False, timeout=5)
    except OSError as e:
        return None, str(e)
    return st, json.dumps(body) if not isinstance(body, str) else body


def journal_counters(d):
    diag = d.get("/api/v1/diagnostics")
    return diag.get("journal", {})


def run_disk(c):
    """Disk full (runs times) then read-only, under traffic; judged like the other campaigns."""
    a = c.args
    if os.geteuid() != 0:
        print("SKIP: the disk campaign mounts a file system: needs root")
        return 77
    try:
        fs = DataFs(c.work, c.work / "callbridged" / "data", a.fs_mb)
    except (subprocess.CalledProcessError, OSError) as e:
        print(f"SKIP: cannot make and loop-mount an ext4 image here: {e}")
        return 77
    c.fs = fs
    # A disk error that turns the file system read-only loses what the kernel had not written
    # back, like a power loss: only synchronous = "full" (an fsync per batch) keeps every
    # committed row then (docs/journal.md "Durability").
    c.config += '\n[journal]\nsynchronous = "full"\n'
    c.start()
    problems = []
    red_s, green_s = [], []
    log_at = lambda: c.d.logfile.stat().st_size  # noqa: E731
    for i in range(a.runs):
        c.traffic_pause()
        off = log_at()
        t0 = time.monotonic()
        fs.fill()
        wait_until(lambda: readyz(c.d)[0] == 503 and "journal" in readyz(c.d)[1], 90,
                   f"/readyz to report the journal failing (disk full {i})", step=0.05)
        red_s.append(time.monotonic() - t0)
        print(f"disk full {i}: /readyz {readyz(c.d)[1][:200]}", flush=True)
        logged = c.d.logfile.read_bytes()[off:].decode(errors="replace")
        if "no space left" not in logged:
            problems.append(f"disk full {i}: no log line says the file system is full")
        c.traffic_pause()  # entries pile up meanwhile
        t1 = time.monotonic()
        fs.free()
        os.sync()  # the space is back for good (the read-only phase below aborts the file system)
        wait_until(lambda: readyz(c.d)[0] == 200, 30, f"/readyz green after disk full {i}", step=0.05)
        wait_until(lambda: journal_counters(c.d).get("queued", 0) == 0, 30, "the queued entries to be written")
        green_s.append(time.monotonic() - t1)
    # Read-only: the file system turns read-only under callbridged (a disk error).
    extra = {"disk_full": a.runs, "max_s_to_red": round(max(red_s), 2) if red_s else None,
             "max_s_to_written_after_space": round(max(green_s), 2) if green_s else None}
    if a.readonly:
        c.traffic_pause()
        seen = {e["id"]: e for e in c.d.journal()}
        off = log_at()
        fs.make_readonly()
        wait_until(lambda: readyz(c.d)[0] == 503 and "journal" in readyz(c.d)[1], 60,
                   "/readyz to report the journal failing (read-only)", step=0.05)
        logged = c.d.logfile.read_bytes()[off:].decode(errors="replace")
        if "Read-only file system" not in logged and "is read-only" not in logged:
            problems.append("read-only: no log line says the file system is read-only")
        c.traffic_pause()
        # Recovery needs the administrator: stop, repair the file system, start again.
        c.d.stop(timeout=30)
        logged = c.d.logfile.read_bytes()[off:].decode(errors="replace")
        stated = [json.loads(line.split("unwritten entry: ", 1)[1]) for line in logged.splitlines()
                  if "unwritten entry: " in line]
        fsck = fs.repair()
        fs.free()
        ok = integrity(c.d.data / "journal.db")
        if ok != "ok":
            problems.append(f"read-only: integrity_check after repair: {ok}")
        now = {e["id"] for e in _journal_offline(c)}
        lost_rows = [i for i in seen if i not in now]
        if lost_rows:
            problems.append(f"read-only: committed rows lost: {lost_rows[:20]}")
        c.d.start(config=c.config)
        wait_until(lambda: (resyncs_done(c.d) or 0) >= 1, 20, "the resync after the restart", step=0.01)
        extra.update({"readonly": 1, "unwritten_stated_in_log": len(stated), "fsck_rc": fsck})
    res = c.finish()
    if a.readonly:
        # What the journal misses must be what the log stated as unwritten, nothing else.
        stated_keys = {(e["call_id"], e["party"], e["direction"], e["remote"]) for e in stated}
        silent = [line for line in res["lost"]
                  if tuple(json.loads(line).get(k) for k in ("call_id", "party", "direction", "remote"))
                  not in stated_keys]
        extra["lost_but_stated"] = len(res["lost"]) - len(silent)
        res["lost"] = silent
    ok = integrity(c.d.data / "journal.db")
    if ok != "ok":
        problems.append(f"final integrity_check: {ok}")
    for p in problems:
        print(f"PROBLEM: {p}")
    extra["problems"] = len(problems)
    return c.report(res, extra)


def _journal_offline(c):
    con = sqlite3.connect(f"file:{c.d.data / 'journal.db'}?mode=ro", uri=True)
    try:
        return [{"id": r[0]} for r in con.execute("SELECT id FROM journal")]
    finally:
        con.close()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=["drops", "kills", "disk"])
    p.add_argument("--callbridged", required=True)
    p.add_argument("--cli", required=True)
    p.add_argument("--pbxsim", required=True)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--restart-every", type=int, default=10, help="drops: every Nth fault is a PBX restart")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--min-gap", type=float, default=0.4, help="seconds of traffic between faults, at least")
    p.add_argument("--max-gap", type=float, default=2.0)
    p.add_argument("--tolerance", type=float, default=3.0, help="seconds an estimated time may be off")
    p.add_argument("--workdir", help="keep everything here (default: a temp dir)")
    p.add_argument("--fs-mb", type=int, default=24, help="disk: size of the data file system")
    p.add_argument("--readonly", action="store_true", help="disk: then turn the file system read-only")
    args = p.parse_args()
    c = Campaign(args)
    print(f"campaign {args.kind}: {args.runs} runs, work dir {c.work}", flush=True)
    rc = 1
    try:
        rc = {"drops": run_drops, "kills": run_kills, "disk": run_disk}[args.kind](c)
    except (CampaignError, DaemonError) as e:
        print(f"FAILED: {e}")
        if getattr(c, "d", None):
            print(c.d.log_tail())
    finally:
        c.close()
    sys.exit(rc)


if __name__ == "__main__":
    main()
