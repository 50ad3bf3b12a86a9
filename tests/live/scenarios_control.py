# Live scenarios, group "control": call control through the REST API (click-to-dial, hang-up,
# blind and attended transfer) and from the phone (hold/retrieve by re-INVITE, blind transfer by
# REFER). Conventions: scenarios_basic.py, docs/testing.md.
from livetest import sipua
from livetest.scenario import Cdr, Entry, ScenarioFailed, scenario

RING = 1.0
CARRIER_RING = 1.0  # lab.sh carrier: the carrier UAS answers after 1 s


@scenario("control")
def click_to_dial_answered(t):
    # POST /calls rings the user's own phone first (Originate); it answers after 2 s
    # (uas_answer_hangup), then Asterisk dials the destination; the phone hangs up 3.5 s after
    # its answer, i.e. 2.5 s after the carrier answered
    t.phone("100", "uas_answer_hangup.xml", calls=1, ring_ms=3500)
    x = t.caller()
    ans = t.d.post("/api/v1/calls", {"to": "0" + x[3:], "from": "100"})
    # while the own phone rings the connection is "initiated" (CSTA: the call is being made)
    t.connection("100", "initiated")
    t.connection("100", "connected", remote=x)
    t.command_done(ans)
    # the own phone's timer (ring 2 s, then 3.5 s until its BYE) governs ring + talk; a late
    # carrier moves time from talk to ring
    t.finish([Entry("100", "outbound", x, "answered", ring=2.0 + CARRIER_RING, total=5.5)],
             # the CDR answer is the own phone's pickup: billsec includes the carrier's ring
             [Cdr("100", "trunk", "ANSWERED", talk_of="100", offset=CARRIER_RING)],
             events={"100": ["originated", "delivered", "established", "connectionCleared"]},
             lines={"100": ["busy", "idle"]})


@scenario("control")
def click_to_dial_not_answered(t):
    # the own phone rings and is never picked up; the user gives up (hang-up through the API
    # while it rings): the entry names the requested destination
    t.phone("101", "uas_noanswer.xml", calls=1)
    x = t.caller()
    ans = t.d.post("/api/v1/calls", {"to": "0" + x[3:], "from": "101"})
    call = t.connection("101", "initiated")
    t.line("101", "busy")
    rel = t.api("hangup", call, device="101")
    t.command_done(rel)
    t.wait(lambda: t.d.get(f"/api/v1/commands/{ans['command_id']}")["state"] == "failed",
           "the make-call command failed (the own phone never answered)")
    t.finish([Entry("101", "outbound", x, "no_answer", talk=0.0)],
             [Cdr("101", None, "NO ANSWER", billsec=0)],
             events={"101": ["originated", "connectionCleared"]},
             lines={"101": ["busy", "idle"]})


@scenario("control")
def hangup_via_api(t):
    x = t.caller()
    t.trunk_call("+4930555102", x, scenario="trunk_call_waitbye.xml")
    call = t.connection("102", "connected", remote=x)
    t.command_done(t.api("hangup", call, device="102"))
    t.finish([Entry("102", "inbound", x, "answered", ring=RING)],
             [Cdr("trunk", "102", "ANSWERED", talk_of="102")],
             events={"102": ["delivered", "established", "connectionCleared"]},
             lines={"102": ["ringing", "busy", "idle"]})


@scenario("control")
def hold_retrieve_phone(t):
    # uas_hold_short (tests/live/sipp): ring 1 s, answer, talk 1 s, hold (re-INVITE a=sendonly)
    # 2 s, resume, talk 1 s, BYE
    t.phone("103", "uas_hold_short.xml", calls=1)
    x = t.caller()
    t.trunk_call("+4930555103", x, scenario="trunk_call_waitbye.xml")
    t.connection("103", "connected", remote=x)
    t.connection("103", "held", remote=x)
    t.line("103", "held")
    t.connection("103", "connected", remote=x)
    t.finish([Entry("103", "inbound", x, "answered", ring=1.0, talk=4.0, hold=2.0)],
             [Cdr("trunk", "103", "ANSWERED", talk_of="103")],
             events={"103": ["delivered", "established", "held", "retrieved", "connectionCleared"]},
             lines={"103": ["ringing", "busy", "held", "busy", "idle"]})


