#!/usr/bin/env python3
"""CSTA loopback acceptance (issue 15, docs/csta.md "Driver"): callbridged A runs on the PBX
simulator (AMI) and serves CSTA ([csta], port 0); callbridged B runs on A through the CSTA driver
([[pbx]] driver = "csta", monitors 100-105). For every simulator scenario, played one after the
other (`scenario NAME` on the simulator's stdin), B's journal equals A's (party, direction, remote,
disposition, transfers; start, answer and end within 5 s) and B's line states equal A's once the
scenario is over. Then call control issued on B's REST API happens on A's PBX: a make call from
100 to 101 on B rings and connects both phones on the simulator (seen in A's calls), a hangup on B
ends it on A, and both journals get the same entries; an outside call ringing 100 (the
simulator's `ring 100 60`) is answered from B's REST API (CSTA AnswerCall through A, whose AMI
PJSIPNotify makes the phone pick up) and journaled as answered on both; DND set on B's REST API
is on A's PBX (SetDoNotDisturb), forwarding set on A reaches B (ForwardingEvent), and both are
turned off from B (the simulator runs with callbridge's dialplan, so A's PBX carries them).
usage: csta_loopback_test.py CALLBRIDGED CALLBRIDGE PBXSIM FIXTURES_DIR
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from child_lines import Proc, fail

DEADLINE_S = 30
SPEED = 4  # simulated seconds per real second: the 13 scenarios take ~35 s
# B's times are when A's CSTA events arrive (CSTA events carry no time), A's the PBX's. On a quiet
# machine they agree within ~0.1 s; on the shared 2-core test machine under load (load average
# 14-20) single events reached B up to 2.2 s late, so times agree within 5 s; everything else must
# be equal.
TOLERANCE_S = 5.0
SCENARIOS = ["inbound_answered", "inbound_missed", "inbound_busy_or_rejected", "outbound_dial", "internal_call",
             "hold_retrieve", "blind_transfer", "blind_transfer_ami", "attended_transfer",
             "attended_transfer_refer", "queue", "conference", "click_to_dial_originate"]


class Api:
    def __init__(self, name, port, token, daemon):
        self.name, self.base, self.token, self.daemon = name, f"http://127.0.0.1:{port}", token, daemon

    def call(self, method, path, body=None, token=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {token or self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def journal(self):
        return self.call("GET", "/api/v1/journal?limit=500")["entries"]

    def lines(self):
        return {l["device"]: l["state"] for l in self.call("GET", "/api/v1/lines")["lines"]}

    def pump(self):
        self.daemon.pump(0)


def wait_until(what, pred, procs, timeout=DEADLINE_S):
    """Polls `pred` (a REST read) while reading the daemons' output, until it is true."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            fail(f"{what}: not reached in {timeout} s\n" + "\n".join(
                f"--- {p.args[0]}\n" + "\n".join(p.lines[-25:]) for p in procs))
        for p in procs:
            p.pump(0.05)


def ts(s):
    if s is None:
        return None
    from datetime import datetime
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def key(e):
    return (e["party"], e["direction"], e["remote"] or "", e["transferred_from"] or "")


