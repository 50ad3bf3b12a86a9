#!/usr/bin/env python3
"""CSTA server end to end (issue 15, docs/csta.md "Server"): the real callbridged on the PBX
simulator (callbridge-pbxsim, no generated traffic) with [csta] listen on port 0, driven by the
CSTA client test tool `callbridge csta`:
  - ECMA-354 start with a user's API token; a wrong token is refused (exit 2);
  - a user token cannot monitor a line it may not see (CSTAErrorCode, exit 1);
  - a monitor of extension 100 sees the call MakeCall starts: the simulator's phone 100 rings
    (ServiceInitiated, Originated), then 101 (Delivered) and answers (Established); ClearConnection
    ends it (ConnectionCleared), in that order, every event with the call id MakeCall answered;
  - a [[csta.client]] credential, headerless framing and edition 3; the OpenScape-style start;
  - malformed XML is answered with an error and the session goes on; an oversized frame is
    answered and closes that connection only; the server keeps serving;
  - the clients show in GET /api/v1/diagnostics ("csta").
usage: csta_e2e_test.py CALLBRIDGED CALLBRIDGE PBXSIM
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

from child_lines import Proc, fail

DEADLINE_S = 20


def run(args, timeout=DEADLINE_S):
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace")


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        sys.exit(2)
    daemon_bin, cli, pbxsim = sys.argv[1:4]
    work = tempfile.mkdtemp(prefix="csta-e2e-")
    procs = []
    try:
        # Half real time: a MakeCall rings 100 (which answers after 2 simulated seconds), then 101
        # (answers after 2 more), then they talk 5: time enough to clear the call from here.
        sim = Proc([pbxsim, "--listen", "127.0.0.1:0", "--speed", "0.5"], DEADLINE_S)
        procs.append(sim)
        _, m = sim.wait_line(r"AMI on 127\.0\.0\.1:(\d+)")
        ami_port = int(m.group(1))

        cfg = os.path.join(work, "callbridge.toml")
        data = os.path.join(work, "data")
        with open(cfg, "w") as f:
            f.write(f"""
