#!/usr/bin/env python3
"""`callbridge pair`, `pair list`, `pair revoke` on a fresh data dir (ctest relay_pair_cli, label relay):
the link's shape and its fingerprint matching the one printed, one device per pairing, revoke, and
the exit codes of bad input. Usage: pair_cli_test.py CALLBRIDGE_CLI"""
import base64
import re
import subprocess
import sys
import tempfile

cli = sys.argv[1]
failures = []


def run(*args):
    p = subprocess.run([cli, *args], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


with tempfile.TemporaryDirectory() as d:
    rc, out, err = run("pair", "--data-dir", d, "--tenant", "acme", "--edge", "acme-edge",
                       "--relay-url", "wss://relay.example:8443/v1/edge", "--label", "Anna's laptop", "--no-qr")
    check(rc == 0, f"pair exits 0 (rc {rc}, {err})")
    link = out.strip().splitlines()[-1]
    m = re.fullmatch(r"https://relay\.example:8443/#pair=acme-edge\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})", link)
    check(m is not None, f"link shape: {link}")
    if m:
        check(len(b64url(m.group(1))) == 32, "32-byte secret")
        fp_hex = b64url(m.group(2)).hex()
        printed = re.search(r"fingerprint:\s*\n\s*([0-9a-f ]+)\n", err)
        check(printed is not None and printed.group(1).replace(" ", "") == fp_hex, "printed fingerprint = link's")
    check("█" not in err, "--no-qr prints no QR code")
    dev = re.search(r"pairing ([0-9a-f]{16}) for tenant acme", err)
    check(dev is not None, f"device id printed: {err}")

    rc, out2, err2 = run("pair", "--data-dir", d, "--tenant", "acme", "--edge", "acme-edge",
                         "--relay-url", "wss://relay.example:8443")
    check(rc == 0, "second pair exits 0")
    check(out2.strip() != link, "every pairing has its own secret")

    rc, out, _ = run("pair", "list", "--data-dir", d, "--tenant", "acme")
    check(rc == 0 and out.count("pending") == 2 and "Anna's laptop" in out, f"list: {out}")
    rc, out, _ = run("pair", "list", "--data-dir", d, "--tenant", "other")
    check(rc == 0 and "pending" not in out, "another tenant's list is empty")

    if dev:
        rc, _, err = run("pair", "revoke", "--data-dir", d, "--tenant", "other", dev.group(1))
        check(rc == 1, f"revoke in another tenant: rc 1 ({rc}, {err})")
        rc, _, err = run("pair", "revoke", "--data-dir", d, "--tenant", "acme", dev.group(1))
        check(rc == 0, f"revoke: rc 0 ({err})")
        rc, out, _ = run("pair", "list", "--data-dir", d, "--tenant", "acme")
        check(out.count("revoked") == 1 and out.count("pending") == 1, f"list after revoke: {out}")

    for args, want in [(["revoke", "--data-dir", d, "XYZ"], 2),
                       (["--data-dir", d, "--relay-url", "wss://r.example"], 2),
                       (["--data-dir", d, "--edge", "Bad!", "--relay-url", "wss://r.example"], 2),
                       (["--data-dir", d, "--edge", "a", "--relay-url", "https://r.example"], 2),
                       (["--data-dir", d, "--edge", "a", "--relay-url", "wss://r.example", "--ttl", "0"], 105)]:
        rc, _, err = run("pair", *args)
        check(rc == want and err.strip() != "", f"pair {' '.join(args[2:])}: rc {rc}, want {want} with a message")

# --edge and --relay-url default to the configuration's [relay] edge_id and url.
with tempfile.TemporaryDirectory() as d:
    cfg = d + "/callbridge.toml"
    with open(cfg, "w") as f:
        f.write('[server]\ndata_dir = "%s/data"\n\n[relay]\nurl = "wss://relay.example:9443"\nedge_id = "cfg-edge"\n' % d)
    rc, out, err = run("pair", "--config", cfg, "--no-qr")
    check(rc == 0, f"pair with a configuration: rc 0 ({rc}, {err})")
    check(out.strip().startswith("https://relay.example:9443/#pair=cfg-edge."), f"the link from [relay]: {out}")
    rc, out, _ = run("pair", "list", "--config", cfg)
    check(rc == 0 and "pending" in out, f"list through the configuration's data dir: {out}")

print("relay_pair_cli:", "FAILED" if failures else "ok")
sys.exit(1 if failures else 0)
