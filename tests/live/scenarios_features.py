# Live scenarios, group "features": do-not-disturb, call forwarding and follow-me carried out by the
# real Asterisk through callbridge's dialplan include (contrib/asterisk/callbridge.conf,
# docs/dialplan.md). The group first runs against the lab's stock dialplan (the include missing:
# "unavailable", nothing pretended), then installs the include into the lab copy exactly as the
# admin's steps say (copy the file, '#include callbridge.conf', Gosub(callbridge-dial,...) in place
# of the extensions' Dial, two [globals], 'dialplan reload') and restarts callbridged, which
# checks at its AMI login. The group's teardown puts the stock dialplan back and clears AstDB.
# Conventions: scenarios_basic.py, docs/testing.md.
import re
import shutil
import subprocess
from pathlib import Path

from livetest.scenario import GROUP_TEARDOWN, Cdr, Entry, ScenarioFailed, scenario

RING = 1.0
REPO = Path(__file__).resolve().parents[2]
INCLUDE = REPO / "contrib/asterisk/callbridge.conf"
DIAL = " same => n,Dial(PJSIP/${EXTEN},30,tT)"
GOSUB = " same => n,Gosub(callbridge-dial,s,1(${EXTEN},30,tT))"
# Step 4 of docs/dialplan.md: the lab's [outbound] derives the presented number from the calling
# phone's channel name, so external numbers go to the trunk directly; the office numbers are the
# lab's DIDs.
GLOBALS = ("CALLBRIDGE_EXTERNAL = PJSIP/{number}@trunk\n"
           "CALLBRIDGE_OFFICE_PREFIX = +4930555\n")
MOBILE = "+491701234567"
USERS = {"ben": "101", "clara": "102", "dan": "103"}


def _conf(lab):
    return lab.root / "etc/extensions.conf"


def include_installed(lab):
    return "#include callbridge.conf" in _conf(lab).read_text()


def install_include(lab):
    """The admin's install steps (docs/dialplan.md) on the lab copy."""
    conf = _conf(lab)
    stock = conf.with_name("extensions.conf.stock")
    text = conf.read_text()
    if "#include callbridge.conf" in text:
        return
    if not stock.exists():
        shutil.copy(conf, stock)
    shutil.copy(INCLUDE, lab.root / "etc/callbridge.conf")
    n = text.count(DIAL)
    if n != 2:
        raise ScenarioFailed(f"expected the two extension Dial lines in the lab's dialplan, found {n}")
    text = text.replace(DIAL, GOSUB)
    text = text.replace("[globals]\n", "[globals]\n" + GLOBALS, 1)
    conf.write_text(text + "\n#include callbridge.conf\n")
    out = lab.cli("dialplan reload")
    if "Dialplan reloaded" not in out:
        raise ScenarioFailed(f"dialplan reload: {out}")
    if "callbridge dialplan 2" not in lab.cli("dialplan show callbridge-version"):
        raise ScenarioFailed("the include did not load")


def remove_include(lab):
    """Back to the lab's stock dialplan, AstDB family callbridge emptied."""
    conf = _conf(lab)
    stock = conf.with_name("extensions.conf.stock")
    if stock.exists():
        shutil.copy(stock, conf)
        stock.unlink()
        lab.cli("dialplan reload")
    (lab.root / "etc/callbridge.conf").unlink(missing_ok=True)
    lab.cli("database deltree callbridge")


GROUP_TEARDOWN["features"] = remove_include


def cli(t, *args):
    """The `callbridge` CLI against this callbridged, with the harness's admin token."""
    return subprocess.run([t.d.cli_bin, *args], capture_output=True, text=True, timeout=30,
                          env={"CALLBRIDGE_URL": f"http://127.0.0.1:{t.d.port}", "CALLBRIDGE_TOKEN": t.d.token,
                               "PATH": "/usr/bin:/bin"})


