# Live scenarios, group "anydevice" (issue 14): calls carried by a user's external device, the
# "mobile" +491701234567 behind the lab's carrier (which answers after 1 s). The journal names
# the user's extension as the party and the device that carried the call; presence shows the
# line busy while the mobile talks. Make call needs no dialplan of ours (callbridge's Originate
# marks the call: docs/call-control.md "AnyDevice"); follow-me uses the include, installed as the
# features group does (scenarios_features.py). Conventions: scenarios_basic.py, docs/testing.md.
import contextlib
import os
import subprocess
import time

from livetest.daemon import CONFIG
from livetest.scenario import GROUP_CONFIG, GROUP_TEARDOWN, Cdr, Entry, ScenarioFailed, scenario
from scenarios_faults import expect_estimated, restart_callbridged
from scenarios_features import MOBILE, put, ready, remove_include

CARRIER_RING = 1.0  # lab.sh carrier: the carrier UAS answers after 1 s
DEVICE = {"name": "mobile", "number": MOBILE, "private": True}

GROUP_TEARDOWN["anydevice"] = remove_include
# Channel accounting: at most 3 trunk channels for the tenant (an AnyDevice call to an external
# party takes 2, so a second one while it talks is refused).
GROUP_CONFIG["anydevice"] = CONFIG.replace('context = "from-internal"\n',
                                           'context = "from-internal"\nmax_trunk_channels = 3\n')


def use_mobile(t, path):
    """The mobile as active device of the user at `path` (/api/v1/me or /api/v1/users/NAME)."""
    st, out = t.d.request("PUT", f"{path}/devices/mobile", {"number": "0170 1234567"})
    if st not in (200, 201):
        raise ScenarioFailed(f"PUT {path}/devices/mobile: {st} {out}")
    st, out = t.d.request("PUT", f"{path}/devices/active", {"device": "mobile"})
    if st != 200:
        raise ScenarioFailed(f"choosing the mobile at {path}: {st} {out}")


@contextlib.contextmanager
def mobile_active(t, path="/api/v1/me"):
    """The mobile as the active device of the user at `path` for the block, none after it."""
    use_mobile(t, path)
    try:
        yield
    finally:
        t.d.request("PUT", f"{path}/devices/active", {"device": None})


@contextlib.contextmanager
def dan_follows_me(t):
    """dan (103): the include ready, his mobile active and follow-me on (parallel) for the block."""
    ready(t)
    with mobile_active(t, "/api/v1/users/dan"):
        try:
            s = put(t, "/api/v1/me/follow-me", "dan", {"enabled": True, "mode": "parallel"})
            if s["follow_me"]["number"] != MOBILE:
                raise ScenarioFailed(f"PUT follow-me: {s}")
            yield
        finally:
            t.d.request("DELETE", "/api/v1/me/follow-me?user=dan")


def follow_me_call(t, talk_ms):
    """An external caller dials 103 (desk phone not answering, the carrier answers as the mobile);
    returns the caller's number once 103 rings."""
    t.phone("103", "uas_noanswer.xml", calls=1)
    x = t.caller()
    t.trunk_call("+4930555103", x, talk_ms=talk_ms)
    t.connection("103", "alerting", remote=x)
    return x


