# Live scenarios, group "services": the PBX features of the lab's dialplan - conference 800,
# queue `support` (+4930555000) answered and abandoned, ring group 200 through Local channels,
# directed pickup *8<ext> and through the API/CLI (PickupChan), park 700 and retrieve 701, follow-me 300 ringing out to a mobile.
# Conventions: scenarios_basic.py, docs/testing.md.
import os
import subprocess

from livetest.scenario import Cdr, Entry, ScenarioFailed, scenario

RING = 1.0


@scenario("services")
def conference(t):
    """100 and 101 dial the conference room 800, then an external caller joins through the DID;
    each leaves after its talk time. Each internal party gets one entry, remote 800; the external
    participant has none."""
    t.phone_call("100", "800", talk_ms=6000)
    t.connection("100", "connected", remote="800")
    t.phone_call("101", "800", talk_ms=4000)
    t.connection("101", "connected", remote="800")
    x = t.caller()
    t.trunk_call("+4930555800", x, talk_ms=2000)
    t.finish([Entry("100", "internal", "800", "answered", ring=None, talk=None),
              Entry("101", "internal", "800", "answered", ring=None, talk=None)],
             # ConfBridge CDRs are pairwise (who shared the room with whom), no journal analogue
             [Cdr("100", "101", "ANSWERED"), Cdr("100", "trunk", "ANSWERED"),
              Cdr("101", "trunk", "ANSWERED"), Cdr("trunk", None, "ANSWERED")],
             events={"100": ["originated", "established", "connectionCleared"],
                     "101": ["originated", "established", "connectionCleared"]},
             lines={"100": ["busy", "idle"], "101": ["busy", "idle"]})


@scenario("services")
def queue_answered(t):
    """The main number goes to queue support (ringall 101, 102); 101 answers after 1 s, 102 keeps
    ringing: 101 answered, 102 answered_elsewhere."""
    t.phone("102", "uas_noanswer.xml", calls=1)
    x = t.caller()
    t.trunk_call("+4930555000", x, talk_ms=2000)
    t.connection("102", "alerting", remote=x)
    t.connection("101", "connected", remote=x)
    t.finish([Entry("101", "inbound", x, "answered", ring=RING, talk=None),
              Entry("102", "inbound", x, "answered_elsewhere", ring=RING, talk=0.0)],
             [Cdr("trunk", "101", "ANSWERED", talk_of="101"),
              Cdr("trunk", "102", "NO ANSWER", billsec=0)],
             events={"101": ["delivered", "established", "connectionCleared"],
                     "102": ["delivered", "connectionCleared"]},
             lines={"101": ["ringing", "busy", "idle"], "102": ["ringing", "idle"]})


@scenario("services")
def queue_abandoned(t):
    """The caller waits in queue support while 101 and 102 ring, and gives up after 2.5 s:
    missed for both."""
    t.phone("101", "uas_noanswer.xml", calls=1)
    t.phone("102", "uas_noanswer.xml", calls=1)
    x = t.caller()
    t.trunk_call("+4930555000", x, scenario="trunk_cancel_noring.xml", talk_ms=2500)
    t.connection("101", "alerting", remote=x)
    t.connection("102", "alerting", remote=x)
    t.finish([Entry("101", "inbound", x, "missed", ring=None, talk=0.0),
              Entry("102", "inbound", x, "missed", ring=None, talk=0.0)],
             [Cdr("trunk", "101", "NO ANSWER", billsec=0),
              Cdr("trunk", "102", "NO ANSWER", billsec=0)],
             events={"101": ["delivered", "connectionCleared"], "102": ["delivered", "connectionCleared"]},
             lines={"101": ["ringing", "idle"], "102": ["ringing", "idle"]})


@scenario("services")
def ring_group(t):
    """Ring group 200 dials Local/101@rg-member and Local/102@rg-member; 101 answers, 102 keeps
    ringing. The Local channels are invisible in the journal."""
    t.phone("102", "uas_noanswer.xml", calls=1)
    x = t.caller()
    t.trunk_call("+4930555200", x, talk_ms=2000)
    t.connection("102", "alerting", remote=x)
    t.connection("101", "connected", remote=x)
    t.finish([Entry("101", "inbound", x, "answered", ring=RING, talk=2.0),
              Entry("102", "inbound", x, "answered_elsewhere", ring=RING, talk=0.0)],
             [Cdr("trunk", "Local", "ANSWERED"), Cdr("trunk", "Local", "NO ANSWER"),
              Cdr("Local", "101", "ANSWERED"), Cdr("Local", "102", "NO ANSWER")],
             events={"101": ["delivered", "established", "connectionCleared"],
                     "102": ["delivered", "connectionCleared"]},
             lines={"101": ["ringing", "busy", "idle"], "102": ["ringing", "idle"]})


