# What a live scenario must show, and the judging: journal entries (as JOURNAL.md defines them)
# paired with the expected ones, Asterisk's CDR rows for the same calls, and the WebSocket events.
# Pure functions over data fetched by livetest.scenario; no I/O here.
from datetime import datetime


def ts(value):
    if value is None:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


class Entry:
    """One expected journal entry. ring/talk/hold: seconds (None = not checked beyond
    consistency). Tolerance: what SIPp was told to do is nominal - on a loaded machine (load
    average 20 on 2 cores seen) a phone answers up to ~1.5 s late, never early - so a nonzero
    value may be 0.6 s below and 2 s above; a zero (no hold, the target of a transfer answered at
    the transfer moment) must be 0 within 0.15 s; tol=X makes it symmetric +-X.
    accept: field -> other acceptable values."""

    def __init__(self, party, direction, remote, disposition, ring=None, talk=None, hold=0.0,
                 transferred_to=None, transferred_from=None, tol=None, accept=None, withheld=False,
                 total=None, estimated=(), device=None, trunk=None):
        self.f = dict(party=party, direction=direction, remote=remote, disposition=disposition,
                      transferred_to=transferred_to, transferred_from=transferred_from)
        self.ring, self.talk, self.hold, self.tol = ring, talk, hold, tol
        self.total = total  # ring_s + talk_s, where one party's timer governs both
        # fields the entry may mark as estimated (docs/journal.md "Faults"): none for a call
        # callbridge followed from start to end
        self.estimated = set(estimated)
        self.accept = accept or {}
        self.withheld = withheld
        # AnyDevice: the journal's "device" object the entry must carry ({"name", "number",
        # "private"}); None = the entry has none (the desk phone carried the call)
        self.device = device
        # channel accounting: the entry's trunk_channel_s (None = not checked), within 1 s
        self.trunk = trunk

    def key(self):
        return (self.f["party"], self.f["direction"], self.f["remote"])

    def __repr__(self):
        return f"Entry{self.key()}:{self.f['disposition']}"

    def options(self, field):
        return [self.f[field], *self.accept.get(field, [])]


def _near(a, b, tol):
    return a is not None and b is not None and abs(float(a) - float(b)) <= tol + 1e-9


def _window(want, tol):
    """(low, high) acceptable for a nominal duration (see Entry)."""
    if tol is not None:
        return want - tol, want + tol
    if want == 0:
        return -0.15, 0.15
    return want - 0.6, want + 2.0


def check_entry(exp, act, window):
    """Problems of one actual entry against its expected one. window = (t0, t1) wall clock of the
    scenario: the entry's times must lie inside (with a second of slack)."""
    p = []
    for field in ("direction", "remote", "disposition", "transferred_to", "transferred_from"):
        if act.get(field) not in exp.options(field):
            p.append(f"{field}={act.get(field)!r}, want {' or '.join(map(repr, exp.options(field)))}")
    est = set(act.get("estimated") or [])
    if not est <= exp.estimated:
        p.append(f"estimated={sorted(est)}, want at most {sorted(exp.estimated)}")
    if exp.trunk is not None and not _near(act.get("trunk_channel_s"), exp.trunk, 1.0):
        p.append(f"trunk_channel_s={act.get('trunk_channel_s')!r}, want {exp.trunk} (+-1)")
    if act.get("device") != exp.device:
        p.append(f"device={act.get('device')!r}, want {exp.device!r}")
    if exp.withheld and act.get("remote_withheld") is not True:
        p.append(f"remote_withheld={act.get('remote_withheld')!r}, want true")
    st, an, en = ts(act.get("started_at")), ts(act.get("answered_at")), ts(act.get("ended_at"))
    talked = act.get("disposition") == "answered"
    if st is None or en is None:
        p.append("started_at/ended_at missing")
        return p
    if talked != (an is not None):
        p.append(f"answered_at={act.get('answered_at')} with disposition {act.get('disposition')}")
    t0, t1 = window
    for name, v in (("started_at", st), ("answered_at", an), ("ended_at", en)):
        if v is not None and not (t0 - 1.0 <= v <= t1 + 1.0):
            p.append(f"{name}={act.get(name)} outside the scenario's time ({t0:.1f}..{t1:.1f})")
    if not st <= (an if an is not None else st) <= en + 1e-3:
        p.append("times out of order")
    # the durations are the times' differences (one decimal)
    ring_t = (an if an is not None else en) - st
    talk_t = (en - an) if an is not None else 0.0
    if not _near(act.get("ring_s"), ring_t, 0.11):
        p.append(f"ring_s={act.get('ring_s')} but answered/ended - started = {ring_t:.2f}")
    if not _near(act.get("talk_s"), talk_t, 0.11):
        p.append(f"talk_s={act.get('talk_s')} but ended - answered = {talk_t:.2f}")
    if not (0 <= float(act.get("hold_s") or 0) <= float(act.get("talk_s") or 0) + 0.11):
        p.append(f"hold_s={act.get('hold_s')} exceeds talk_s={act.get('talk_s')}")
    total = None
    if isinstance(act.get("ring_s"), (int, float)) and isinstance(act.get("talk_s"), (int, float)):
        total = round(act["ring_s"] + act["talk_s"], 1)
    for name, want in (("ring_s", exp.ring), ("talk_s", exp.talk), ("hold_s", exp.hold),
                       ("ring_s+talk_s", exp.total)):
        if want is None:
            continue
        opts = [want, *exp.accept.get(name, [])]
        got = total if name == "ring_s+talk_s" else act.get(name)
        wins = [_window(float(w), exp.tol) for w in opts]
        if not (isinstance(got, (int, float)) and any(lo - 1e-9 <= got <= hi + 1e-9 for lo, hi in wins)):
            p.append(f"{name}={got}, want " + " or ".join(f"{lo:.2f}..{hi:.2f}" for lo, hi in wins))
    return p


