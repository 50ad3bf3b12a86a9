#!/usr/bin/env python3
"""ctest fixture of the `asterisk` label: installs and starts the real Asterisk lab once
(setup), stops it at the end (cleanup).

usage: lab_fixture.py setup|cleanup LAB_DIR LAB_SRC

setup: `bash LAB_SRC/install.sh LAB_DIR` (packages, Asterisk, config, SIPp scenarios), then
`lab.sh start`, `lab.sh phones` (100..105 registered, answering) and `lab.sh carrier` (an
answering carrier on 127.0.0.1:5070 for outbound calls and mobiles).
Exit 77 (ctest SKIP_RETURN_CODE) when not root or when there is no lab source: the lab needs
root (apt-get, a private mount namespace for Asterisk). Everything else that goes wrong fails.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from livetest.lab import Lab, LabError  # noqa: E402

SKIP = 77


def skip_reason(lab_src):
    if os.geteuid() != 0:
        return "not root (the lab needs apt-get and a private mount namespace)"
    if not (Path(lab_src) / "install.sh").exists():
        return f"no lab at {lab_src} (set CB_LAB_SRC to a copy of ../shared/lab)"
    return None


def setup(lab_dir, lab_src):
    t = time.monotonic()
    r = subprocess.run(["bash", str(Path(lab_src) / "install.sh"), lab_dir])
    if r.returncode != 0:
        print("lab install failed", file=sys.stderr)
        return 1
    lab = Lab(lab_dir)
    if lab.ami_up() and not (lab.run / "asterisk.pid").exists():
        print("something else answers on 127.0.0.1:5038 (another lab?): run the live suite in its own "
              "network namespace (docs/testing.md)", file=sys.stderr)
        return 1
    try:
        print(lab.sh("start", timeout=120), end="")
        print(lab.sh("phones", timeout=120), end="")
        print(lab.sh("carrier", timeout=60), end="")
        print(lab.asterisk_version())
    except LabError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"lab ready in {time.monotonic() - t:.1f}s ({lab_dir})")
    return 0


def cleanup(lab_dir):
    lab = Lab(lab_dir)
    if not (lab.root / "bin/lab.sh").exists():
        return 0
    t = time.monotonic()
    # idle SIPp UASes hold no dialog: SIGKILL them by their pid files (lab.sh stop would SIGTERM
    # each and wait ~2 s for SIPp to exit), then let lab.sh stop the rest
    for n in ["uas-%d" % e for e in range(100, 106)] + ["carrier-uas"]:
        lab.kill_pidfile(n)
    try:
        print(lab.sh("stop", timeout=120), end="")
    except LabError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"lab stopped in {time.monotonic() - t:.1f}s")
    return 0


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("setup", "cleanup"):
        sys.exit(__doc__)
    what, lab_dir, lab_src = sys.argv[1:]
    lab_dir = os.environ.get("CB_LAB_DIR") or lab_dir
    lab_src = os.environ.get("CB_LAB_SRC") or lab_src
    reason = skip_reason(lab_src)
    if reason:
        if os.environ.get("CB_LIVE_REQUIRED"):
            print(f"the live suite must run (CB_LIVE_REQUIRED) but: {reason}", file=sys.stderr)
            return 1
        print(f"SKIP: {reason}")
        return SKIP
    return setup(lab_dir, lab_src) if what == "setup" else cleanup(lab_dir)


if __name__ == "__main__":
    sys.exit(main())