@scenario("services")
def directed_pickup(t):
    """A caller rings 103 (never answers); 104 dials *8103 and takes the call: 103
    answered_elsewhere, 104 an inbound entry with the caller from the pickup on."""
    t.phone("103", "uas_noanswer.xml", calls=1)
    x = t.caller()
    t.trunk_call("+4930555103", x, scenario="trunk_call_waitbye.xml")
    t.connection("103", "alerting", remote=x)
    t.phone_call("104", "*8103", talk_ms=2000)  # _*81XX: *8 + the extension
    t.connection("104", "connected", remote=x)
    t.finish([Entry("103", "inbound", x, "answered_elsewhere", talk=0.0),
              Entry("104", "inbound", x, "answered", ring=0.0, talk=2.0)],
             # the caller's row to 103 is ANSWERED (billsec 0) or NO ANSWER - Asterisk varies from
             # run to run; 103's own dial leg is a NO ANSWER row; the talk is billed as caller -> 104
             [Cdr("trunk", "103", ("ANSWERED", "NO ANSWER"), billsec=0),
              Cdr("103", None, "NO ANSWER", billsec=0),
              Cdr("trunk", "104", "ANSWERED", talk_of="104")],
             # the picker dials *8103 (originated, cleared), then the caller is handed to it
             events={"103": ["delivered", "connectionCleared"],
                     "104": ["originated", "transferred", "connectionCleared"]},
             lines={"103": ["ringing", "idle"], "104": ["busy", "idle"]})


@scenario("services")
def pickup_via_api(t):
    """A caller rings 101 (never answers); 102 takes it through the API (POST
    /api/v1/calls/{id}/pickup: Originate of 102 into PickupChan of 101's ringing channel): 102's
    phone rings 2 s, answers, talks 2 s to the caller and hangs up. 101 answered_elsewhere, 102
    an inbound entry with the caller from the pickup on (as *8101 from the phone)."""
    t.phone("101", "uas_noanswer.xml", calls=1)
    t.phone("102", "uas_answer_hangup.xml", calls=1, ring_ms=2000)
    x = t.caller()
    t.trunk_call("+4930555101", x, scenario="trunk_call_waitbye.xml")
    call = t.connection("101", "alerting", remote=x)
    t.command_done(t.api("pickup", call, device="102"))
    t.connection("102", "connected", remote=x)
    t.finish([Entry("101", "inbound", x, "answered_elsewhere", talk=0.0),
              Entry("102", "inbound", x, "answered", ring=0.0, talk=2.0)],
             [Cdr("trunk", "101", ("ANSWERED", "NO ANSWER"), billsec=0),
              Cdr("101", None, "NO ANSWER", billsec=0),
              Cdr("trunk", "102", "ANSWERED", talk_of="102")],
             events={"101": ["delivered", "connectionCleared"],
                     "102": ["originated", "transferred", "connectionCleared"]},
             lines={"101": ["ringing", "idle"], "102": ["busy", "idle"]})


@scenario("services")
def pickup_via_line(t):
    """As pickup_via_api, but addressed as the presence page does: POST
    /api/v1/lines/101/pickup (the server finds the call ringing at 101)."""
    t.phone("101", "uas_noanswer.xml", calls=1)
    t.phone("102", "uas_answer_hangup.xml", calls=1, ring_ms=2000)
    x = t.caller()
    t.trunk_call("+4930555101", x, scenario="trunk_call_waitbye.xml")
    call = t.connection("101", "alerting", remote=x)
    ans = t.d.post("/api/v1/lines/101/pickup", {"device": "102"})
    if ans.get("call_id") != call["id"]:
        raise ScenarioFailed(f"the 202 names {ans.get('call_id')}, not the call ringing at 101 ({call['id']})")
    t.command_done(ans)
    t.connection("102", "connected", remote=x)
    t.finish([Entry("101", "inbound", x, "answered_elsewhere", talk=0.0),
              Entry("102", "inbound", x, "answered", ring=0.0, talk=2.0)],
             [Cdr("trunk", "101", ("ANSWERED", "NO ANSWER"), billsec=0),
              Cdr("101", None, "NO ANSWER", billsec=0),
              Cdr("trunk", "102", "ANSWERED", talk_of="102")],
             events={"101": ["delivered", "connectionCleared"],
                     "102": ["originated", "transferred", "connectionCleared"]},
             lines={"101": ["ringing", "idle"], "102": ["busy", "idle"]})