[server]
listen = "127.0.0.1:0"
data_dir = "{data}"
[[pbx]]
host = "127.0.0.1"
port = {ami_port}
user = "cti"
secret = "cti-secret"
reconnect_min_ms = 50
[csta]
listen = "127.0.0.1:0"
max_frame_bytes = 4096
[[csta.client]]
name = "tapi"
secret_sha256 = "{hashlib.sha256(b's3cret').hexdigest()}"
tenant = "default"
[tenant.default.dialing]
country_code = "49"
area_code = "30"
base_number = "555"
extension_ranges = ["100-199"]
[tenant.default.call_control]
context = "from-internal"
[[tenant.default.phones]]
devices = ["1*"]
answer_event = "talk"
hold_event = "hold"
retrieve_event = "talk"
""")

        def token(user, role, ext):
            args = [cli, "token", "create", "--config", cfg, "--user", user, "--role", role]
            if ext:
                args += ["--extension", ext]
            rc, out = run(args)
            if rc != 0:
                fail(f"token create {user}: {out}")
            return out.strip().splitlines()[-1].strip()

        anna = token("anna", "user", "100")
        token("ben", "user", "101")
        admin = token("boss", "admin", None)

        d = Proc([daemon_bin, "--config", cfg], DEADLINE_S)
        procs.append(d)
        _, m = d.wait_line(r"CSTA server listening on 127\.0\.0\.1:(\d+)")
        csta_port = m.group(1)
        _, m = d.wait_line(r"HTTP API listening on 127\.0\.0\.1:(\d+)")
        http_port = m.group(1)
        # The AMI link is up before calls can be made.
        end = time.monotonic() + DEADLINE_S
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{http_port}/readyz", timeout=2)
                break
            except Exception:
                if time.monotonic() > end:
                    fail("callbridged never became ready:\n" + "\n".join(d.lines[-30:]))
                d.pump(0.1)

        base = [cli, "csta", "--connect", f"127.0.0.1:{csta_port}", "--timeout", "10"]

        # A wrong token: refused, exit 2.
        rc, out = run(base + ["--token", "cbt_nope_nope", "status"])
        if rc != 2 or "invalidApplicationInfo" not in out:
            fail(f"wrong token: exit {rc}\n{out}")

        # Anna may not watch Ben's line.
        rc, out = run(base + ["--token", anna, "monitor", "101", "--count", "1"])
        if rc != 1 or "privilegeViolationSpecifiedDevice" not in out:
            fail(f"monitor of another user's line: exit {rc}\n{out}")

        # Anna monitors her line and calls Ben (click-to-dial: her phone rings first and answers,
        # then Ben's rings and answers); she hangs up from here.
        mon = Proc(base + ["--token", anna, "monitor", "100", "--for", "90"], DEADLINE_S)
        procs.append(mon)
        mon.wait_line(r"monitoring 1 device")
        rc, out = run(base + ["--token", anna, "make-call", "100", "101"])
        m = re.search(r"MakeCallResponse call=([0-9A-F]{8}) device=100", out)
        if rc != 0 or not m:
            fail(f"make-call: exit {rc}\n{out}")
        call = m.group(1)
        i, _ = mon.wait_line(rf"ServiceInitiatedEvent call={call} device=100 .*cause=makeCall")
        i, _ = mon.wait_line(rf"OriginatedEvent call={call} device=100 calling=100 called=(101|\+4930555101) ", start=i + 1)
        i, _ = mon.wait_line(rf"DeliveredEvent call={call} device=101 alerting=101 ", start=i + 1)
        i, _ = mon.wait_line(rf"EstablishedEvent call={call} device=101 answering=101 ", start=i + 1)
        rc, out = run(base + ["--token", anna, "clear", call, "100"])
        if rc != 0 or "ClearConnectionResponse" not in out:
            fail(f"clear: exit {rc}\n{out}")
        # 100's monitor follows the call until 100 left it (CallCleared goes to the last party's).
        i, _ = mon.wait_line(rf"ConnectionClearedEvent call={call} device=100 releasing=100 .*cause=normalClearing",
                             start=i + 1)
        for line in mon.lines:
            if "Event call=" in line and not line.split("Event call=")[1].startswith(call):
                # Every event of this monitor is of the one call made here, under one call id.
                fail(f"an event with another call id: {line}\n" + "\n".join(mon.lines))
        print("events in order:", *[l for l in mon.lines if "Event" in l], sep="\n  ")

        # Answering a call that does not ring is the wrong state.
        rc, out = run(base + ["--token", anna, "answer", call, "100"])
        if rc != 1 or "CSTAErrorCode" not in out:
            fail(f"answer of an ended call: exit {rc}\n{out}")

        # Snapshot afterwards: no call at 100.
        rc, out = run(base + ["--token", anna, "snapshot", "100"])
        if rc != 0 or "calls=0" not in out:
            fail(f"snapshot: exit {rc}\n{out}")

        # A [[csta.client]], headerless, edition 3: sees the tenant's lines.
        rc, out = run(base + ["--headerless", "--edition", "3", "--user", "tapi", "--secret", "s3cret", "devices"])
        if rc != 0 or not re.search(r"SwitchingFunctionDevices devices=6 100 101 102 103 104 105\n", out):
            fail(f"headerless client credential devices: exit {rc}\n{out}")
        rc, out = run(base + ["--user", "tapi", "--secret", "wrong", "features"])
        if rc != 2:
            fail(f"wrong client secret: exit {rc}\n{out}")

        # The OpenScape-style start.
        rc, out = run(base + ["--style", "osv", "--edition", "3", "--user", "tapi", "--secret", "s3cret", "features"])
        if rc != 0 or "SystemRegisterResponse" not in out or "makeCall" not in out or "setDoNotDisturb" in out:
            fail(f"osv style: exit {rc}\n{out}")

        # DND: the simulator has no callbridge dialplan, so the PBX cannot carry it (not offered
        # above): the request is answered, not dropped.
        dnd = os.path.join(work, "dnd.xml")
        with open(dnd, "w") as f:
            f.write('<?xml version="1.0"?><SetDoNotDisturb xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed5">'
                    '<device>100</device><doNotDisturbOn>true</doNotDisturbOn></SetDoNotDisturb>')
        rc, out = run(base + ["--token", anna, "raw", dnd])
        if rc != 1 or "systemResourceAvailability=resourceOutOfService" not in out:
            fail(f"DND without the PBX's dialplan: exit {rc}\n{out}")

        # Malformed XML: an error, the session goes on.
        bad = os.path.join(work, "bad.xml")
        with open(bad, "w") as f:
            f.write('<?xml version="1.0"?><MonitorStart xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed5"><monitorObject>')
        rc, out = run(base + ["--token", anna, "raw", bad])
        if rc != 1 or "CSTAErrorCode" not in out:
            fail(f"malformed XML: exit {rc}\n{out}")
        # Too large: answered, that connection closed; the server serves on.
        big = os.path.join(work, "big.xml")
        with open(big, "w") as f:
            f.write('<?xml version="1.0"?><MonitorStart><monitorObject><deviceObject>100</deviceObject></monitorObject>'
                    + "<x>" + "y" * 8000 + "</x></MonitorStart>")
        rc, out = run(base + ["--token", anna, "raw", big])
        if rc != 1 or "valueOutOfRange" not in out:
            fail(f"oversized frame: exit {rc}\n{out}")
        rc, out = run(base + ["--token", anna, "status"])
        if rc != 0 or "systemStatus=normal" not in out:
            fail(f"server after the oversized frame: exit {rc}\n{out}")

        # Diagnostics list the CSTA client still connected (the monitor) with its messages.
        req = urllib.request.Request(f"http://127.0.0.1:{http_port}/api/v1/diagnostics",
                                     headers={"Authorization": f"Bearer {admin}"})
        diag = json.loads(urllib.request.urlopen(req, timeout=5).read())
        cs = diag.get("csta") or fail(f"no csta in diagnostics: {diag}")
        # The tenant admin's view: the tenant's clients (the daemon-wide counters are the operator's).
        annas = [c for c in cs["clients"] if c["user"] == "anna" and c["monitors"] == 1]
        if not annas or annas[0]["messages_in"] < 2 or annas[0]["messages_out"] < 7 or annas[0]["tenant"] != "default":
            fail(f"diagnostics csta: {cs}")
        # TLS: a second callbridged (no PBX) with [csta.tls]; the tool verifies the certificate.
        key, crt = os.path.join(work, "key.pem"), os.path.join(work, "crt.pem")
        rc, out = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                       "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-keyout", key, "-out", crt])
        if rc != 0:
            fail(f"openssl: {out}")
        cfg2 = os.path.join(work, "tls.toml")
        with open(cfg2, "w") as f:
            f.write(f"""