@scenario("anydevice")
def make_call_from_mobile(t):
    """The harness's user has its mobile as active device and calls an external number from 103:
    the PBX rings the mobile first (Originate of Local/<mobile>@from-internal with
    CALLBRIDGE_PARTY=103), the carrier answers as the mobile after 1 s, then Asterisk dials the
    destination, which answers after 1 s; the Local pair is optimized away (mobile and destination
    bridged directly). Line 103 is busy from the first ring on; after 2 s of talk the user hangs
    up through the API (the mobile's channel). One entry: 103 outbound, answered, carried by the
    mobile."""
    with mobile_active(t):
        x = t.caller()
        ans = t.d.post("/api/v1/calls", {"to": "0" + x[3:], "from": "103"})
        t.connection("103", "initiated")
        t.line("103", "busy")
        call = t.connection("103", "connected", remote=x)
        t.command_done(ans)
        t.line("103", "busy")
        t0 = time.monotonic()
        # Channel accounting: the call occupies the mobile's and the destination's trunk channels.
        t.wait(lambda: (t.d.get(f"/api/v1/calls/{call['id']}").get("channels") == {"trunk": 2, "internal": 0}),
               "GET /calls/{id} channels {trunk 2, internal 0}")
        diag = t.d.get("/api/v1/diagnostics")
        ch = [x for x in diag["tenants"] if x["id"] == "default"][0]["channels"]
        if ch["trunk"] != 2 or ch["trunk_limit"] != 3 or ch["trunk_peak"] < 2:
            raise ScenarioFailed(f"diagnostics channels during the call: {ch}")
        t.report.append("ok        channels: the call 2 trunk / 0 internal, the tenant 2 of 3")
        # A second call from the mobile to an external number needs 2 more: 4 > 3, refused
        # before anything is dialled.
        n = t.lab.channel_count()
        st, out = t.d.request("POST", "/api/v1/calls", {"to": "089123456", "from": "103"})
        if st != 409 or out.get("type") != "/problems/no-trunk-capacity":
            raise ScenarioFailed(f"second make call beyond the trunk limit: {st} {out}")
        if t.lab.channel_count() > n:  # fewer: Asterisk optimized the Local pair away meanwhile
            raise ScenarioFailed("the refused make call created channels")
        t.report.append("ok        409 no-trunk-capacity beyond max_trunk_channels = 3, nothing dialled")
        time.sleep(max(0.0, 2.0 - (time.monotonic() - t0)))  # the talk
        t.command_done(t.api("hangup", call, device="103"))
        # trunk seconds: the mobile's channel all along (ring 2 + talk 2), the destination's from
        # its dial (ring 1 + talk 2)
        t.finish([Entry("103", "outbound", x, "answered", ring=2 * CARRIER_RING, talk=2.0, device=DEVICE,
                        trunk=7.0)],
                 # Local;2 -> mobile and Local;1 -> destination, then (the pair optimized away)
                 # mobile -> destination: the talk is split over the rows, none is the whole
                 [Cdr("Local", "trunk", "ANSWERED", why="the mobile's leg (Local;2 dials it), until the optimization"),
                  Cdr("Local", "trunk", "ANSWERED", why="the destination's leg (Local;1 dials it), until the optimization"),
                  Cdr("trunk", "trunk", "ANSWERED", why="mobile and destination bridged directly after the optimization")],
                 events={"103": ["originated", "delivered", "established", "connectionCleared"]},
                 lines={"103": ["busy", "idle"]})


@scenario("anydevice")
def callbridged_killed_during_mobile_call(t):
    """From the mobile to an external party; once they talk and Asterisk optimized the Local pair
    away (mobile and destination bridged directly: no channel left that names 103), callbridged
    is killed (SIGKILL) and started again 1 s later. The restarted daemon knows the mobile's
    channel from its open-call state (journal.db): the call is 103's again, connected, and the
    user hangs it up through the API (the mobile's channel). One entry, carried by the mobile,
    nothing estimated."""
    with mobile_active(t):
        x = t.caller()
        t.d.post("/api/v1/calls", {"to": "0" + x[3:], "from": "103"})
        t.connection("103", "connected", remote=x)
        t.wait(lambda: "Local/" not in t.lab.cli("core show channels concise"),
               "Asterisk optimized the Local pair away")
        restart_callbridged(t)
        call = t.connection("103", "connected", remote=x)  # picked up again from the PBX
        time.sleep(0.5)
        t.command_done(t.api("hangup", call, device="103"))
        t.finish([Entry("103", "outbound", x, "answered", ring=2 * CARRIER_RING, talk=None, device=DEVICE)],
                 [Cdr("Local", "trunk", "ANSWERED", why="the mobile's leg (Local;2 dials it), until the optimization"),
                  Cdr("Local", "trunk", "ANSWERED", why="the destination's leg (Local;1 dials it), until the optimization"),
                  Cdr("trunk", "trunk", "ANSWERED", why="mobile and destination bridged directly after the optimization")])
        expect_estimated(t, t.entries, [])