@scenario("services")
def pickup_via_cli(t):
    """`callbridge pickup CALL --device 102` (the CLI over the REST API): an unknown call is
    refused in words with a nonzero exit; the ringing one is picked up as in pickup_via_api."""
    env = dict(os.environ, CALLBRIDGE_URL=f"http://127.0.0.1:{t.d.port}", CALLBRIDGE_TOKEN=t.d.token)
    bad = subprocess.run([t.d.cli_bin, "pickup", "no-such-call", "--device", "102"], env=env,
                         capture_output=True, text=True, timeout=30)
    if bad.returncode == 0 or "no call no-such-call" not in bad.stderr:
        raise ScenarioFailed(f"pickup of an unknown call: rc {bad.returncode}, {bad.stderr!r}")
    t.phone("101", "uas_noanswer.xml", calls=1)
    t.phone("102", "uas_answer_hangup.xml", calls=1, ring_ms=2000)
    x = t.caller()
    t.trunk_call("+4930555101", x, scenario="trunk_call_waitbye.xml")
    call = t.connection("101", "alerting", remote=x)
    ok = subprocess.run([t.d.cli_bin, "pickup", call["id"], "--device", "102"], env=env,
                        capture_output=True, text=True, timeout=30)
    if ok.returncode != 0 or "pickup sent" not in ok.stdout or "picked up" not in ok.stdout:
        raise ScenarioFailed(f"callbridge pickup: rc {ok.returncode}, {ok.stdout!r} {ok.stderr!r}")
    t.connection("102", "connected", remote=x)
    t.finish([Entry("101", "inbound", x, "answered_elsewhere", talk=0.0),
              Entry("102", "inbound", x, "answered", ring=0.0, talk=2.0)],
             [Cdr("trunk", "101", ("ANSWERED", "NO ANSWER"), billsec=0),
              Cdr("101", None, "NO ANSWER", billsec=0),
              Cdr("trunk", "102", "ANSWERED", talk_of="102")],
             events={"101": ["delivered", "connectionCleared"],
                     "102": ["originated", "transferred", "connectionCleared"]},
             lines={"101": ["ringing", "idle"], "102": ["busy", "idle"]})


@scenario("services")
def pickup_too_late(t):
    """101 answers after 1 s while 102's phone (rung for the pickup) still rings: PickupChan
    finds no ringing channel, the caller stays with 101 and 102 gets no journal entry (its
    answered PickupChan leg is only Asterisk's CDR row). Asterisk accepted the Originate, but
    the command fails "Nothing to pick up" in words: 102's channel hung up without a Pickup
    event. The CLI says the same and exits 1."""
    env = dict(os.environ, CALLBRIDGE_URL=f"http://127.0.0.1:{t.d.port}", CALLBRIDGE_TOKEN=t.d.token)
    t.phone("101", "uas_answer.xml", calls=1, ring_ms=1000)
    t.phone("102", "uas_answer.xml", calls=1, ring_ms=2000)
    x = t.caller()
    t.trunk_call("+4930555101", x, talk_ms=3000)
    call = t.connection("101", "alerting", remote=x)
    cli = subprocess.run([t.d.cli_bin, "pickup", call["id"], "--device", "102", "--wait", "20"], env=env,
                         capture_output=True, text=True, timeout=30)
    if cli.returncode != 1 or "Nothing to pick up" not in cli.stderr or "pickup sent" not in cli.stdout:
        raise ScenarioFailed(f"callbridge pickup too late: rc {cli.returncode}, {cli.stdout!r} {cli.stderr!r}")
    t.connection("101", "connected", remote=x)
    t.finish([Entry("101", "inbound", x, "answered", ring=1.0, talk=3.0)],
             [Cdr("trunk", "101", "ANSWERED", talk_of="101"),
              Cdr("102", None, "ANSWERED", billsec=0)],
             lines={"101": ["ringing", "busy", "idle"]})


@scenario("services")
def park_and_retrieve(t):
    """101 answers a caller and parks it (blind transfer to 700 through the API: slot 701);
    102 dials 701 and talks to the caller. 101's entry ends at the park, transferred_to 701;
    102's entry has the caller, transferred_from 101."""
    x = t.caller()
    t.trunk_call("+4930555101", x, scenario="trunk_call_waitbye.xml")
    call = t.connection("101", "connected", remote=x)
    t.command_done(t.api("transfer", call, device="101", to="700"))
    t.wait(lambda: "701" in t.lab.cli("parking show default").split("Parked Calls", 1)[-1],
           "the caller parked on 701")
    t.phone_call("102", "701", talk_ms=2000)
    t.connection("102", "connected", remote=x)
    t.finish([Entry("101", "inbound", x, "answered", ring=RING, transferred_to="701"),
              Entry("102", "inbound", x, "answered", ring=0.0, talk=2.0, transferred_from="101")],
             # the caller -> 101 row ends at the park; the parked caller alone; 102's ParkedCall
             # leg alone; then the talk billed as caller -> 102
             [Cdr("trunk", "101", "ANSWERED", talk_of="101"),
              Cdr("trunk", None, "ANSWERED", billsec=0),
              Cdr("102", None, "ANSWERED", billsec=0),
              Cdr("trunk", "102", "ANSWERED", talk_of="102")],
             events={"101": ["delivered", "established", "transferred"],
                     "102": ["established", "connectionCleared"]},
             lines={"101": ["ringing", "busy", "idle"], "102": ["busy", "idle"]})