[server]
listen = "127.0.0.1:0"
data_dir = "{os.path.join(work, 'data2')}"
[csta]
listen = "127.0.0.1:0"
[csta.tls]
cert_file = "{crt}"
key_file = "{key}"
[[csta.client]]
name = "tapi"
secret_sha256 = "{hashlib.sha256(b's3cret').hexdigest()}"
""")
        d2 = Proc([daemon_bin, "--config", cfg2], DEADLINE_S)
        procs.append(d2)
        _, m = d2.wait_line(r"CSTA server listening on 127\.0\.0\.1:(\d+) \(TLS\)")
        tls = [cli, "csta", "--connect", f"localhost:{m.group(1)}", "--timeout", "10", "--user", "tapi",
               "--secret", "s3cret"]
        rc, out = run(tls + ["--tls", "--ca", crt, "status"])
        if rc != 0 or "RequestSystemStatusResponse" not in out:
            fail(f"TLS with a verified certificate: exit {rc}\n{out}")
        rc, out = run(tls + ["--tls", "status"])
        if rc != 2:
            fail(f"TLS with an unknown CA must fail verification: exit {rc}\n{out}")
        rc, out = run(tls + ["status"])
        if rc != 2:
            fail(f"plain TCP to a TLS port: exit {rc}\n{out}")
        print("PASS")
    finally:
        for p in reversed(procs):
            p.stop()


if __name__ == "__main__":
    main()