def ensure_users(t):
    for user, ext in USERS.items():
        st, out = t.d.request("POST", "/api/v1/users",
                              {"user": user, "role": "user", "extensions": [ext], "display_name": user.title()})
        if st not in (201, 409):
            raise ScenarioFailed(f"POST /api/v1/users {user}: {st} {out}")


def state(t, user):
    return t.d.get(f"/api/v1/me/forwarding?user={user}")


def put(t, path, user, body, expect=200):
    st, out = t.d.request("PUT", f"{path}?user={user}", body)
    if st != expect:
        raise ScenarioFailed(f"PUT {path}?user={user} {body}: {st} {out}")
    return out


def ready(t):
    """The include installed and callbridged knowing it (a restart re-checks at its AMI login)."""
    ensure_users(t)
    if not include_installed(t.lab):
        install_include(t.lab)
    if not state(t, "ben")["available"]:
        t.h.restart_daemon(kill=False)
        t.ws_base = len(t.ws.snapshot_messages())
        t.wait(lambda: state(t, "ben")["available"], "the features to be available after the include")
    for user in USERS:  # every test starts from nothing set
        t.d.request("DELETE", f"/api/v1/me/forwarding?user={user}")
        t.d.request("DELETE", f"/api/v1/me/follow-me?user={user}")
        put(t, "/api/v1/me/dnd", user, {"dnd": False})


def features_event(t, line, pred, what):
    t.ws.wait_for(lambda ms: any(m.get("type") == "line_features" and m.get("line") == line and pred(m["features"])
                                 for m in ms[t.ws_base:]), 10, what)
    t.report.append(f"ws ok     line_features {line}: {what}")


@scenario("features")
def features_missing_include(t):
    """The lab's stock dialplan: the features say why they are unavailable (the include is
    missing), a change is refused with 503 and the same words, the CLI prints them and fails,
    callbridged's log says how to fix it. Then the include is installed as docs/dialplan.md says
    and, after callbridged's next AMI login, they are available."""
    if include_installed(t.lab):
        remove_include(t.lab)
        t.h.restart_daemon(kill=False)
    ensure_users(t)
    s = state(t, "ben")
    why = "the PBX lacks callbridge's dialplan (contrib/asterisk/callbridge.conf"
    if s["available"] or why not in (s["reason"] or ""):
        raise ScenarioFailed(f"GET /me/forwarding without the include: {s}")
    st, out = t.d.request("PUT", "/api/v1/me/dnd?user=ben", {"dnd": True})
    if st != 503 or out.get("type") != "/problems/features-unavailable" or why not in out.get("detail", ""):
        raise ScenarioFailed(f"PUT /me/dnd without the include: {st} {out}")
    r = cli(t, "dnd", "on", "--user", "ben")
    if r.returncode == 0 or why not in r.stderr:
        raise ScenarioFailed(f"callbridge dnd on without the include: exit {r.returncode}\n{r.stdout}{r.stderr}")
    log = t.d.logfile.read_text(errors="replace")
    if not re.search(r"lacks callbridge's dialplan .*Fix: copy contrib/asterisk/callbridge.conf", log):
        raise ScenarioFailed("callbridged's log does not say how to fix the missing include")
    t.report.append("ok        unavailable without the include: GET, PUT 503, CLI, log")
    install_include(t.lab)
    t.h.restart_daemon(kill=False)
    t.wait(lambda: state(t, "ben")["available"], "the features to be available after the include")
    t.report.append("ok        available after installing the include and a new AMI login")