@scenario("anydevice")
def follow_me_mobile_answers(t):
    """dan (103) has his mobile as active device and follow-me on (parallel): an external call to
    103 rings the desk phone and the mobile together; the mobile takes it and talks 2 s. Line 103
    is busy while the mobile talks (presence: the user is on a call); the journal has one entry for
    103: answered, carried by the mobile (the desk phone's ring is part of it)."""
    with dan_follows_me(t):
        x = follow_me_call(t, talk_ms=2000)
        t.connection("103", "connected", remote=x)
        t.line("103", "busy")
        # trunk seconds: the caller's channel and the mobile's, 3 s each
        t.finish([Entry("103", "inbound", x, "answered", ring=CARRIER_RING, talk=2.0, device=DEVICE, trunk=6.0)],
                 [Cdr("trunk", "103", "NO ANSWER", billsec=0),
                  Cdr("trunk", "Local", "ANSWERED", talk_of="103"),
                  Cdr("Local", "trunk", "ANSWERED", why="the mobile's leg behind Local/103@callbridge-followme"),
                  Cdr("Local", None, "ANSWERED", billsec=0, optional=True)],
                 events={"103": ["delivered", "established", "connectionCleared"]},
                 lines={"103": ["ringing", "busy", "idle"]})


@scenario("anydevice")
def follow_me_answered_while_callbridged_down(t):
    """As follow_me_mobile_answers, but callbridged is killed (SIGKILL) while the desk phone and
    the mobile ring and stays down 2.5 s: the mobile answers meanwhile. The restarted daemon
    finds the call from the PBX and its open-call state: 103 connected, carried by the mobile; one
    entry, answered, with the device; only its answer time is an estimate (it happened unseen)."""
    with dan_follows_me(t):
        x = follow_me_call(t, talk_ms=5000)
        restart_callbridged(t, down_s=2.5)
        t.connection("103", "connected", remote=x)  # picked up again from the PBX
        t.finish([Entry("103", "inbound", x, "answered", ring=None, talk=None, device=DEVICE,
                        estimated=("answered_at",))],
                 [Cdr("trunk", "103", "NO ANSWER", billsec=0),
                  Cdr("trunk", "Local", "ANSWERED"),
                  Cdr("Local", "trunk", "ANSWERED", why="the mobile's leg behind Local/103@callbridge-followme"),
                  Cdr("Local", None, "ANSWERED", billsec=0, optional=True)])
        expect_estimated(t, t.entries, ["answered_at"])


@scenario("anydevice")
def consult_from_mobile(t):
    """The harness's user calls an external number from its mobile (2 trunk channels) and
    consults a second external party through the API (Atxfer on the mobile's channel: the first
    party hears music on hold): the call occupies 3 trunk channels (the issue's example). The
    user hangs up the consultation (the first party is back), then the call."""
    with mobile_active(t):
        y = t.caller()
        x, call, consult = call_and_consult_from_mobile(t, "0" + y[3:], y)
        t.wait(lambda: t.d.get(f"/api/v1/calls/{consult['id']}").get("channels", {}).get("trunk") == 3,
               "the consultation: 3 trunk channels")
        t.report.append("ok        consulting from the mobile: 3 trunk channels")
        time.sleep(1.0)
        t.command_done(t.api("hangup", consult, device="103"))
        t.wait(lambda: (t.d.get(f"/api/v1/calls/{call['id']}").get("channels", {}).get("trunk") == 2),
               "back to the first party: 2 trunk channels")
        time.sleep(1.0)
        t.command_done(t.api("hangup", call, device="103"))
        # x waits on hold from the consultation to the end (an AMI Atxfer's hold has no Unhold:
        # JOURNAL.md), so its hold is not compared
        why = "legs of the mobile, the destination and the consultation through Local pairs and their optimization"
        t.finish([Entry("103", "outbound", x, "answered", hold=None, device=DEVICE),
                  Entry("103", "outbound", y, "answered", talk=1.0, device=DEVICE)],
                 [Cdr("Local", "trunk", "ANSWERED", why=why), Cdr("Local", "trunk", "ANSWERED", why=why),
                  Cdr("Local", "trunk", "ANSWERED", why=why), Cdr("trunk", "Local", "ANSWERED", why=why),
                  Cdr("trunk", "trunk", "ANSWERED", why=why), Cdr("trunk", "trunk", "ANSWERED", why=why)],
                 lines={"103": ["busy", "idle"]})


