#!/usr/bin/env python3
"""Runs one group of live scenarios (tests/live/scenarios_*.py) against the running lab.

usage: run_live.py GROUP LAB_DIR LAB_SRC CALLBRIDGED CALLBRIDGE_CLI [SCENARIO...]
       run_live.py --list

Environment: CB_LAB_DIR / CB_LAB_SRC override LAB_DIR / LAB_SRC; CB_LIVE_REPEAT=N runs every
scenario N times (soak); CB_LIVE_WORKDIR keeps callbridged's data dir, log and AMI recording
there (default: a temp dir, removed on success); CB_LIVE_KEEP=DIR copies each group's AMI
recording and journal to DIR/GROUP (for new replay fixtures); CB_LIVE_VERBOSE=1 prints every
check. Exit 77 (skip) when not root or without a lab source, like the fixture.
"""
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import importlib  # noqa: E402

import lab_fixture  # noqa: E402
from livetest import scenario  # noqa: E402

# every tests/live/scenarios_*.py registers its scenarios (@scenario(group)) when imported
for _f in sorted(Path(__file__).resolve().parent.glob("scenarios_*.py")):
    importlib.import_module(_f.stem)


def main():
    if sys.argv[1:] == ["--list"]:
        for n, (g, _) in scenario.SCENARIOS.items():
            print(f"{g:10} {n}")
        return 0
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    group, lab_dir, lab_src, callbridged, cli, *names = sys.argv[1:]
    lab_dir = os.environ.get("CB_LAB_DIR") or lab_dir
    lab_src = os.environ.get("CB_LAB_SRC") or lab_src
    reason = lab_fixture.skip_reason(lab_src)
    if reason:
        if os.environ.get("CB_LIVE_REQUIRED"):
            print(f"the live suite must run (CB_LIVE_REQUIRED) but: {reason}", file=sys.stderr)
            return 1
        print(f"SKIP: {reason}")
        return lab_fixture.SKIP
    if not (Path(lab_dir) / "run/asterisk.pid").exists():
        print(f"the lab in {lab_dir} is not running (the live_lab_setup fixture failed?)", file=sys.stderr)
        return 1
    repeat = int(os.environ.get("CB_LIVE_REPEAT", "1"))
    keep_dir = os.environ.get("CB_LIVE_WORKDIR")
    workdir = Path(keep_dir) / group if keep_dir else Path(tempfile.mkdtemp(prefix=f"cb-live-{group}-"))
    if keep_dir and workdir.exists():
        shutil.rmtree(workdir)
    rc = scenario.run(group, names, lab_dir, callbridged, cli, workdir, repeat=repeat,
                      keep=os.environ.get("CB_LIVE_KEEP"))
    if rc == 0 and not keep_dir:
        shutil.rmtree(workdir, ignore_errors=True)
    elif rc != 0:
        print(f"work dir kept: {workdir}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
