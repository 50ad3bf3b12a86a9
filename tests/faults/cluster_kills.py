#!/usr/bin/env python3
"""Failover campaign of cluster mode (docs/cluster.md "Failure modes", issue 19).

  cluster_kills.py --kills 20 --callbridged B --cli C --pbxsim P [--seed S] [--workdir DIR]

A real `nats-server -js`, a real PostgreSQL (initdb in a temp dir), three callbridged nodes with
one [[pbx]] link in [cluster] mode and callbridge-pbxsim with steady traffic. At random moments
the node that owns the link is killed (kill -9); another node takes the lease, builds the link's
driver (it loads the open-call state the dead owner left in PostgreSQL), logs in and resyncs the
calls in progress from the PBX. The killed node is started again once the link is back, so three
nodes run before every kill. The simulator never stops.

Judged as the single-node fault campaigns (tests/faults/campaign.py, docs/reliability.md): an
observer AMI connection records everything the simulator did, `callbridge replay` of it is the
ground truth, and the shared journal must hold exactly its entries: nothing lost, nothing twice,
every field the same unless marked `estimated` (then within --tolerance s; an estimated value that
is off is counted as wrong_estimate, apart with --estimates-apart). Also: no committed
row lost or changed by a kill, no call left live, calls in progress at a kill counted (each must
have its one entry from a later owner). Every failover time is printed: kill -> the lease taken
by another node, and kill -> that node's link resynced (tracker_resyncs_done). Exit 1 when any
must-be-zero count is not zero.

Calls shorter than a failover are not in this traffic (ring >= 5 s): a call that begins and ends
while no node listens leaves no trace on AMI (the PBX keeps no history of it) for any CTI server.
"""
import argparse
import json
import math
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faultlib import (CONFIG, CampaignError, Daemon, DaemonError, Sim, compare, ground_truth,  # noqa: E402
                      machine, wait_until)
from livetest.lab import die_with_parent  # noqa: E402

PG_BIN = "/usr/lib/postgresql/15/bin/"

# Every call lasts longer than a failover (ring 5-8 s, then talk 4-15 s); every phase of a call
# (ringing, talking, on hold, transferring) is in progress at any kill.
PROFILE_TOML = """\
[traffic]
seats = 40
cps = {cps}
answer_ratio = 0.7
miss_ratio = 0.2
busy_ratio = 0.1
hold_ratio = 0.2
transfer_ratio = 0.1
attended_ratio = 0.05
ring_min_s = 5
ring_max_s = 8
talk_mean_s = 6
talk_min_s = 4
talk_max_s = 15
"""

LINK = "sim"  # the [[pbx]] name: the ground truth's replay config uses the same


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(argv):
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