@scenario("anydevice")
def alternate_on_mobile(t):
    """From the mobile to an external party x, consultation of a second one y through the API
    (Atxfer on the mobile's channel), then alternate twice (Asterisk's atxferswap, keyed through
    AMI PlayDTMF Receive): x talks, y waits, then y talks again; the user hangs up the
    consultation (cancel: back to x), then the call. Both calls stay the user's, carried by the
    mobile; y's hold is the second between the two alternates."""
    ready(t)  # the include (version 2): the PBX holds and switches calls of external devices
    with mobile_active(t):
        y = t.caller()
        x, call, consult = call_and_consult_from_mobile(t, "0" + y[3:], y)
        t.connection("103", "held", remote=x)
        t.command_done(t.api("alternate", consult, device="103"))
        t.connection("103", "connected", remote=x)
        t.connection("103", "held", remote=y)
        time.sleep(1.0)
        t.command_done(t.api("alternate", call, device="103"))
        t.connection("103", "connected", remote=y)
        t.connection("103", "held", remote=x)
        t.command_done(t.api("hangup", consult, device="103"))
        t.connection("103", "connected", remote=x)
        time.sleep(0.5)
        t.command_done(t.api("hangup", call, device="103"))
        why = "legs of the mobile, both parties and the consultation through Local pairs and their optimization"
        t.finish([Entry("103", "outbound", x, "answered", hold=None, device=DEVICE),
                  Entry("103", "outbound", y, "answered", talk=None, hold=1.0, device=DEVICE)],
                 [Cdr("Local", "trunk", "ANSWERED", why=why), Cdr("Local", "trunk", "ANSWERED", why=why),
                  Cdr("Local", "trunk", "ANSWERED", why=why), Cdr("trunk", "Local", "ANSWERED", why=why),
                  Cdr("trunk", "Local", "ANSWERED", why=why, optional=True),
                  Cdr("Local", "trunk", "ANSWERED", why=why, optional=True),
                  Cdr("trunk", "trunk", "ANSWERED", why=why, optional=True),
                  Cdr("trunk", "trunk", "ANSWERED", why=why, optional=True),
                  Cdr("trunk", "trunk", "ANSWERED", why=why, optional=True)],
                 events={"103": ["held", "retrieved", "held", "retrieved"]},
                 lines={"103": ["busy", "idle"]})


def call_and_consult_from_mobile(t, to, remote):
    """The user calls an external party x from the mobile, then consults `to` through the API
    (Atxfer on the mobile's channel); returns x, the call and the consultation once the user's
    connection to `remote` talks."""
    x = t.caller()
    t.d.post("/api/v1/calls", {"to": "0" + x[3:], "from": "103"})
    call = t.connection("103", "connected", remote=x)
    t.command_done(t.api("consult", call, device="103", to=to))
    return x, call, t.connection("103", "connected", remote=remote)


def consult_102_from_mobile(t):
    """call_and_consult_from_mobile of 102 (answers after 2 s, talks 4 s, hangs up)."""
    t.phone("102", "uas_answer_hangup.xml", calls=1, ring_ms=4000)
    x, call, consult = call_and_consult_from_mobile(t, "102", "102")
    t.connection("102", "connected", remote="103")
    return x, call, consult


# Asterisk's rows of a consultation of 102 from the mobile: which pairs of the mobile's, x's, the
# Local pair's and 102's channels it writes, and how often, varies by run; the first two always.
_WHY = "legs of the mobile, the destination and the consultation through Local pairs and their optimization"
CONSULT_102_CDRS = [Cdr("Local", "trunk", "ANSWERED", why=_WHY), Cdr("Local", "trunk", "ANSWERED", why=_WHY)] + [
    Cdr(src, dst, "ANSWERED", why=_WHY, optional=True)
    for src, dst in [("Local", "trunk"), ("trunk", "Local"), ("trunk", "Local"), ("trunk", "Local"), ("Local", "102"),
                     ("trunk", "102"), ("trunk", "102"), ("102", "trunk"), ("102", None), ("Local", None),
                     ("trunk", "trunk"), ("trunk", "trunk")]]


@scenario("anydevice")
def attended_transfer_from_mobile(t):
    """From the mobile to an external party x, consultation of 102 through the API; once 102
    answered, the user completes the transfer (API transfer of the consultation without a
    number: callbridge hangs up the mobile's channel, atxferdropcall=no); x and 102 talk until
    102 hangs up. 103: the call to x transferred to 102, the consultation with 102; 102: the
    consultation and the call from x, transferred from 103."""
    ready(t)  # the include (version 2): the PBX holds and switches calls of external devices
    with mobile_active(t):
        x, call, consult = consult_102_from_mobile(t)
        t.command_done(t.api("transfer", consult, device="103"))
        t.connection("102", "connected", remote=x)
        t.finish([Entry("103", "outbound", x, "answered", hold=None, device=DEVICE, transferred_to="102"),
                  Entry("103", "internal", "102", "answered", ring=2.0, device=DEVICE),
                  Entry("102", "internal", "103", "answered", ring=2.0),
                  Entry("102", "inbound", x, "answered", ring=0.0, transferred_from="103")],
                 CONSULT_102_CDRS,
                 events={"102": ["delivered", "established", "connectionCleared"]},
                 lines={"103": ["busy", "idle"], "102": ["ringing", "busy", "idle"]})