@scenario("features")
def dnd_busy_then_rings_again(t):
    """DND on for ben (101): the line shows dnd, a line_features event goes out, AstDB holds
    callbridge/dnd/101 = 1; an external caller gets 486 Busy at once and 101 never rings, so that
    call is no journal entry (the phone did not ring; the judge allows no extra entry). DND off:
    the next call rings 101 again and is answered."""
    ready(t)
    s = put(t, "/api/v1/me/dnd", "ben", {"dnd": True})
    if not s["dnd"]:
        raise ScenarioFailed(f"PUT dnd: {s}")
    t.line("101", "dnd")
    features_event(t, "101", lambda f: f["dnd"], "dnd on")
    got = t.lab.cli("database get callbridge dnd/101").strip().splitlines()[-1]
    if got != "Value: 1":
        raise ScenarioFailed(f"AstDB callbridge/dnd/101: {got}")
    busy = t.trunk_call("+4930555101", t.caller(), scenario="trunk_busy.xml")
    busy.wait(30)  # trunk_busy.xml passes only on a 486
    t.lab.wait_no_channels(15)
    t.report.append("ok        the caller got 486 Busy while DND was on")
    put(t, "/api/v1/me/dnd", "ben", {"dnd": False})
    t.line("101", "idle")
    x = t.caller()
    t.trunk_call("+4930555101", x, talk_ms=1500)
    t.connection("101", "alerting", remote=x)
    t.finish([Entry("101", "inbound", x, "answered", ring=RING, talk=1.5)],
             [Cdr("trunk", None, "BUSY", billsec=0),  # the DND call: no Dial, Hangup(17)
              Cdr("trunk", "101", "ANSWERED", talk_of="101")],
             events={"101": ["delivered", "established", "connectionCleared"]},
             lines={"101": ["dnd", "idle", "ringing", "busy", "idle"]})


@scenario("features")
def forward_unconditional_to_extension(t):
    """ben (101) forwards every call to 102: the external caller's call rings 102 at once (101
    never rings) and 102 answers; 102's entry is an inbound answered one from the caller, showing
    the forwarding (transferred_from 101); 101 has none."""
    ready(t)
    # set with the CLI, as a user would (callbridge forward always 102)
    r = cli(t, "forward", "always", "102", "--user", "ben")
    if r.returncode != 0 or "forward always: 102" not in r.stdout:
        raise ScenarioFailed(f"callbridge forward always 102: exit {r.returncode}\n{r.stdout}{r.stderr}")
    if state(t, "ben")["forwarding"]["unconditional"] != "102":
        raise ScenarioFailed(f"after the CLI: {state(t, 'ben')}")
    t.report.append("ok        callbridge forward always 102 --user ben")
    features_event(t, "101", lambda f: f["forwarding"]["unconditional"] == "102", "forwards to 102")
    x = t.caller()
    t.trunk_call("+4930555101", x, talk_ms=1500)
    t.connection("102", "alerting", remote=x)
    t.finish([Entry("102", "inbound", x, "answered", ring=RING, talk=1.5, transferred_from="101")],
             [Cdr("trunk", "102", "ANSWERED", talk_of="102")],
             events={"102": ["delivered", "established", "connectionCleared"], "101": []},
             lines={"102": ["ringing", "busy", "idle"]})


@scenario("features")
def forward_no_answer_after_seconds(t):
    """ben (101) forwards on no answer after 5 s to 102: 101 rings 5 s (never answers), then 102
    rings and answers. 101 missed the call but someone took it: answered_elsewhere; 102 answered,
    transferred_from 101."""
    ready(t)
    put(t, "/api/v1/me/forwarding", "ben", {"no_answer": "102", "no_answer_seconds": 5})
    t.phone("101", "uas_noanswer.xml", calls=1)
    x = t.caller()
    t.trunk_call("+4930555101", x, talk_ms=1500)
    t.connection("101", "alerting", remote=x)
    t.connection("102", "alerting", remote=x, timeout=15)
    t.finish([Entry("101", "inbound", x, "answered_elsewhere", ring=5.0, talk=0.0),
              Entry("102", "inbound", x, "answered", ring=RING, talk=1.5, transferred_from="101")],
             [Cdr("trunk", "101", "NO ANSWER", billsec=0),
              Cdr("trunk", "102", "ANSWERED", talk_of="102")],
             events={"101": ["delivered", "connectionCleared"],
                     "102": ["delivered", "established", "connectionCleared"]},
             lines={"101": ["ringing", "idle"], "102": ["ringing", "busy", "idle"]})