def compare_journal(expected, actual, window):
    """Pairs expected and actual entries by (party, direction, remote) - falling back to the party
    alone so a wrong remote is reported as WRONG, not MISSING+EXTRA. Returns (ok, report lines)."""
    left = list(actual)
    report, ok = [], True
    # entries with a fully matching key first, so fallbacks do not steal them
    order = sorted(expected, key=lambda e: not any(_key(a) == e.key() for a in actual))
    for exp in order:
        pool = [a for a in left if str(a.get("party")) == exp.f["party"]]
        if not pool:
            ok = False
            report.append(f"MISSING {exp.key()} {exp.f['disposition']}")
            continue
        best = min(pool, key=lambda a: (a.get("direction") not in exp.options("direction"),
                                        a.get("remote") not in exp.options("remote"),
                                        a.get("disposition") not in exp.options("disposition"),
                                        a.get("id", 0)))
        left.remove(best)
        problems = check_entry(exp, best, window)
        if problems:
            ok = False
            report.append(f"WRONG   {exp.key()}: " + "; ".join(problems) + f"\n        actual: {_brief(best)}")
        else:
            report.append(f"ok      {exp.key()} {best.get('disposition')} ring {best.get('ring_s')} "
                          f"talk {best.get('talk_s')} hold {best.get('hold_s')}")
    for extra in left:
        ok = False
        report.append(f"EXTRA   {_key(extra)} {_brief(extra)}")
    return ok, report


def _key(a):
    return (str(a.get("party")), a.get("direction"), a.get("remote"))


def _brief(a):
    keys = ("party", "direction", "remote", "disposition", "started_at", "answered_at", "ended_at",
            "ring_s", "talk_s", "hold_s", "transferred_to", "transferred_from", "call_id")
    return {k: a.get(k) for k in keys}


# ---------------------------------------------------------------- CDR
def chan_party(channel):
    """'PJSIP/100-0000001a' -> '100', 'PJSIP/trunk-...' -> 'trunk', 'Local/101@rg-member-..;1' ->
    'Local', '' -> None."""
    if not channel:
        return None
    tech, _, rest = channel.partition("/")
    if tech == "PJSIP":
        return rest.rsplit("-", 1)[0]
    return tech


class Cdr:
    """One expected CDR row: source and destination channel parties ('trunk', '100', None for no
    destination channel), disposition (a tuple: any of them, where Asterisk varies by run), and which journal entry's talk_s its billsec must agree
    with (party[, remote]) - or billsec=N exactly, or neither (then not checked; say why in
    docs/testing.md)."""

    def __init__(self, src, dst, disposition, talk_of=None, billsec=None, offset=0.0, tol=1.0, why=None,
                 optional=False):
        self.src, self.dst, self.disposition = src, dst, disposition
        self.optional = optional  # Asterisk writes this row in some runs only
        self.talk_of, self.billsec, self.tol, self.why = talk_of, billsec, tol, why
        self.offset = offset  # billsec = talk_s + offset (a row that bills ringing too)

    def __repr__(self):
        return f"Cdr({self.src}->{self.dst} {self.disposition})"