@scenario("anydevice")
def conference_on_mobile(t):
    """From the mobile to an external party x, consultation of 102 through the API; once 102
    answered, the user joins the three (API conference: Asterisk's three-way, atxferthreeway,
    keyed through AMI PlayDTMF Receive): x no longer waits, all three talk; 102 leaves after its
    talk time, then the user hangs up. The two calls keep their entries (103 with x, 103 with
    102, 102 with 103), none held after the join; 102 also talked to x from the join on."""
    ready(t)  # the include (version 2): the PBX holds and switches calls of external devices
    with mobile_active(t):
        x, call, consult = consult_102_from_mobile(t)
        t.connection("103", "held", remote=x)
        t.command_done(t.api("conference", consult, device="103"))
        t.connection("103", "connected", remote=x)  # no longer waiting
        t.connection("103", "connected", remote="102")
        t.wait(lambda: not any(k["device"] == "102" for c in t.d.calls() for k in c["connections"]),
               "102 left after its talk", timeout=20.0)
        t.command_done(t.api("hangup", t.connection("103", "connected", remote=x), device="103"))
        t.finish([Entry("103", "outbound", x, "answered", hold=None, talk=None, device=DEVICE),
                  Entry("103", "internal", "102", "answered", ring=2.0, talk=None, device=DEVICE),
                  Entry("102", "internal", "103", "answered", ring=2.0, talk=None),
                  Entry("102", "inbound", x, "answered", ring=0.0, talk=None)],
                 CONSULT_102_CDRS,
                 lines={"103": ["busy", "idle"], "102": ["ringing", "busy", "idle"]})


# The PBX hold's dialplan ([callbridge-hold]: MusicOnHold, the hangup handler's Return) adds rows
# without a destination for the two channels; which of them Asterisk writes varies.
HOLD_CDRS = [Cdr("trunk", None, "ANSWERED", optional=True, why="a channel in [callbridge-hold]")
             for _ in range(4)]


@scenario("anydevice")
def hold_and_retrieve_on_mobile(t):
    """Hold of a call on the mobile, done by the PBX (docs/call-control.md "Hold on an external
    device"; the include's [callbridge-hold]): the user calls an external number from the mobile;
    the call offers hold although the mobile cannot be asked to hold. Hold through the API: both
    parties hear music on hold, the line shows held, the call offers retrieve. After 2 s retrieve
    bridges the two again (same call); 1 s later the user hangs up. One entry of 103: answered,
    carried by the mobile, 2 s on hold. Then again, hold and the external party hangs up while on
    hold: the include's hangup handler ends the mobile's channel too (nobody waits alone)."""
    ready(t)  # the include (version 2) and callbridged knowing it
    with mobile_active(t):
        x = t.caller()
        t.d.post("/api/v1/calls", {"to": "0" + x[3:], "from": "103"})
        call = t.connection("103", "connected", remote=x)
        allowed = t.d.get(f"/api/v1/calls/{call['id']}").get("allowed_actions", {}).get("103", [])
        if "hold" not in allowed:
            raise ScenarioFailed(f"a call on the mobile offers hold (the PBX holds it): allowed {allowed}")
        t.command_done(t.api("hold", call, device="103"))
        t.connection("103", "held", remote=x)
        t.line("103", "held")
        t.wait(lambda: "retrieve" in t.d.get(f"/api/v1/calls/{call['id']}").get("allowed_actions", {}).get("103", []),
               "the held call offers retrieve")
        moh = t.lab.cli("core show channels concise")
        if moh.count("MusicOnHold") < 2:
            raise ScenarioFailed(f"both channels on music on hold in [callbridge-hold]: {moh}")
        t.report.append("ok        both parties on music on hold")
        time.sleep(2.0)  # on hold
        t.command_done(t.api("retrieve", call, device="103"))
        back = t.connection("103", "connected", remote=x)
        if back["id"] != call["id"]:
            raise ScenarioFailed(f"retrieve resumed the same call: {back['id']} != {call['id']}")
        time.sleep(1.0)  # talk again
        t.command_done(t.api("hangup", call, device="103"))
        t.finish([Entry("103", "outbound", x, "answered", hold=2.0, device=DEVICE)],
                 [Cdr("Local", "trunk", "ANSWERED", why="the mobile's leg, the destination's, then the PBX's bridge"),
                  Cdr("Local", "trunk", "ANSWERED", why="the mobile's leg, the destination's, then the PBX's bridge"),
                  Cdr("trunk", "trunk", "ANSWERED", optional=True, why="after the Local optimization"),
                  Cdr("trunk", "trunk", "ANSWERED", optional=True, why="after the retrieve's bridge")] + HOLD_CDRS,
                 events={"103": ["originated", "established", "held", "retrieved", "connectionCleared"]},
                 lines={"103": ["busy", "held", "busy", "idle"]})