@scenario("services")
def follow_me_to_mobile(t):
    """+4930555300 rings 103 for 6 s (no answer), then the mobile +491701234567 through the
    carrier, which answers after 1 s: 103 answered_elsewhere; the trunk-to-trunk leg has no
    internal party and no entry."""
    t.phone("103", "uas_noanswer.xml", calls=1)
    x = t.caller()
    t.trunk_call("+4930555300", x, talk_ms=2000)
    t.connection("103", "alerting", remote=x)
    t.finish([Entry("103", "inbound", x, "answered_elsewhere", ring=6.0, talk=0.0)],
             [Cdr("trunk", "103", "NO ANSWER", billsec=0),
              Cdr("trunk", "trunk", "ANSWERED", billsec=2)],
             events={"103": ["delivered", "connectionCleared"]},
             lines={"103": ["ringing", "idle"]})


@scenario("services")
def park_via_api_and_unpark(t):
    """101 answers a caller and parks it through the API (POST /api/v1/calls/{id}/park: AMI Park of
    the caller's channel with 101's channel as TimeoutChannel): the command is done naming space
    701, GET /api/v1/parking lists 701 with the caller, parked by 101. 102 picks it up through the
    API (POST /api/v1/parking/701/pickup: Originate of 102 into ParkedCall(default,701)): 102's
    phone rings 2 s, answers, talks 2 s to the caller and hangs up; the parked list is empty again,
    and a second pickup of 701 is a 404 in words. The journal as park_and_retrieve's: 101's entry
    ends at the park, transferred_to 701; 102's has the caller, transferred_from 101."""
    t.phone("102", "uas_answer_hangup.xml", calls=1, ring_ms=2000)
    x = t.caller()
    t.trunk_call("+4930555101", x, scenario="trunk_call_waitbye.xml")
    call = t.connection("101", "connected", remote=x)
    if "park" not in call.get("allowed_actions", {}).get("101", []):
        raise ScenarioFailed(f"park not offered to 101: {call.get('allowed_actions')}")
    parked = t.command_done(t.api("park", call, device="101"))
    if parked.get("space") != "701":
        raise ScenarioFailed(f"park done without space 701: {parked}")
    lot = t.d.get("/api/v1/parking")
    slots = lot.get("parked", [])
    if (lot.get("lot") != "default" or len(slots) != 1 or slots[0].get("space") != "701"
            or slots[0].get("number") != x or slots[0].get("parked_by") != "101"):
        raise ScenarioFailed(f"GET /api/v1/parking after the park: {lot}")
    t.command_done(t.d.post("/api/v1/parking/701/pickup", {"device": "102"}))
    t.connection("102", "connected", remote=x)
    t.wait(lambda: not t.d.get("/api/v1/parking").get("parked"), "701 empty again")
    st, again = t.d.request("POST", "/api/v1/parking/701/pickup", {"device": "102"})
    if st != 404 or "Nothing is parked at 701" not in str(again):
        raise ScenarioFailed(f"second pickup of 701: {st} {again}")
    t.finish([Entry("101", "inbound", x, "answered", ring=RING, transferred_to="701"),
              Entry("102", "inbound", x, "answered", ring=0.0, talk=2.0, transferred_from="101")],
             # the caller -> 101 row ends at the park; the parked caller alone (billed for the time
             # it waited parked, which no journal entry has: 102's phone rang 2 s first); 102's
             # ParkedCall leg alone; then the talk billed as caller -> 102
             [Cdr("trunk", "101", "ANSWERED", talk_of="101"),
              Cdr("trunk", None, "ANSWERED", why="the time parked: no journal entry"),
              Cdr("102", None, "ANSWERED", billsec=0),
              Cdr("trunk", "102", "ANSWERED", talk_of="102")],
             # 102's phone is originated first, then established with the parked caller
             events={"101": ["delivered", "established", "transferred"],
                     "102": ["originated", "established", "connectionCleared"]},
             lines={"101": ["ringing", "busy", "idle"], "102": ["busy", "idle"]})
