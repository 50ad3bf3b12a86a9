# Live scenarios, group "basic": inbound (answered, missed, caller gives up at once, busy,
# withheld), outbound via the carrier, internal. Each drives real SIP calls through the lab and
# states what must be true (tests/live/livetest/check.py judges; docs/testing.md explains).
from livetest.scenario import Cdr, Entry, scenario

RING = 1.0   # the phones' UAS ring time (lab.sh phones, RING_MS)
TALK = 1.5   # talk time the calling side keeps (-d)


@scenario("basic")
def inbound_answered(t):
    """The carrier calls DID +4930555101; 101 rings 1 s, answers; the caller hangs up after 1.5 s."""
    x = t.caller()
    t.trunk_call("+4930555101", x, talk_ms=int(TALK * 1000))
    t.connection("101", "alerting", remote=x)
    t.line("101", "ringing")
    t.connection("101", "connected", remote=x)
    t.line("101", "busy")
    t.finish([Entry("101", "inbound", x, "answered", ring=RING, talk=TALK)],
             [Cdr("trunk", "101", "ANSWERED", talk_of="101")],
             events={"101": ["delivered", "established", "connectionCleared"]},
             lines={"101": ["ringing", "busy", "idle"]})


@scenario("basic")
def inbound_missed(t):
    """DID +4930555102: 102 rings and is never answered; the caller gives up after 2.5 s."""
    t.phone("102", "uas_noanswer.xml", calls=1)
    x = t.caller()
    t.trunk_call("+4930555102", x, scenario="trunk_cancel.xml", talk_ms=2500)
    t.connection("102", "alerting", remote=x)
    t.line("102", "ringing")
    t.finish([Entry("102", "inbound", x, "missed", ring=2.5, talk=0.0)],
             [Cdr("trunk", "102", "NO ANSWER", billsec=0)],
             events={"102": ["delivered", "connectionCleared"]},
             lines={"102": ["ringing", "idle"]})


@scenario("basic")
def inbound_caller_hangs_up_while_ringing(t):
    """DID +4930555103: the caller sends CANCEL right after the first 180 (the race of CANCEL
    against the DialBegin/Ringing events): missed, ring ~0 s."""
    t.phone("103", "uas_noanswer.xml", calls=1)
    x = t.caller()
    t.trunk_call("+4930555103", x, scenario="trunk_cancel.xml", talk_ms=0)
    t.finish([Entry("103", "inbound", x, "missed", ring=0.0, talk=0.0, tol=1.0)],
             [Cdr("trunk", "103", "NO ANSWER", billsec=0)],
             events={"103": ["delivered", "connectionCleared"]},
             lines={"103": ["ringing", "idle"]})


@scenario("basic")
def inbound_busy(t):
    """DID +4930555104: 104 rings 1 s, then declines with 486 Busy Here; Asterisk answers the
    carrier 486 (Hangup(17)): rejected."""
    t.phone("104", "uas_reject.xml", calls=1, ring_ms=1000)
    x = t.caller()
    t.trunk_call("+4930555104", x, scenario="trunk_busy.xml")
    t.connection("104", "alerting", remote=x)
    t.finish([Entry("104", "inbound", x, "rejected", ring=1.0, talk=0.0)],
             [Cdr("trunk", "104", "BUSY", billsec=0),
              # Hangup(17) after Dial leaves a second row for the trunk channel alone
              Cdr("trunk", None, "BUSY", billsec=0)],
             events={"104": ["delivered", "connectionCleared"]},
             lines={"104": ["ringing", "idle"]})


@scenario("basic")
def inbound_withheld(t):
    """DID +4930555105 from a withheld number (From anonymous, Privacy: id): remote null,
    remote_withheld true."""
    t.trunk_call("+4930555105", None, scenario="trunk_call_anon.xml", talk_ms=int(TALK * 1000))
    t.connection("105", "alerting", remote=None)
    t.connection("105", "connected", remote=None)
    t.finish([Entry("105", "inbound", None, "answered", ring=RING, talk=TALK, withheld=True)],
             [Cdr("trunk", "105", "ANSWERED", talk_of="105")],
             events={"105": ["delivered", "established", "connectionCleared"]},
             lines={"105": ["ringing", "busy", "idle"]})


@scenario("basic")
def outbound_carrier(t):
    """100 dials a national number (as users dial); the carrier answers after 1 s; the journal
    shows E.164."""
    x = t.caller()
    national = "0" + x[3:]
    t.phone_call("100", national, talk_ms=int(TALK * 1000))
    t.connection("100", "connected", remote=x)
    t.line("100", "busy")
    t.finish([Entry("100", "outbound", x, "answered", ring=RING, talk=TALK)],
             [Cdr("100", "trunk", "ANSWERED", talk_of="100")],
             events={"100": ["originated", "established", "connectionCleared"]},
             lines={"100": ["busy", "idle"]})


@scenario("basic")
def internal_call(t):
    """100 calls 102: one internal entry for each."""
    t.phone_call("100", "102", talk_ms=int(TALK * 1000))
    t.connection("102", "alerting", remote="100")
    t.line("102", "ringing")
    t.connection("102", "connected", remote="100")
    t.connection("100", "connected", remote="102")
    t.finish([Entry("100", "internal", "102", "answered", ring=RING, talk=TALK),
              Entry("102", "internal", "100", "answered", ring=RING, talk=TALK)],
             [Cdr("100", "102", "ANSWERED", talk_of="100")],
             events={"100": ["originated", "established", "connectionCleared"],
                     "102": ["delivered", "established", "connectionCleared"]},
             lines={"100": ["busy", "idle"], "102": ["ringing", "busy", "idle"]})


@scenario("basic")
def outbound_busy(t):
    """The carrier answers 486 Busy Here after 0.5 s (no ringing): the caller's entry is busy."""
    t.phone("carrier", "uas_busy.xml", calls=1, ring_ms=500)
    x = t.caller()
    t.phone_call("101", "0" + x[3:], scenario="phone_call_busy.xml")
    t.finish([Entry("101", "outbound", x, "busy", ring=0.5, talk=0.0)],
             [Cdr("101", "trunk", "BUSY", billsec=0),
              # Hangup(17) after Dial: a second row for the phone's channel alone
              Cdr("101", None, "BUSY", billsec=0, optional=True)],
             events={"101": ["originated", ("failed", "connectionCleared")]},
             lines={"101": ["busy", "idle"]})


@scenario("basic")
def outbound_no_answer(t):
    """The destination rings and never answers; the caller gives up after 2 s (CANCEL)."""
    t.phone("carrier", "uas_noanswer.xml", calls=1)
    x = t.caller()
    t.phone_call("102", "0" + x[3:], scenario="phone_cancel.xml", talk_ms=2000)
    t.connection("102", "initiated", remote=x)
    t.finish([Entry("102", "outbound", x, "no_answer", ring=2.0, talk=0.0)],
             [Cdr("102", "trunk", "NO ANSWER", billsec=0)],
             events={"102": ["originated", "connectionCleared"]},
             lines={"102": ["busy", "idle"]})