@scenario("control")
def blind_transfer_api(t):
    x = t.caller()
    t.trunk_call("+4930555101", x, talk_ms=4000)
    call = t.connection("101", "connected", remote=x)
    t.command_done(t.api("transfer", call, device="101", to="102"))
    t.connection("102", "alerting", remote=x)
    t.connection("102", "connected", remote=x)
    t.finish([Entry("101", "inbound", x, "answered", ring=RING, transferred_to="102"),
              Entry("102", "inbound", x, "answered", ring=RING, transferred_from="101")],
             [Cdr("trunk", "101", "ANSWERED", talk_of="101"),
              # the transferred caller's second row starts answered: it bills 102's ringing too
              Cdr("trunk", "102", "ANSWERED", talk_of="102", offset=RING)],
             # the transferring party's last event is "transferred"
             events={"101": ["delivered", "established", "transferred"],
                     "102": ["delivered", "established", "connectionCleared"]},
             lines={"101": ["ringing", "busy", "idle"], "102": ["ringing", "busy", "idle"]})


@scenario("control")
def blind_transfer_phone_refer(t):
    # uas_refer_short (tests/live/sipp): ring 1 s, answer, talk 1.5 s, REFER to 104, hang up
    # after the NOTIFYs
    t.phone("103", "uas_refer_short.xml", calls=1, extra=("-key", "target", "104"))
    x = t.caller()
    t.trunk_call("+4930555103", x, talk_ms=4500)
    t.connection("103", "connected", remote=x)
    t.connection("104", "connected", remote=x)
    t.finish([Entry("103", "inbound", x, "answered", ring=1.0, talk=1.5, transferred_to="104"),
              Entry("104", "inbound", x, "answered", ring=RING, transferred_from="103")],
             [Cdr("trunk", "103", "ANSWERED", talk_of="103"),
              Cdr("trunk", "104", "ANSWERED", talk_of="104", offset=RING)],
             events={"103": ["delivered", "established", "transferred"],
                     "104": ["delivered", "established", "connectionCleared"]},
             lines={"103": ["ringing", "busy", "idle"], "104": ["ringing", "busy", "idle"]})


@scenario("control")
def attended_transfer_api(t):
    # 100 talks to the caller, consults 102 (Atxfer: the caller hears MOH), 102 answers, 100
    # completes the transfer (its hang-up; atxferdropcall=no); caller and 102 talk until the
    # caller hangs up (7 s after 100 answered)
    x = t.caller()
    t.trunk_call("+4930555100", x, talk_ms=7000)
    call = t.connection("100", "connected", remote=x)
    t.command_done(t.api("consult", call, device="100", to="102"))
    consult = t.connection("102", "connected", remote="100")
    t.connection("100", "connected", remote="102")
    t.command_done(t.api("transfer", consult, device="100"))
    t.connection("102", "connected", remote=x)
    t.finish([Entry("100", "inbound", x, "answered", ring=RING, hold=None, transferred_to="102"),
              Entry("100", "internal", "102", "answered", ring=RING),
              Entry("102", "internal", "100", "answered", ring=RING),
              Entry("102", "inbound", x, "answered", ring=0.0, transferred_from="100")],
             [Cdr("trunk", "100", "ANSWERED", talk_of=("100", x)),
              Cdr("100", "Local", "ANSWERED"),
              Cdr("Local", "102", "ANSWERED"),
              Cdr("Local", None, "ANSWERED"),
              Cdr("trunk", "Local", "ANSWERED"),
              Cdr("trunk", "102", "ANSWERED", talk_of=("102", x)),
              Cdr("102", None, "ANSWERED", optional=True)],
             events={"100": ["delivered", "established", "connectionCleared"],
                     "102": ["delivered", "established", "connectionCleared"]},
             lines={"100": ["ringing", "busy", "idle"], "102": ["ringing", "busy", "idle"]})


@scenario("control")
def consult_cancel_api(t):
    # 100 talks to the caller, consults 102 (Atxfer: the caller hears MOH), 102 answers, then 100
    # cancels the consultation (POST hangup of the consultation call, the web client's Cancel):
    # callbridge hangs up the consultation's target side, not 100's channel (that would complete
    # the transfer, atxferdropcall=no), and Asterisk returns 100 to the caller; they talk until
    # the caller hangs up (10 s after 100 answered). No transfer in the journal.
    x = t.caller()
    t.trunk_call("+4930555100", x, talk_ms=10000)
    call = t.connection("100", "connected", remote=x)
    t.command_done(t.api("consult", call, device="100", to="102"))
    consult = t.connection("102", "connected", remote="100")
    t.connection("100", "connected", remote="102")
    t.command_done(t.api("hangup", consult, device="100"))
    back = t.connection("100", "connected", remote=x)
    if back["id"] != call["id"]:
        raise ScenarioFailed(f"100 is back in call {back['id']}, not the held {call['id']}")
    t.wait(lambda: not any(c["id"] == consult["id"] for c in t.d.calls()), "the consultation call ended")
    t.finish([Entry("100", "inbound", x, "answered", ring=RING, hold=None),
              Entry("100", "internal", "102", "answered", ring=RING),
              Entry("102", "internal", "100", "answered", ring=RING)],
             [Cdr("trunk", "100", "ANSWERED", talk_of=("100", x)),
              Cdr("100", "Local", "ANSWERED", optional=True),
              Cdr("Local", "102", "ANSWERED", optional=True),
              Cdr("Local", None, "ANSWERED", optional=True),
              Cdr("102", None, "ANSWERED", optional=True),
              # 100's channel back with the caller after the consultation: its own row
              Cdr("100", None, "ANSWERED")],
             events={"100": ["delivered", "established", "connectionCleared"],
                     "102": ["delivered", "established", "connectionCleared"]},
             lines={"100": ["ringing", "busy", "idle"], "102": ["ringing", "busy", "idle"]})


