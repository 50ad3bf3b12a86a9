# Live scenario of queues and agents (docs/queues.md), in group "services": the lab's queue
# `support` (ringall, static members 101 and 102, +4930555000) through GET /api/v1/queues, agents
# logged in, paused and logged out through the API (AMI QueueAdd/QueuePause/QueueRemove), and a
# caller waiting in the queue with position and wait while every agent is paused.
# Conventions: scenarios_basic.py, docs/testing.md.
from livetest.scenario import ScenarioFailed, scenario


def _find_support(t):
    return next((q for q in t.d.get("/api/v1/queues")["queues"] if q["name"] == "support"), None)


def _support(t):
    q = _find_support(t)
    if q is None:
        raise ScenarioFailed("queue support not listed")
    return q


def _agent(q, ext):
    return next((a for a in q["agents"] if a["extension"] == ext), None)


def _change(t, method, path, body, want=204):
    st, answer = t.d.request(method, path, body)
    if st != want:
        raise ScenarioFailed(f"{method} {path} {body}: {st} {answer}, want {want}")


@scenario("services")
def queue_agents_and_waiting_caller(t):
    """support lists 101 and 102 (static), wrap-up 0 s (queues.conf through GetConfig). 103 logs in (POST members: dynamic member), pauses with
    the reason "live test" (PATCH); 101 and 102 pause too, so a caller from the carrier waits in the
    queue without ringing anyone: listed at position 1 with its number and a growing wait; it gives
    up after 4 s (abandoned today + 1). Errors: 103 again (409 already-a-member), unknown queue
    (404), 101 log out (static: 409 pbx-refused). Unpause, 103 logs out: gone. Queue events on the
    admin's stream."""
    ws_from = len(t.ws.snapshot_messages())
    # the queue's wrapuptime (0 in the lab's queues.conf) from GetConfig after the resync
    # (the first scenario of a fresh callbridged may start before its resync has listed the queue)
    q = t.wait(lambda: (q := _find_support(t)) and q["wrapup_seconds"] is not None and q, "support's wrapuptime")
    if q["wrapup_seconds"] != 0:
        raise ScenarioFailed(f"support's wrapup_seconds: {q['wrapup_seconds']}")
    if not _agent(q, "101") or not _agent(q, "102") or _agent(q, "101")["membership"] != "static":
        raise ScenarioFailed(f"support's agents: {q['agents']}")
    abandoned_before = q["abandoned_today"]
    base = "/api/v1/queues/support/members"
    try:
        _change(t, "POST", base, {"extension": "103", "name": "Dora Delta"})
        t.wait(lambda: (a := _agent(_support(t), "103")) and a["membership"] == "dynamic" and a["name"] == "Dora Delta",
               "103 logged in to support")
        _change(t, "POST", base, {"extension": "103"}, want=409)
        _change(t, "PATCH", "/api/v1/queues/nosuch/members/103", {"paused": True}, want=404)
        _change(t, "DELETE", f"{base}/101", None, want=409)
        _change(t, "PATCH", f"{base}/103", {"paused": True, "reason": "live test"})
        for ext in ("101", "102"):
            _change(t, "PATCH", f"{base}/{ext}", {"paused": True, "reason": "lunch"})
        paused = t.wait(lambda: (q := _support(t)) and all(_agent(q, e)["paused"] for e in ("101", "102", "103")) and q,
                        "101, 102, 103 paused")
        a103 = _agent(paused, "103")
        if a103["state"] != "paused" or a103["paused_reason"] != "live test":
            raise ScenarioFailed(f"103 paused: {a103}")
        t.report.append(f"agents: {[(a['extension'], a['state'], a['paused_reason']) for a in paused['agents']]}")

        x = t.caller()
        t.trunk_call("+4930555000", x, scenario="trunk_cancel_noring.xml", talk_ms=4000)
        waiting = t.wait(lambda: (q := _support(t)) and q["callers"] and q, "the caller waiting in support", timeout=10)
        c = waiting["callers"][0]
        if c["position"] != 1 or c["number"] != x or waiting["waiting"] != 1:
            raise ScenarioFailed(f"waiting caller: {waiting['callers']}")
        later = t.wait(lambda: (q := _support(t)) and q["callers"] and q["longest_wait"] >= 2 and q,
                       "the wait to grow", timeout=5)
        t.report.append(f"caller {x} at position {c['position']}, waited {later['longest_wait']} s")
        gone = t.wait(lambda: (q := _support(t)) and not q["callers"] and q, "the caller to give up", timeout=15)
        if gone["abandoned_today"] != abandoned_before + 1:
            raise ScenarioFailed(f"abandoned today {gone['abandoned_today']}, was {abandoned_before}")
    finally:
        for ext in ("101", "102"):
            t.d.request("PATCH", f"{base}/{ext}", {"paused": False})
        t.d.request("DELETE", f"{base}/103", None)
    t.wait(lambda: (q := _support(t)) and not _agent(q, "103") and not any(a["paused"] for a in q["agents"]),
           "103 logged out, 101 and 102 unpaused")
    t.lab.wait_no_channels(20)
    t.h.done_linkedids.update(r["linkedid"] for r in t.cdr_rows())
    seen = [m for m in t.ws.snapshot_messages()[ws_from:] if m.get("type") == "queue"]
    if len(seen) < 6 or not all(m["event"] == "changed" and m["queue"]["name"] == "support" for m in seen):
        raise ScenarioFailed(f"queue events on the admin's stream: {len(seen)}")
    t.report.append(f"{len(seen)} queue events")