@scenario("anydevice")
def remote_hangs_up_while_held_on_mobile(t):
    """A call on the mobile held by the PBX; the external party hangs up while it hears music on
    hold: the include's hangup handler hangs up the mobile's channel too, the call ends for the
    user (one entry, answered, its hold up to the end)."""
    ready(t)
    with mobile_active(t):
        x = t.caller()
        t.d.post("/api/v1/calls", {"to": "0" + x[3:], "from": "103"})
        call = t.connection("103", "connected", remote=x)
        t.command_done(t.api("hold", call, device="103"))
        t.connection("103", "held", remote=x)
        time.sleep(1.0)
        chans = [l.split("!")[0] for l in t.lab.cli("core show channels concise").splitlines() if "!MusicOnHold!" in l]
        remote = [c for c in chans if c.startswith("PJSIP/trunk")]
        if len(remote) != 2:
            raise ScenarioFailed(f"two trunk channels on hold: {chans}")
        # the destination's channel was created after the mobile's (higher sequence number)
        t.lab.cli(f"channel request hangup {sorted(remote)[-1]}")
        t.finish([Entry("103", "outbound", x, "answered", hold=None, talk=None, device=DEVICE)],
                 [Cdr("Local", "trunk", "ANSWERED", why="the mobile's leg and the destination's"),
                  Cdr("Local", "trunk", "ANSWERED", why="the mobile's leg and the destination's"),
                  Cdr("trunk", "trunk", "ANSWERED", optional=True, why="after the Local optimization")] + HOLD_CDRS,
                 events={"103": ["originated", "established", "held", "connectionCleared"]},
                 lines={"103": ["busy", "held", "idle"]})


@scenario("anydevice")
def blind_transfer_from_mobile(t):
    """From the mobile to an external number; the user hands the call to 102 through the API at once
    (AMI BlindTransfer of the mobile's channel; Asterisk names the Local ";2" still between the
    mobile and the destination as the transferee): the external party rings at 102, which answers
    and hangs up after its talk; the mobile's channel ends at the transfer. 103: outbound,
    answered, carried by the mobile, transferred_to 102; 102: inbound from the external party,
    transferred_from 103."""
    with mobile_active(t):
        t.phone("102", "uas_answer_hangup.xml", calls=1, ring_ms=1000)
        x = t.caller()
        t.d.post("/api/v1/calls", {"to": "0" + x[3:], "from": "103"})
        call = t.connection("103", "connected", remote=x)
        t.command_done(t.api("transfer", call, device="103", to="102"))
        t.connection("102", "connected", remote=x)
        t.finish([Entry("103", "outbound", x, "answered", device=DEVICE, transferred_to="102"),
                  Entry("102", "inbound", x, "answered", ring=1.0, transferred_from="103")],
                 [Cdr("Local", "trunk", "ANSWERED", why="the mobile's leg and the destination's (Local;2 / Local;1 dial them)"),
                  Cdr("Local", "trunk", "ANSWERED", why="the mobile's leg and the destination's (Local;2 / Local;1 dial them)"),
                  Cdr("Local", "102", "ANSWERED", optional=True, why="transferred before the Local optimization: ;2 dials 102"),
                  Cdr("trunk", "102", "ANSWERED", optional=True, why="the destination and 102 after the optimization"),
                  Cdr("102", "trunk", "ANSWERED", optional=True,
                      why="the same pair with 102 as party A (Asterisk picks either; seen with billsec 0)"),
                  Cdr("trunk", "trunk", "ANSWERED", optional=True, why="mobile and destination, if optimized before the transfer")],
                 events={"103": ["originated", "established", "transferred"],
                         "102": ["delivered", "established", "connectionCleared"]},
                 lines={"103": ["busy", "idle"], "102": ["ringing", "busy", "idle"]})


