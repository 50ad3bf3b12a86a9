# Turns a live scenario's share of callbridged's AMI recording (--record, "callbridge-ami-record
# v1") into a replay fixture like tests/fixtures/asterisk-22/*: ami.log (the session's login and
# resync, then the messages of the scenario's time window, raw CRLF bytes), expected-journal.jsonl
# (the entries the live run produced and the harness accepted), cdr.csv, scenario.md.
# Called by livetest.scenario at the end of a group when CB_LIVE_KEEP is set.
import csv
import io
import json
import re
from pathlib import Path

from .lab import CDR_FIELDS

FIXTURE_KEYS = ("party", "direction", "remote", "remote_withheld", "disposition", "answered", "started_at", "answered_at",
                "ended_at", "ring_s", "talk_s", "hold_s", "trunk_channel_s", "transferred_to", "transferred_from")


def read_record(path):
    """The raw bytes of one .amirec file (chunks concatenated)."""
    buf = Path(path).read_bytes()
    p = 0
    while buf[p:p + 1] == b"#":
        p = buf.index(b"\n", p) + 1
    out = []
    while p < len(buf):
        nl = buf.find(b"\n", p)
        if nl < 0:
            break
        _, n = buf[p:nl].split()
        n = int(n)
        if nl + 1 + n > len(buf):
            break  # a truncated last chunk
        out.append(buf[nl + 1:nl + 1 + n])
        p = nl + 1 + n + 1
    return b"".join(out)


_TS = re.compile(rb"\r\nTimestamp: (\d+\.\d+)\r\n")


def slice_session(raw, t0, t1):
    """Header (banner .. end of the first EventList) + the messages stamped in [t0, t1], as one
    contiguous run of the stream (responses without Timestamp inside it stay)."""
    msgs = raw.split(b"\r\n\r\n")
    if msgs and msgs[-1] == b"":
        msgs.pop()
    head_end = 1
    for i, m in enumerate(msgs[:200]):
        if b"EventList: Complete" in m:
            head_end = i + 1
            break
    stamps = []
    for i, m in enumerate(msgs):
        s = _TS.search(m + b"\r\n")
        stamps.append(float(s.group(1)) if s else None)
    inside = [i for i in range(head_end, len(msgs)) if stamps[i] is not None and t0 <= stamps[i] <= t1]
    if not inside:
        return None
    body = msgs[:head_end] + msgs[inside[0]:inside[-1] + 1]
    return b"\r\n\r\n".join(body) + b"\r\n\r\n"


def write_fixture(dest, name, records, window, entries, cdr_rows, asterisk, note):
    t0, t1 = window
    raw = None
    # A scenario that restarts callbridged (e.g. to pick up the dialplan include) has the end of
    # the old session and the new one in its window: the call is in the larger slice.
    for rec in records:
        got = slice_session(read_record(rec), t0, t1)
        if got and (raw is None or len(got) > len(raw)):
            raw = got
    if not raw:
        return False
    d = Path(dest) / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "ami.log").write_bytes(raw)
    with open(d / "expected-journal.jsonl", "w") as f:
        for e in sorted(entries, key=lambda e: (e["started_at"], e["party"])):
            row = {k: e.get(k) for k in FIXTURE_KEYS}
            row["answered"] = e.get("answered_at") is not None
            if e.get("device"):  # AnyDevice: the replay knows the number (the name is the user's)
                row["device_number"] = e["device"].get("number")
            row["accept"] = {}
            row["tolerance_s"] = 0.1
            f.write(json.dumps(row) + "\n")
    out = io.StringIO()
    w = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    for r in cdr_rows:
        w.writerow([r.get(k, "") for k in CDR_FIELDS])
    (d / "cdr.csv").write_text(out.getvalue())
    (d / "scenario.md").write_text(
        f"# {name}\n\nRecorded by the live suite (tests/live, scenario `{name}`) from callbridged's "
        f"`--record` against {asterisk}.\n`ami.log` = the session's login and resync, then the AMI "
        f"messages of the scenario's time window; `expected-journal.jsonl` = the journal the live run "
        f"produced and the harness accepted (contract checks and Asterisk's CDR, docs/testing.md); "
        f"`cdr.csv` = Asterisk's CDR rows of the scenario.\n\n{note}\n")
    return True