@scenario("features")
def follow_me_rings_desk_and_mobile(t):
    """dan (103) has his mobile as active device and follow-me on (parallel): an external call
    to 103 rings the desk phone and the mobile (the carrier, answering after 1 s) together; the
    mobile takes it: the mobile is dan's own device, so 103's one entry is answered, carried by
    the mobile (JOURNAL.md, follow-me; issue 14), and the line is busy while it talks."""
    ready(t)
    st, out = t.d.request("PUT", "/api/v1/users/dan/devices/mobile", {"number": "0170 1234567"})
    if st not in (200, 201):
        raise ScenarioFailed(f"PUT dan's mobile: {st} {out}")
    st, out = t.d.request("PUT", "/api/v1/users/dan/devices/active", {"device": "mobile"})
    if st != 200:
        raise ScenarioFailed(f"choosing dan's mobile: {st} {out}")
    s = put(t, "/api/v1/me/follow-me", "dan", {"enabled": True, "mode": "parallel"})
    if s["follow_me"]["number"] != MOBILE:
        raise ScenarioFailed(f"PUT follow-me: {s}")
    t.phone("103", "uas_noanswer.xml", calls=1)
    x = t.caller()
    t.trunk_call("+4930555103", x, talk_ms=2000)
    t.connection("103", "alerting", remote=x)
    t.finish([Entry("103", "inbound", x, "answered", ring=RING, talk=2.0,
                    device={"name": "mobile", "number": MOBILE, "private": True})],
             [Cdr("trunk", "103", "NO ANSWER", billsec=0),
              # the mobile's leg through Local/103@callbridge-followme: 103's entry
              Cdr("trunk", "Local", "ANSWERED", talk_of="103"),
              Cdr("Local", "trunk", "ANSWERED", why="the mobile's leg behind the Local pair"),
              Cdr("Local", None, "ANSWERED", billsec=0, optional=True)],
             events={"103": ["delivered", "established", "connectionCleared"]},
             lines={"103": ["ringing", "busy", "idle"]})
    t.d.request("PUT", "/api/v1/users/dan/devices/active", {"device": None})  # back to the default


@scenario("features")
def follow_me_rewritten_after_login(t):
    """Issue 14: callbridged rewrites the follow-me keys after every (re)connect. dan's follow-me
    rings his mobile; while callbridged is down the key holds an old number (as when dan chose
    another device meanwhile); after callbridged's next AMI login AstDB rings the active mobile
    again, and turning follow-me off removes the keys (no stale ones)."""
    ready(t)
    st, out = t.d.request("PUT", "/api/v1/users/dan/devices/mobile", {"number": "0170 1234567"})
    if st not in (200, 201):
        raise ScenarioFailed(f"PUT dan's mobile: {st} {out}")
    t.d.request("PUT", "/api/v1/users/dan/devices/active", {"device": "mobile"})
    put(t, "/api/v1/me/follow-me", "dan", {"enabled": True, "mode": "sequential", "desk_seconds": 10})
    t.d.stop()
    t.lab.cli("database put callbridge followme/103 +491709999999")
    t.h.restart_daemon(kill=False)
    t.wait(lambda: t.lab.cli("database get callbridge followme/103").strip().splitlines()[-1]
           == f"Value: {MOBILE}", "AstDB followme/103 back to the active mobile after the login")
    s = state(t, "dan")
    if s["follow_me"]["number"] != MOBILE or s["follow_me"]["mode"] != "sequential":
        raise ScenarioFailed(f"follow-me after the login: {s}")
    t.report.append("ok        followme/103 rewritten to the active device after the login")
    t.d.request("DELETE", "/api/v1/me/follow-me?user=dan")
    left = [k for k in ("followme", "fmmode", "fmdesk")
            if "Value:" in t.lab.cli(f"database get callbridge {k}/103")]
    if left:
        raise ScenarioFailed(f"keys left after follow-me off: {left}")
    t.d.request("PUT", "/api/v1/users/dan/devices/active", {"device": None})