@scenario("anydevice")
def make_call_mobile_busy(t):
    """The mobile declines (the carrier answers 486 after 0.5 s): the make call fails (the
    OriginateResponse of the Local channel), nothing is dialled to the destination; 103's entry
    is outbound no_answer, carried by the mobile (like a desk phone that declined its own
    click-to-dial)."""
    with mobile_active(t):
        t.phone("carrier", "uas_busy.xml", calls=1, ring_ms=500)
        x = t.caller()
        ans = t.d.post("/api/v1/calls", {"to": "0" + x[3:], "from": "103"})
        t.connection("103", "initiated")
        t.wait(lambda: t.d.get(f"/api/v1/commands/{ans['command_id']}")["state"] == "failed",
               "the make-call command failed (the mobile declined)")
        t.finish([Entry("103", "outbound", x, "no_answer", talk=0.0, device=DEVICE, trunk=0.5)],
                 # ;2 -> the mobile (BUSY), and a row per Local half without a destination
                 [Cdr("Local", "trunk", "BUSY", billsec=0),
                  Cdr("Local", None, ("BUSY", "NO ANSWER", "FAILED"), optional=True, billsec=0),
                  Cdr("Local", None, ("BUSY", "NO ANSWER", "FAILED"), optional=True, billsec=0)],
                 lines={"103": ["busy", "idle"]})


@scenario("anydevice")
def make_call_mobile_hangs_up_first(t):
    """From the mobile to an external party; both answer after 2 s (uas_answer_hangup) and each
    hangs up 3.5 s after its answer, so the mobile (answered first) hangs up first: the call ends
    there, one entry of 103, answered, carried by the mobile."""
    with mobile_active(t):
        t.phone("carrier", "uas_answer_hangup.xml", calls=2, ring_ms=3500)
        x = t.caller()
        t.d.post("/api/v1/calls", {"to": "0" + x[3:], "from": "103"})
        t.connection("103", "connected", remote=x)
        why = "the Local legs and the optimized mobile -> destination leg: the talk is split over them"
        t.finish([Entry("103", "outbound", x, "answered", device=DEVICE)],
                 [Cdr("Local", "trunk", "ANSWERED", why=why), Cdr("Local", "trunk", "ANSWERED", why=why),
                  Cdr("trunk", "trunk", "ANSWERED", why=why, optional=True)],
                 lines={"103": ["busy", "idle"]})