def compare(scenario, a, b):
    """A's and B's journal entries of one scenario: the same entries, the same values."""
    problems = []
    worst = (0.0, "")
    if len(a) != len(b):
        problems.append(f"A has {len(a)} entries, B {len(b)}")
    bs = sorted(b, key=key)
    for ea in sorted(a, key=key):
        eb = next((x for x in bs if key(x) == key(ea)), None)
        if eb is None:
            problems.append(f"no entry on B for {key(ea)}")
            continue
        bs.remove(eb)
        for f in ("disposition", "transferred_to", "transferred_from", "remote_withheld"):
            if ea.get(f) != eb.get(f):
                problems.append(f"{key(ea)} {f}: A {ea.get(f)!r}, B {eb.get(f)!r}")
        for f in ("started_at", "answered_at", "ended_at"):
            ta, tb = ts(ea.get(f)), ts(eb.get(f))
            if ta is not None and tb is not None and abs(ta - tb) > worst[0]:
                worst = (abs(ta - tb), f"{ea['party']} {ea['remote']} {f}")
            if (ta is None) != (tb is None) or (ta is not None and abs(ta - tb) > TOLERANCE_S):
                problems.append(f"{key(ea)} {f}: A {ea.get(f)}, B {eb.get(f)}")
        if abs(ea["hold_s"] - eb["hold_s"]) > TOLERANCE_S:
            problems.append(f"{key(ea)} hold_s: A {ea['hold_s']}, B {eb['hold_s']}")
    for eb in bs:
        problems.append(f"extra entry on B: {key(eb)}")
    if problems:
        fail(f"{scenario}: journals differ:\n  " + "\n  ".join(problems) +
             "\nA: " + json.dumps(a, indent=1) + "\nB: " + json.dumps(b, indent=1))
    return worst