@scenario("features")
def forward_unconditional_to_external_number(t):
    """ben (101) forwards every call to the external number 089 123456 (stored as +4989123456):
    the call goes out through the trunk at once, presenting the caller and a Diversion header
    naming 101 with reason unconditional; the carrier answers. 101 never rang: no journal entry
    (the trunk-to-trunk call has no internal party)."""
    ready(t)
    s = put(t, "/api/v1/me/forwarding", "ben", {"unconditional": "089 123456"})
    if s["forwarding"]["unconditional"] != "+4989123456":
        raise ScenarioFailed(f"PUT forwarding: {s}")
    log = t.lab.root / "asterisk/var/log/asterisk/full.log"
    log_off = log.stat().st_size
    t.lab.cli("pjsip set logger on")
    try:
        x = t.caller()
        t.trunk_call("+4930555101", x, talk_ms=1500).wait(30)
        t.lab.wait_no_channels(15)
    finally:
        t.lab.cli("pjsip set logger off")
    rows = t.wait(lambda: (lambda rs: rs if rs else None)(t.cdr_rows()), "the CDR row of the forwarded call")
    if [(r["channel"].split("/")[1].split("-")[0], r["disposition"]) for r in rows][:1] != [("trunk", "ANSWERED")]:
        raise ScenarioFailed(f"CDR: {rows}")
    with open(log, "rb") as f:
        f.seek(log_off)
        sip = f.read().decode(errors="replace")
    invite = re.search(r"INVITE sip:\+4989123456@.*?\r?\n\r?\n", sip, re.S)
    if not invite or not re.search(r"Diversion: <sip:101@[^>]*>;reason=unconditional", invite.group(0)):
        raise ScenarioFailed("the INVITE to the trunk has no Diversion naming 101: "
                             + (invite.group(0)[:600] if invite else "no INVITE to +4989123456 logged"))
    if f"From: <sip:{x}@" not in invite.group(0):
        raise ScenarioFailed(f"the forwarded call does not present the caller {x}")
    t.report.append("ok        INVITE to +4989123456 with From the caller and Diversion 101;reason=unconditional")
    t.wait(lambda: not t.d.calls(), "an empty live call list")
    if t.new_entries():
        raise ScenarioFailed(f"journal entries for a call no internal phone rang: {t.new_entries()}")
    t.report.append("ok        no journal entry")


@scenario("features")
def forward_no_answer_to_external_number(t):
    """ben (101) forwards on no answer after 5 s to 089 123456: 101 rings 5 s, then the call goes
    out through the trunk and the carrier answers. 101's entry: answered_elsewhere (someone took
    the call, as with follow-me) with transferred_to +4989123456 (JOURNAL.md, forward to an
    external number); the trunk-to-trunk leg has no entry."""
    ready(t)
    put(t, "/api/v1/me/forwarding", "ben", {"no_answer": "089 123456", "no_answer_seconds": 5})
    t.phone("101", "uas_noanswer.xml", calls=1)
    x = t.caller()
    t.trunk_call("+4930555101", x, talk_ms=1500)
    t.connection("101", "alerting", remote=x)
    t.finish([Entry("101", "inbound", x, "answered_elsewhere", ring=5.0, talk=0.0, transferred_to="+4989123456")],
             [Cdr("trunk", "101", "NO ANSWER", billsec=0),
              Cdr("trunk", "trunk", "ANSWERED", why="the forwarded call's talk: no internal party, no entry"),
              # the lab's [ddi] Hangup() after the subroutine returned
              Cdr("trunk", None, "ANSWERED", billsec=0, optional=True)],
             events={"101": ["delivered", "connectionCleared"]},
             lines={"101": ["ringing", "idle"]})