@scenario("anydevice")
def move_call_desk_mobile_desk(t):
    """Moving a live call (docs/call-control.md "Moving a call"): the harness's user (103) calls an
    external number from the desk phone; "take it on my mobile" (POST /calls/{id}/move {"device":
    "mobile"}) rings the mobile behind the carrier, which answers after 1 s and takes the other
    party over (Originate of Local/<mobile>@from-internal, Application Bridge); the desk phone's
    channel hangs up. "Back to my desk" (device "103") rings 103 again, which takes it back; the
    mobile's channel hangs up (this move through the CLI, `callbridge move CALL 103`). The call
    keeps its id throughout and the user hangs up from the API. Bad input first: an unknown device is 404 and a move to the device the call is on is
    refused, nothing dialled. One entry: 103 outbound answered, no device (the desk ended it), the
    mobile's trunk time counted."""
    st, out = t.d.request("PUT", "/api/v1/me/devices/mobile", {"number": "0170 1234567"})
    if st not in (200, 201):
        raise ScenarioFailed(f"PUT /api/v1/me/devices/mobile: {st} {out}")
    try:
        x = t.caller()
        t.d.post("/api/v1/calls", {"to": "0" + x[3:], "from": "103"})
        call = t.connection("103", "connected", remote=x)
        n = t.lab.channel_count()
        st, out = t.d.request("POST", f"/api/v1/calls/{call['id']}/move", {"device": "tablet"})
        if st != 404 or out.get("type") != "/problems/device-not-found":
            raise ScenarioFailed(f"move to an unknown device: {st} {out}")
        st, out = t.d.request("POST", f"/api/v1/calls/{call['id']}/move", {"device": "103"})
        if st != 409:
            raise ScenarioFailed(f"move to the desk phone the call is on: {st} {out}")
        if t.lab.channel_count() != n:
            raise ScenarioFailed("a refused move created channels")
        t.report.append("ok        unknown device 404, the device it is on 409, nothing dialled")
        time.sleep(1.0)
        t.command_done(t.api("move", call, device="mobile"))
        t.wait(lambda: (t.d.get(f"/api/v1/calls/{call['id']}").get("channels") == {"trunk": 2, "internal": 0}),
               "the call on the mobile: channels {trunk 2, internal 0}")
        t.report.append("ok        on the mobile: same call id, 2 trunk channels")
        time.sleep(1.5)
        # Back to the desk with the CLI (`callbridge move CALL 103`: waits until the desk phone talks).
        env = dict(os.environ, CALLBRIDGE_URL=f"http://127.0.0.1:{t.d.port}", CALLBRIDGE_TOKEN=t.d.token)
        cli = subprocess.run([t.d.cli_bin, "move", call["id"], "103", "--wait", "20"], env=env,
                             capture_output=True, text=True, timeout=30)
        if cli.returncode != 0 or f"call {call['id']} is on 103 now" not in cli.stdout:
            raise ScenarioFailed(f"callbridge move: rc {cli.returncode}, {cli.stdout!r} {cli.stderr!r}")
        t.report.append("ok        callbridge move CALL 103: done")
        t.wait(lambda: (t.d.get(f"/api/v1/calls/{call['id']}").get("channels") == {"trunk": 1, "internal": 1}),
               "back on the desk: channels {trunk 1, internal 1}")
        t.report.append("ok        back on the desk: same call id, 1 trunk and 1 internal channel")
        if [c["id"] for c in t.d.calls()] != [call["id"]]:
            raise ScenarioFailed(f"the moves made other calls: {t.d.calls()}")
        time.sleep(1.0)
        t.command_done(t.api("hangup", call, device="103"))
        # talk from the destination's answer to the hangup, over both moves (~1 + 1 + 1.5 + 1 + 1 s);
        # trunk seconds: the destination's channel all along plus the mobile's from its ring to the
        # move back (1 + 1.5 + ~1 s for the desk phone to answer)
        t.finish([Entry("103", "outbound", x, "answered", talk=None, device=None)],
                 CDR_MOVE_DESK_MOBILE_DESK,
                 events={"103": ["originated", "established", "connectionCleared"]},
                 lines={"103": ["busy", "idle"]})
        e = t.entries[0]
        if not (e["talk_s"] >= 5.0 and e["trunk_channel_s"] >= e["talk_s"] + 3.0):
            raise ScenarioFailed(f"talk_s / trunk_channel_s of the moved call: {e}")
        t.report.append(f"ok        talk_s {e['talk_s']}, trunk_channel_s {e['trunk_channel_s']} (the mobile's included)")
    finally:
        t.d.request("DELETE", "/api/v1/me/devices/mobile")


# Asterisk's rows of the moved call: the desk phone's click-to-dial leg to the destination, the
# Originate legs of each move (the Local pair towards the mobile, the desk phone's Bridge leg), the
# mobile's leg after the optimization. CDR bills per channel pair, so the talk is split over them.
WHY_MOVE = "CDR bills per channel pair: each move and the optimization start new rows, the talk is split over them"
CDR_MOVE_DESK_MOBILE_DESK = [
    Cdr("103", "trunk", "ANSWERED", why="the desk phone's Dial of the destination, until the move to the mobile"),
    Cdr("Local", None, "ANSWERED", why="the move's Local ;1 running Bridge"),
    Cdr("Local", "trunk", "ANSWERED", why="the mobile's leg (;2 dials it), until the optimization"),
    Cdr("trunk", "Local", "ANSWERED", why=WHY_MOVE),
    Cdr("trunk", "trunk", "ANSWERED", why="destination and mobile bridged directly after the optimization; in some runs "
        "chan_local had not optimized the pair away before the move back (then trunk -> Local bills that talk)", optional=True),
    Cdr("103", None, "ANSWERED", why="the desk phone's Bridge leg of the move back"),
    Cdr("trunk", "103", "ANSWERED", why="destination and desk phone after the move back, until the hangup"),
    Cdr("trunk", None, "ANSWERED", why="in some runs Asterisk also writes a row of the mobile's channel alone", optional=True),
]
