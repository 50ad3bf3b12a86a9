#!/usr/bin/env python3
"""Fault campaigns against the real callbridged (docs/reliability.md "Fault injection").

  campaign.py drops  --runs 100 [--restart-every 10]   AMI link cuts (mid-message too) and PBX restarts
  campaign.py kills  --runs 20                         kill -9 of callbridged under traffic, restart

Traffic comes from callbridge-pbxsim (seeded); an observer AMI connection that is never cut records
everything the simulator did, and `callbridge replay` of that record is the ground truth: the
journal callbridged writes through the faults must have exactly its entries (nothing lost, nothing
twice), every field the same unless callbridged marked it `estimated` (then within the gap), and
no call may stay live. Prints one summary row (Markdown) and exits 1 when anything must-be-zero is
not zero. Needs the built callbridged, callbridge and callbridge-pbxsim (paths as arguments).
"""
import argparse
import json
import random
import sqlite3
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
        sim.wait_exit(timeout=120)
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
            "transfer_unseen": len(res["transfer_unseen"]), "stuck": res["stuck"], "max_recovery_s": round(rec[-1], 3) if rec else None,
            "median_recovery_s": round(rec[len(rec) // 2], 3) if rec else None,
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
        c.recovery.append(time.monotonic() - t0)
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


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=["drops", "kills"])
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
    args = p.parse_args()
    c = Campaign(args)
    print(f"campaign {args.kind}: {args.runs} runs, work dir {c.work}", flush=True)
    rc = 1
    try:
        rc = {"drops": run_drops, "kills": run_kills}[args.kind](c)
    except (CampaignError, DaemonError) as e:
        print(f"FAILED: {e}")
        if getattr(c, "d", None):
            print(c.d.log_tail())
    finally:
        c.close()
    sys.exit(rc)


if __name__ == "__main__":
    main()