def main():
    if len(sys.argv) != 5:
        print(__doc__)
        sys.exit(2)
    daemon_bin, cli, pbxsim, fixtures = sys.argv[1:5]
    work = tempfile.mkdtemp(prefix="csta-loopback-")
    procs = []
    try:
        # With callbridge's dialplan (docs/dialplan.md): A's PBX carries DND and forwarding.
        sim = Proc([pbxsim, "--listen", "127.0.0.1:0", "--speed", str(SPEED), "--control-stdin",
                    "--callbridge-dialplan"], DEADLINE_S,
                   stdin=subprocess.PIPE)
        procs.append(sim)
        _, m = sim.wait_line(r"AMI on 127\.0\.0\.1:(\d+)")
        ami_port = int(m.group(1))

        tenant = """
[tenant.default.dialing]
country_code = "49"
area_code = "89"
base_number = "123456"
extension_ranges = ["100-199"]
[tenant.default.call_control]
context = "from-internal"
[[tenant.default.phones]]
devices = ["1*"]
answer_event = "talk"
hold_event = "hold"
retrieve_event = "talk"
"""
        cfg_a = os.path.join(work, "a.toml")
        with open(cfg_a, "w") as f:
            f.write(f"""
[server]
listen = "127.0.0.1:0"
data_dir = "{os.path.join(work, 'a')}"
[[pbx]]
host = "127.0.0.1"
port = {ami_port}
user = "cti"
secret = "cti-secret"
reconnect_min_ms = 50
[csta]
listen = "127.0.0.1:0"
[[csta.client]]
name = "callbridge-b"
secret_sha256 = "{hashlib.sha256(b'b-secret').hexdigest()}"
tenant = "default"
""" + tenant)

        def token(cfg, user, role, ext):
            args = [cli, "token", "create", "--config", cfg, "--user", user, "--role", role]
            if ext:
                args += ["--extension", ext]
            r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=DEADLINE_S)
            if r.returncode != 0:
                fail(f"token create {user}: {r.stdout.decode()}")
            return r.stdout.decode().strip().splitlines()[-1].strip()

        admin_a = token(cfg_a, "boss", "admin", None)
        anna_a = token(cfg_a, "anna", "user", "100")
        a = Proc([daemon_bin, "--config", cfg_a], DEADLINE_S)
        procs.append(a)
        _, m = a.wait_line(r"CSTA server listening on 127\.0\.0\.1:(\d+)")
        csta_port = int(m.group(1))
        _, m = a.wait_line(r"HTTP API listening on 127\.0\.0\.1:(\d+)")
        api_a = Api("A", m.group(1), admin_a, a)

        cfg_b = os.path.join(work, "b.toml")
        with open(cfg_b, "w") as f:
            f.write(f"""
[server]
listen = "127.0.0.1:0"
data_dir = "{os.path.join(work, 'b')}"
[[pbx]]
name = "a"
driver = "csta"
host = "127.0.0.1"
port = {csta_port}
user = "callbridge-b"
secret = "b-secret"
devices = ["100-105"]
reconnect_min_ms = 50
""" + tenant)
        admin_b = token(cfg_b, "boss", "admin", None)
        anna_b = token(cfg_b, "anna", "user", "100")
        b = Proc([daemon_bin, "--config", cfg_b], DEADLINE_S)
        procs.append(b)
        _, m = b.wait_line(r"HTTP API listening on 127\.0\.0\.1:(\d+)")
        api_b = Api("B", m.group(1), admin_b, b)

        def monitors_b():
            d = api_b.call("GET", "/api/v1/diagnostics")
            for p in d.get("pbx", []):
                c = dict(p.get("counters", {})) if isinstance(p.get("counters"), dict) else \
                    {k: v for k, v in p.get("counters", [])}
                if p.get("connected") and c.get("monitors") == 6 and c.get("resyncs") == 6:
                    return True
            return False

        def ready(api):
            try:
                with urllib.request.urlopen(api.base + "/readyz", timeout=2):
                    return True
            except Exception:
                return False

        wait_until("A ready", lambda: ready(api_a), procs)
        wait_until("B's CSTA link up with 6 monitors", monitors_b, procs)

        seen_a, seen_b = 0, 0
        for sc in SCENARIOS:
            with open(os.path.join(fixtures, sc, "expected-journal.jsonl")) as f:
                expected = sum(1 for line in f if line.strip())
            start = len(sim.lines)
            sim.p.stdin.write(f"scenario {sc}\n".encode())
            sim.p.stdin.flush()
            sim.wait_line(rf"scenario {sc} done", start=start, timeout=60)
            ja = wait_until(f"{sc}: {expected} entries on A", lambda: (lambda j: j if len(j) >= seen_a + expected else None)(api_a.journal()), procs)
            jb = wait_until(f"{sc}: {expected} entries on B", lambda: (lambda j: j if len(j) >= seen_b + expected else None)(api_b.journal()), procs)
            # Newest first: this scenario's entries are the first ones.
            new_a, new_b = ja[:len(ja) - seen_a], jb[:len(jb) - seen_b]
            seen_a, seen_b = len(ja), len(jb)
            worst = compare(sc, new_a, new_b)
            la, lb = api_a.lines(), api_b.lines()
            diff = {d: (la.get(d), s) for d, s in lb.items() if d in la and la[d] != s}
            if diff or not lb:
                fail(f"{sc}: line states differ (device: (A, B)): {diff}, B has {lb}")
            print(f"ok {sc}: {len(new_a)} journal entries and {len(lb)} line states equal "
                  f"(times at most {worst[0]:.3f} s apart: {worst[1] or '-'})")

        # Call control on B happens on A's PBX: 100 calls 101 (the simulator's phones answer).
        r = api_b.call("POST", "/api/v1/calls", {"from": "100", "to": "101"}, token=anna_b)

        def connected(api, devs):
            calls = api.call("GET", "/api/v1/calls")["calls"]
            for c in calls:
                st = {x["device"]: x["state"] for x in c["connections"]}
                if all(st.get(d) == "connected" for d in devs):
                    return c
            return None

        call_a = wait_until("the call B made talking on A", lambda: connected(api_a, ["100", "101"]), procs)
        call_b = wait_until("the call talking on B", lambda: connected(api_b, ["100", "101"]), procs)
        print(f"ok make call on B ({r}): A's call {call_a['id']}, B's call {call_b['id']}")
        api_b.call("POST", f"/api/v1/calls/{call_b['id']}/hangup", {}, token=anna_b)
        wait_until("the call gone on A", lambda: not api_a.call("GET", "/api/v1/calls")["calls"], procs)
        ja = wait_until("make call entries on A", lambda: (lambda j: j if len(j) >= seen_a + 2 else None)(api_a.journal()), procs)
        jb = wait_until("make call entries on B", lambda: (lambda j: j if len(j) >= seen_b + 2 else None)(api_b.journal()), procs)
        compare("make call from B", ja[:len(ja) - seen_a], jb[:len(jb) - seen_b])
        print("ok hangup on B ended the call on A; journals equal")
        seen_a, seen_b = len(ja), len(jb)

        # AnswerCall end to end: an outside call rings 100 on the simulator (up to 60 simulated
        # seconds, then the caller would give up). B's REST answer becomes the CSTA AnswerCall of
        # drivers/csta, A's CSTA server carries it out (AMI PJSIPNotify talk) and the phone picks up.
        def ringing(api):
            for c in api.call("GET", "/api/v1/calls")["calls"]:
                if {x["device"]: x["state"] for x in c["connections"]}.get("100") == "alerting":
                    return c
            return None

        start = len(sim.lines)
        sim.p.stdin.write(b"ring 100 60\n")
        sim.p.stdin.flush()
        sim.wait_line(r"scenario ring 100 started", start=start)
        ring_b = wait_until("the outside call ringing 100 on B", lambda: ringing(api_b), procs)
        api_b.call("POST", f"/api/v1/calls/{ring_b['id']}/answer", {"device": "100"}, token=anna_b)
        # The answered call talks 3 simulated seconds (under a second here): its journal entries,
        # answered on both sides, are the proof (unanswered, the caller gives up: "missed").
        sim.wait_line(r"scenario ring 100 done", start=start, timeout=60)
        ja = wait_until("answered call's entry on A", lambda: (lambda j: j if len(j) >= seen_a + 1 else None)(api_a.journal()), procs)
        jb = wait_until("answered call's entry on B", lambda: (lambda j: j if len(j) >= seen_b + 1 else None)(api_b.journal()), procs)
        new_a, new_b = ja[:len(ja) - seen_a], jb[:len(jb) - seen_b]
        compare("answer on B", new_a, new_b)
        if [e["disposition"] for e in new_a] != ["answered"]:
            fail(f"answer on B: A's entry is not one answered call: {json.dumps(new_a, indent=1)}")
        print("ok answer on B (CSTA AnswerCall through A) picked up the ringing phone on A's PBX; journals equal")

        # DND and forwarding both ways: set on B (drivers/csta SetDoNotDisturb -> A's CSTA server ->
        # A's PBX), set on A (A's CSTA server's Forwarding event -> B's monitor of 100).
        def features(api, token):
            try:
                r = api.call("GET", "/api/v1/me/forwarding", token=token)
            except urllib.error.HTTPError:
                return None
            return r if r.get("available") else None

        wait_until("DND and forwarding readable on A", lambda: features(api_a, anna_a), procs)
        wait_until("DND and forwarding readable on B (through CSTA)", lambda: features(api_b, anna_b), procs)
        api_b.call("PUT", "/api/v1/me/dnd", {"dnd": True}, token=anna_b)
        wait_until("DND set on B is on A's PBX", lambda: features(api_a, anna_a)["dnd"] is True, procs)
        wait_until("line 100 dnd on A and B", lambda: api_a.lines().get("100") == "dnd" and api_b.lines().get("100") == "dnd",
                   procs)
        # (A's REST API stores the destination as its dialing plan reads it.)
        busy_a = api_a.call("PUT", "/api/v1/me/forwarding", {"busy": "102"}, token=anna_a)["forwarding"]["busy"]
        if not busy_a:
            fail("forwarding on busy set on A did not stick")
        wait_until(f"forwarding set on A ({busy_a}) reaches B (ForwardingEvent)",
                   lambda: features(api_b, anna_b)["forwarding"]["busy"] == busy_a, procs)
        api_b.call("PUT", "/api/v1/me/dnd", {"dnd": False}, token=anna_b)
        api_b.call("DELETE", "/api/v1/me/forwarding", token=anna_b)
        wait_until("DND and forwarding off on A", lambda: (lambda f: f["dnd"] is False and f["forwarding"]["busy"] is None)(
            features(api_a, anna_a)), procs)
        print("ok DND and forwarding: set on B happen on A's PBX, set on A reach B")
        print("PASS")
    finally:
        for p in reversed(procs):
            p.stop()


if __name__ == "__main__":
    main()