@scenario("control")
def click_to_dial_rejected(t):
    # the own phone rings 1.5 s and declines (486): the user did not take the call they asked for
    t.phone("104", "uas_reject.xml", calls=1, ring_ms=1500)
    x = t.caller()
    ans = t.d.post("/api/v1/calls", {"to": "0" + x[3:], "from": "104"})
    t.connection("104", "initiated")
    t.wait(lambda: t.d.get(f"/api/v1/commands/{ans['command_id']}")["state"] == "failed",
           "the make-call command failed (the own phone declined)")
    t.finish([Entry("104", "outbound", x, "no_answer", ring=1.5, talk=0.0)],
             [Cdr("104", None, "BUSY", billsec=0)],
             # CSTA "failed" (the call could not be made) or a plain clearing
             events={"104": ["originated", ("failed", "connectionCleared")]},
             lines={"104": ["busy", "idle"]})


@scenario("control")
def attended_transfer_phone_refer(t):
    """What desk phones do: 100 (a scripted SIP phone, livetest/sipua.py) answers a caller, holds
    it (re-INVITE sendonly), calls 102 (digest auth), and after 1.5 s of consultation sends REFER
    on the held call with Replaces of the consultation; the caller and 102 talk until the caller
    hangs up."""
    t.lab.release_phone("100")
    th, res = sipua.attended_transfer("100", "102", "pw100", ring_s=1.0, talk_s=1.5, consult_s=1.5,
                                      log_path=str(t.lab.log / "live-sipua-100.log"))
    x = t.caller()
    t.trunk_call("+4930555100", x, talk_ms=8000)
    t.connection("100", "held", remote=x)
    t.connection("102", "connected", remote="100")
    t.connection("102", "connected", remote=x)
    th.join(30)
    if res["error"]:
        raise res["error"]
    # 100 holds the caller from 0.5 s before the consultation call (ring 1 s, talk 1.5 s) until
    # the transfer: hold 3 s
    t.finish([Entry("100", "inbound", x, "answered", ring=RING, hold=3.0, transferred_to="102"),
              Entry("100", "internal", "102", "answered", ring=RING, talk=1.5),
              Entry("102", "internal", "100", "answered", ring=RING, talk=1.5),
              Entry("102", "inbound", x, "answered", ring=0.0, transferred_from="100")],
             [Cdr("trunk", "100", "ANSWERED", talk_of=("100", x)),
              Cdr("100", "102", "ANSWERED", talk_of=("100", "102")),
              Cdr("trunk", "102", "ANSWERED", talk_of=("102", x))],
             events={"100": ["delivered", "established", "held", "transferred"],
                     "102": ["delivered", "established", "transferred", "connectionCleared"]},
             lines={"100": ["ringing", "busy", "held", "idle"], "102": ["ringing", "busy", "idle"]})


@scenario("control")
def blind_transfer_api_to_external(t):
    """101 answers a caller and transfers it (API, blind) to an external number, which the
    carrier answers after 1 s: 101's entry says transferred_to = that number in E.164; the
    external target has no entry (no internal party)."""
    x, y = t.caller(), t.caller()
    t.trunk_call("+4930555101", x, talk_ms=4000)
    call = t.connection("101", "connected", remote=x)
    t.command_done(t.api("transfer", call, device="101", to="0" + y[3:]))
    t.finish([Entry("101", "inbound", x, "answered", ring=RING, transferred_to=y)],
             [Cdr("trunk", "101", "ANSWERED", talk_of="101"),
              Cdr("trunk", "trunk", "ANSWERED")],
             events={"101": ["delivered", "established", "transferred"]},
             lines={"101": ["ringing", "busy", "idle"]})
