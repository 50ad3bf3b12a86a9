#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets that start from the test fixtures (fuzz/corpus/<target>/):
AMI captures cut at message boundaries (ami_frame, ami_replay; the first byte of each seed is the
target's flag byte) and the same captures as --record files (ami_replay). The other corpora are
written by hand (inputs of the unit tests) and grown by fuzzing. Seeds are small (a few KiB) so
that libFuzzer mutates them quickly.
Run from the repository root: python3 fuzz/tools/make_seeds.py  (rewrites those directories).
"""
import glob
import hashlib
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "tests/fixtures/asterisk-22")
OUT = os.path.join(ROOT, "fuzz/corpus")


def reset(target):
    d = os.path.join(OUT, target)
    if os.path.isdir(d):
        for f in glob.glob(os.path.join(d, "seed-*")):
            os.remove(f)
    os.makedirs(d, exist_ok=True)
    return d


def put(d, data):
    name = "seed-" + hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def messages(raw):
    parts = raw.split(b"\r\n\r\n")
    return [p + b"\r\n\r\n" for p in parts if p]


captures = sorted(glob.glob(os.path.join(FIX, "*/ami*.log")))

# ami_frame: 4 KiB windows from the middle of every capture (flag byte: banner off, default limits)
# and the first messages with the banner (flag 1); one with the small limits (flag 3).
d = reset("ami_frame")
for path in captures:
    raw = open(path, "rb").read()
    msgs = messages(raw)
    put(d, b"\x01\x00" + b"".join(msgs[:6]))
    mid = len(msgs) // 2
    piece = b""
    for m in msgs[mid:]:
        if len(piece) + len(m) > 4096:
            break
        piece += m
    put(d, b"\x00\x2a" + piece)
put(d, b"\x03\x07" + b"".join(messages(open(captures[0], "rb").read())[:10]))

# ami_replay: the start of every capture (banner, login response, first events) up to 8 KiB, and
# two captures as --record files split into reads of ~1400 bytes.
d = reset("ami_replay")
for path in captures:
    raw = open(path, "rb").read()
    piece = b""
    for m in messages(raw):
        if len(piece) + len(m) > 8192:
            break
        piece += m
    put(d, b"\x00" + piece)
for name in ("blind_transfer", "hold_retrieve"):
    raw = open(os.path.join(FIX, name, "ami.log"), "rb").read()[:12000]
    rec = b"# callbridge-ami-record v1\n# seed from tests/fixtures\n"
    t = 1795382809000000
    for i in range(0, len(raw), 1400):
        chunk = raw[i:i + 1400]
        rec += b"%d %d\n" % (t, len(chunk)) + chunk + b"\n"
        t += 250000
    put(d, b"\x00" + rec)