class Postgres:
    """A throwaway PostgreSQL 15 cluster (initdb, pg_ctl) on a free loopback port."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="cb-ckill-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.running = False
        r = subprocess.run(as_postgres([PG_BIN + "initdb", "-D", f"{self.dir}/data", "-U", "postgres", "-A", "trust",
                                        "-E", "UTF8", "--no-sync"]), capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise CampaignError(f"initdb failed: {r.stderr}")
        for _ in range(5):
            port = free_port()
            r = subprocess.run(as_postgres([PG_BIN + "pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w",
                                            "-t", "60", "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {self.dir} "
                                            "-c fsync=off -c max_connections=200", "start"]),
                               capture_output=True, text=True, timeout=90)
            if r.returncode == 0:
                self.running = True
                self.dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres connect_timeout=5"
                return
        raise CampaignError(f"pg_ctl start failed: {r.stderr}")

    def close(self):
        if self.running:
            subprocess.run(as_postgres([PG_BIN + "pg_ctl", "-D", f"{self.dir}/data", "-m", "immediate", "-w", "stop"]),
                           capture_output=True, timeout=60)
            self.running = False
        shutil.rmtree(self.dir, ignore_errors=True)


class Nats:
    """nats-server -js on a port of its choosing (-p -1), its store in a temp dir."""

    def __init__(self, binary, workdir):
        self.log = Path(workdir) / "nats-server.log"
        self.store = Path(workdir) / "nats"
        self.proc = subprocess.Popen([binary, "-a", "127.0.0.1", "-p", "-1", "-js", "-sd", str(self.store)],
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "wb"),
                                     preexec_fn=die_with_parent)
        m = wait_until(lambda: re.search(r"Listening for client connections on [0-9.]+:(\d+)",
                                         self.log.read_text(errors="replace")), 15, "nats-server to listen", 0.02)
        self.url = f"nats://127.0.0.1:{m.group(1)}"

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Node(Daemon):
    """One callbridged of the cluster: its configuration file names the link, NATS and PostgreSQL."""

    def __init__(self, name, workdir, callbridged, cli, config):
        super().__init__(Path(workdir) / name, callbridged, cli)
        self.name = name
        self.config_text = config
        self.cfg = self.dir / "callbridge.toml"

    def start(self, timeout=30):
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cfg.write_text(self.config_text)
        if self.token is None:  # one token for every node: the identity store is PostgreSQL
            r = subprocess.run([self.cli_bin, "token", "create", "--config", str(self.cfg), "--tenant", "default",
                                "--user", "admin", "--role", "admin"], capture_output=True, text=True, timeout=60)
            m = re.search(r"cbt_[A-Za-z0-9_]+", r.stdout)
            if r.returncode != 0 or not m:
                raise DaemonError(f"callbridge token create failed: {r.stderr}{r.stdout}")
            self.token = m.group(0)
        log = open(self.logfile, "ab")
        self.log_offset = self.logfile.stat().st_size
        self.proc = subprocess.Popen([self.bin, "--config", str(self.cfg)], stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        log.close()
        self.port = None
        deadline = time.monotonic() + timeout
        while self.port is None:
            m = re.search(rb"HTTP API listening on 127\.0\.0\.1:(\d+)", self.logfile.read_bytes()[self.log_offset:])
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None:
                raise DaemonError(f"{self.name} exited ({self.proc.returncode}):\n{self.log_tail()}")
            elif time.monotonic() > deadline:
                raise DaemonError(f"{self.name} did not log its HTTP port:\n{self.log_tail()}")
            else:
                time.sleep(0.02)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def link(self):
        """(owns the lease, the driver's tracker_resyncs_done or None) from the diagnostics."""
        try:
            st, d = self.request("GET", "/api/v1/diagnostics", timeout=2)
        except OSError:
            return False, None
        if st != 200 or not isinstance(d, dict):
            return False, None
        links = d.get("cluster", {}).get("links", [])
        ours = bool(links and links[0].get("ours"))
        pbx = d.get("pbx") or []
        resyncs = pbx[0].get("counters", {}).get("tracker_resyncs_done") if pbx else None
        return ours, resyncs

    def mirror_dropped(self):
        """Calls this node's mirror dropped at a calls_resynced (docs/cluster.md), from the diagnostics."""
        try:
            st, d = self.request("GET", "/api/v1/diagnostics", timeout=2)
        except OSError:
            return 0
        if st != 200 or not isinstance(d, dict):
            return 0
        return d.get("cluster", {}).get("events", {}).get("mirror_dropped", 0)


def node_config(name, data, sim_port, nats, pg):
    return CONFIG + f"""
[server]
listen = "127.0.0.1:0"
data_dir = "{data}"

[[pbx]]
name = "{LINK}"
host = "127.0.0.1"
port = {sim_port}
user = "cti"
secret = "cti-secret"
reconnect_min_ms = 100
reconnect_max_ms = 1000

[cluster]
node = "{name}"
nats_url = "{nats}"
postgres = "{pg}"
"""


def pct(sorted_values, p):
    """Nearest-rank percentile of a sorted list."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def owner(nodes):
    """The live node whose diagnostics say it owns the link and whose link has resynced."""
    for n in nodes:
        if n.alive():
            ours, resyncs = n.link()
            if ours and resyncs:
                return n
    return None


def run(args):
    rng = random.Random(args.seed)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="cb-ckill-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"cluster failover campaign: {args.kills} kills, work dir {work}", flush=True)
    pg = nats = sim = None
    nodes = []
    try:
        pg = Postgres()
        nats = Nats(args.nats_server, work)
        profile = work / "traffic.toml"
        profile.write_text(PROFILE_TOML.format(cps=args.cps))
        sim = Sim(args.pbxsim, work, 0, args.seed, {"profile": profile})
        for i in range(1, 4):
            name = f"n{i}"
            nodes.append(Node(name, work, args.callbridged, args.cli,
                              node_config(name, work / name / "data", sim.port, nats.url, pg.dsn)))
        for n in nodes:
            n.start()
        first = wait_until(lambda: owner(nodes), 30, "a node to own the link and resync")
        print(f"{first.name} owns the link", flush=True)

        failovers, lease_times, seen, problems, kills = [], [], {}, [], []
        for i in range(args.kills):
            time.sleep(rng.uniform(args.min_gap, args.max_gap))  # traffic runs: the random moment
            old = owner(nodes)
            if old is None:
                raise CampaignError(f"kill {i}: no node owns the link")
            any_live = next(n for n in nodes if n.alive())
            for e in any_live.journal():
                seen[e["id"]] = e  # committed: the API reads them from PostgreSQL
            t0 = time.monotonic()
            kills.append(time.time())
            old.kill()
            lease_at = None
            new = None

            def taken():
                nonlocal lease_at, new
                for n in nodes:
                    if n is old or not n.alive():
                        continue
                    ours, resyncs = n.link()
                    if ours and lease_at is None:
                        lease_at = time.monotonic()
                    if ours and resyncs:
                        new = n
                        return True
                return False

            wait_until(taken, 30, f"another node to take the link after kill {i}", step=0.01)
            t1 = time.monotonic()
            failovers.append(t1 - t0)
            lease_times.append((lease_at or t1) - t0)
            print(f"kill {i}: {old.name} killed -> {new.name} owns the lease after {1000 * lease_times[-1]:.0f} ms, "
                  f"link resynced after {1000 * failovers[-1]:.0f} ms", flush=True)
            old.start()  # back as a standby: three nodes before the next kill
            now = {e["id"]: e for e in new.journal()}
            for id_, e in seen.items():
                if id_ not in now:
                    problems.append(f"kill {i}: committed row {id_} lost: {json.dumps(e)}")
                elif {k: v for k, v in now[id_].items() if k != "contact"} != \
                        {k: v for k, v in e.items() if k != "contact"}:
                    problems.append(f"kill {i}: committed row {id_} changed: {json.dumps(e)} -> "
                                    f"{json.dumps(now[id_])}")

        # The end: traffic drains, calls end, the journal is judged against the ground truth.
        sim.drain()
        sim.wait_calls_over(timeout=120)
        last = owner(nodes) or next(n for n in nodes if n.alive())
        stuck = 0
        # Every node's list: the owner's models and, on every node, the mirror of the logged call
        # messages (docs/cluster.md: a call that ended while no node owned the link must be gone).
        alive = [n for n in nodes if n.alive()]
        try:
            wait_until(lambda: not any(n.calls() for n in alive), 30, "GET /api/v1/calls to empty on every node",
                       step=0.05)
        except CampaignError:
            for n in alive:
                left = n.calls()
                stuck = max(stuck, len(left))
                if left:
                    problems.append(f"stuck calls on {n.name}: {json.dumps(left)[:2000]}")
        replay_cfg = CONFIG + f'\n[[pbx]]\nname = "{LINK}"\n'
        truth = ground_truth(args.cli, work, [sim.observer.path], replay_cfg)
        try:
            wait_until(lambda: len(last.journal()) >= len(truth), 30, "the journal to catch up", step=0.1)
        except CampaignError as e:
            problems.append(str(e))
        got = last.journal()
        res = compare(truth, got, tolerance_estimated=args.tolerance)

        def estimate_only(line):
            # Every difference is in a value callbridged marked estimated (a guess about the gap:
            # docs/journal.md "Faults"), or the transfer such a gap hid.
            return all("estimated)" in p or p.startswith(("transferred_to None", "transferred_from None"))
                       for p in line.split(": ", 1)[1].split("; "))

        wrong_estimate = [w for w in res["wrong"] if estimate_only(w)]
        res["wrong"] = [w for w in res["wrong"] if not estimate_only(w)]

        def t(s):
            from datetime import datetime
            return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()

        spanning = sum(1 for e in truth if any(t(e["started_at"]) < k < t(e["ended_at"]) for k in kills))
        written_twice = sum(n.logfile.read_text(errors="replace").count("was written before") for n in nodes)
        fo = sorted(failovers)
        le = sorted(lease_times)
        row = {
            "kills": args.kills, "entries": len(truth), "got": len(got), "in_progress_at_a_kill": spanning,
            "lost": len(res["lost"]), "duplicated": len(res["duplicated"]), "wrong": len(res["wrong"]),
            "wrong_estimate": len(wrong_estimate),
            "transfer_unseen": len(res["transfer_unseen"]), "stuck": stuck,
            "committed_rows_checked": len(seen), "problems": len(problems),
            "entries_estimated": sum(1 for e in got if e.get("estimated")),
            "duplicates_refused_by_key": written_twice,
            # calls that ended while no node owned the link, dropped from a mirror at the takeover
            "mirror_dropped": max([n.mirror_dropped() for n in alive] or [0]),
            "failover_s_p50": round(pct(fo, 50), 3), "failover_s_p99": round(pct(fo, 99), 3),
            "failover_s_max": round(fo[-1], 3), "lease_taken_s_p50": round(pct(le, 50), 3),
            "lease_taken_s_max": round(le[-1], 3), "failovers_s": [round(x, 3) for x in failovers],
            "machine": machine(),
        }
        res["wrong_estimate"] = wrong_estimate
        for what in ("lost", "duplicated", "wrong", "wrong_estimate", "transfer_unseen"):
            for line in res[what][:30]:
                print(f"{what.upper()}: {line}")
        for p in problems[:30]:
            print(f"PROBLEM: {p}")
        print("| " + " | ".join(f"{k}={v}" for k, v in row.items()) + " |")
        (work / "summary.json").write_text(json.dumps(row, indent=1))
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(row, indent=1))
        if args.markdown:
            ttl = 3.0  # [cluster] lease_ttl_ms default: the bound a failover is measured against
            print()
            print(f"{args.kills} kills, {len(truth)} journal entries, {spanning} calls in progress at a kill; "
                  f"lease ttl {ttl:.0f} s, renewed every 1 s, margin 0.5 s; {machine()}")
            print()
            print("| kill -9 of the owner -> | p50 | p99 | max | p50 / lease ttl |")
            print("|---|---:|---:|---:|---:|")
            print(f"| another node owns the lease | {row['lease_taken_s_p50']:.2f} s | {pct(le, 99):.2f} s | "
                  f"{row['lease_taken_s_max']:.2f} s | {row['lease_taken_s_p50'] / ttl:.2f}x |")
            print(f"| its link is logged in and resynced | {row['failover_s_p50']:.2f} s | {row['failover_s_p99']:.2f} s "
                  f"| {row['failover_s_max']:.2f} s | {row['failover_s_p50'] / ttl:.2f}x |")
            print()
            print(f"journal vs the simulator's ground truth: lost {row['lost']}, duplicated {row['duplicated']}, "
                  f"wrong {row['wrong']}, wrong estimate {row['wrong_estimate']}, stuck {row['stuck']}")
        bad = row["lost"] or row["duplicated"] or row["wrong"] or row["stuck"] or row["problems"] or \
            (row["wrong_estimate"] and not args.estimates_apart)
        if not bad and spanning == 0:
            print("FAILED: no call was in progress at any kill: the campaign proved nothing")
            return 1
        return 1 if bad else 0
    finally:
        for n in nodes:
            n.kill()
        if sim:
            sim.kill()
        if nats:
            nats.close()
        if pg:
            pg.close()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--callbridged", required=True)
    p.add_argument("--cli", required=True)
    p.add_argument("--pbxsim", required=True)
    p.add_argument("--nats-server", default=shutil.which("nats-server") or "/usr/sbin/nats-server")
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--seed", type=int, default=19)
    p.add_argument("--cps", type=float, default=2.0, help="new calls per second of the simulator")
    p.add_argument("--min-gap", type=float, default=1.0, help="seconds of traffic between failover and kill, at least")
    p.add_argument("--max-gap", type=float, default=4.0)
    p.add_argument("--tolerance", type=float, default=3.0, help="seconds an estimated time may be off")
    p.add_argument("--workdir", help="keep everything here (default: a temp dir)")
    p.add_argument("--json-out", help="write the summary row here too")
    p.add_argument("--estimates-apart", action="store_true",
                   help="count an estimated value that is off (a guess about a gap) apart instead of failing: "
                        "the failover test of ctest, which is about lost and duplicated entries")
    p.add_argument("--markdown", action="store_true",
                   help="end with the figures as a Markdown table (bench/run --only failover)")
    args = p.parse_args()
    if not Path(PG_BIN + "initdb").exists():
        print(f"SKIP: no PostgreSQL 15 binaries in {PG_BIN}")
        sys.exit(77)
    rc = 1
    try:
        rc = run(args)
    except (CampaignError, DaemonError) as e:
        print(f"FAILED: {e}")
    sys.exit(rc)


if __name__ == "__main__":
    main()