def compare_cdr(expected, rows, journal):
    left = list(rows)
    report, ok = [], True
    for exp in expected:
        dispositions = exp.disposition if isinstance(exp.disposition, tuple) else (exp.disposition,)
        match = [r for r in left if chan_party(r["channel"]) == exp.src
                 and chan_party(r["dstchannel"]) == exp.dst and r["disposition"] in dispositions]
        if not match:
            if exp.optional:
                report.append(f"cdr ok  {exp} (optional, not written this time)")
                continue
            ok = False
            report.append(f"CDR MISSING {exp}")
            continue
        row = match[0]
        left.remove(row)
        want = exp.billsec
        if exp.talk_of is not None:
            party, *remote = exp.talk_of if isinstance(exp.talk_of, tuple) else (exp.talk_of,)
            es = [e for e in journal if str(e.get("party")) == party
                  and (not remote or e.get("remote") == remote[0])]
            if len(es) != 1:
                ok = False
                report.append(f"CDR {exp}: no single journal entry for {exp.talk_of}")
                continue
            want = float(es[0]["talk_s"]) + exp.offset
        if want is not None:
            # billsec is whole seconds, truncated (cdr.c without initiatedseconds)
            if not (want - exp.tol - 1.0 <= row["billsec"] <= want + exp.tol):
                ok = False
                report.append(f"CDR WRONG {exp}: billsec {row['billsec']} vs talk_s {want} (±{exp.tol}s, truncated)")
                continue
        report.append(f"cdr ok  {exp} billsec {row['billsec']}" + (f" vs talk_s {want}" if want is not None else ""))
    for r in left:
        ok = False
        report.append(f"CDR EXTRA {chan_party(r['channel'])}->{chan_party(r['dstchannel'])} "
                      f"{r['disposition']} billsec {r['billsec']} ({r['channel']} -> {r['dstchannel']}, {r['lastapp']})")
    return ok, report


# ---------------------------------------------------------------- WebSocket
def subsequence(want, got):
    """True when want appears in got in order (other items may come between); a tuple in want
    accepts any of its members."""
    it = iter(got)
    return all(any(g in w if isinstance(w, tuple) else w == g for g in it) for w in want)


def collapse(seq):
    out = []
    for s in seq:
        if not out or out[-1] != s:
            out.append(s)
    return out


def compare_events(messages, call_events, line_states, journal):
    """call_events: device -> CSTA event names that must come in this order; line_states:
    device -> line states in order (repeats collapsed). Every journal entry must have been pushed
    as a `journal` message (same id), after the party's last call event."""
    report, ok = [], True
    for dev, want in call_events.items():
        got = [m["event"] for m in messages if m.get("type") == "call" and m.get("device") == dev]
        if subsequence(want, got):
            report.append(f"events ok {dev}: {' '.join('|'.join(w) if isinstance(w, tuple) else w for w in want)}")
        else:
            ok = False
            report.append(f"EVENTS  {dev}: want {want} in order, got {got}")
    for dev, want in line_states.items():
        got = collapse([m["state"] for m in messages if m.get("type") == "line" and m.get("device") == dev])
        if subsequence(want, got):
            report.append(f"lines ok  {dev}: {' '.join(want)}")
        else:
            ok = False
            report.append(f"LINES   {dev}: want {want} in order, got {got}")
    for e in journal:
        idx = [i for i, m in enumerate(messages) if m.get("type") == "journal" and m["entry"].get("id") == e["id"]]
        if len(idx) != 1:
            ok = False
            report.append(f"WS JOURNAL entry {e['id']} ({e['party']}) pushed {len(idx)} times")
            continue
        ends = [i for i, m in enumerate(messages[:idx[0]]) if m.get("type") == "call"
                and m.get("device") == str(e["party"])
                and m.get("event") in ("connectionCleared", "transferred", "failed")]
        if not ends:
            ok = False
            report.append(f"WS JOURNAL entry {e['id']} ({e['party']}) came before the party's call ended")
        pushed = messages[idx[0]]["entry"]
        diff = [k for k in ("party", "direction", "remote", "disposition", "talk_s", "ring_s", "hold_s",
                            "transferred_to", "transferred_from") if pushed.get(k) != e.get(k)]
        if diff:
            ok = False
            report.append(f"WS JOURNAL entry {e['id']} differs from GET /journal in {diff}")
    seqs = [m["seq"] for m in messages]
    if seqs != sorted(seqs):
        ok = False
        report.append("WS seq numbers not increasing")
    return ok, report
