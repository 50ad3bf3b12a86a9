# Live scenario of the device registry (docs/devices.md), in group "basic": what GET /api/v1/devices
# lists for the lab's phones (registered by `lab.sh phones`: SIPp, User-Agent SIPp-phone-<ext>,
# from 127.0.0.1:51xx) and the trunk, and a real unregister / register of one phone through
# Asterisk's ContactStatus events and the PJSIPShowEndpoint callbridged then sends.
# Conventions: scenarios_basic.py, docs/testing.md.
from livetest.daemon import PHONES
from livetest.lab import Lab, Sipp
from livetest.scenario import ScenarioFailed, scenario


def _devices(t):
    return {d["endpoint"]: d for d in t.d.get("/api/v1/devices")["devices"]}


def _sipp_register(t, ext, xml):
    """The lab's register.xml / unregister.xml from phone EXT's own address (its UAS released)."""
    n = int(ext) - 100
    args = ["127.0.0.1:5060", "-sf", str(t.lab.scenario(xml)), "-s", ext, "-au", ext, "-ap", f"pw{ext}",
            *Lab._opts(5100 + n, 6100 + 10 * n), "-m", "1", "-timeout", "15", "-timeout_error"]
    Sipp(t.lab, f"{ext} {xml}", args, f"live-{xml[:-4]}-{ext}").wait(30)


@scenario("basic")
def device_registry(t):
    """The registry lists 100..105 registered from 127.0.0.1:5100..5105 with User-Agent
    SIPp-phone-<ext>, on hook, and the trunk's configured contact 127.0.0.1:5070. 105 unregisters:
    unregistered and offline; an admin removes it (DELETE, 204, gone); it registers again: back,
    registered from 127.0.0.1:5105 with its User-Agent; the admin's stream saw the changes."""
    devs = _devices(t)
    problems = []
    for ext in PHONES:
        d = devs.get(ext)
        if d is None:
            problems.append(f"{ext}: not listed")
            continue
        want = {"extension": ext, "sip_user": ext, "registration": "registered",
                "address": f"127.0.0.1:{5100 + int(ext) - 100}", "user_agent": f"SIPp-phone-{ext}",
                "status": "on_hook"}
        for k, v in want.items():
            if d.get(k) != v:
                problems.append(f"{ext}: {k}={d.get(k)!r}, want {v!r}")
        t.report.append(f"{ext}: {d.get('registration')} {d.get('address')} {d.get('user_agent')!r} {d.get('status')}")
    trunk = devs.get("trunk")
    if not trunk or trunk.get("registration") != "static" or trunk.get("address") != "127.0.0.1:5070" or trunk.get("extension"):
        problems.append(f"trunk: {trunk}")
    if problems:
        raise ScenarioFailed("device registry:\n" + "\n".join(problems))

    ws_from = len(t.ws.snapshot_messages())
    dev_id = devs["105"]["id"]
    t.lab.release_phone("105")  # restore_all() puts its UAS back after the scenario
    _sipp_register(t, "105", "unregister.xml")
    t.wait(lambda: (d := _devices(t).get("105")) and d["registration"] == "unregistered" and d["status"] == "offline"
           and d["address"] == "", "105 unregistered and offline in the registry")
    st, body = t.d.request("DELETE", f"/api/v1/devices/{dev_id}")
    if st != 204 or "105" in _devices(t):
        raise ScenarioFailed(f"DELETE {dev_id}: {st} {body}")
    _sipp_register(t, "105", "register.xml")
    back = t.wait(lambda: (d := _devices(t).get("105")) and d["registration"] == "registered"
                  and d["user_agent"] == "SIPp-phone-105" and d, "105 back in the registry with its User-Agent")
    if back["address"] != "127.0.0.1:5105" or back["sip_user"] != "105" or back["id"] != dev_id:
        raise ScenarioFailed(f"105 after registering again: {back}")
    seen = [m for m in t.ws.snapshot_messages()[ws_from:] if m.get("type") == "device"]
    kinds = [(m["event"], m.get("id") or m["device"]["id"]) for m in seen]
    if ("removed", dev_id) not in kinds or not any(k == ("changed", dev_id) for k in kinds):
        raise ScenarioFailed(f"device events on the admin's stream: {kinds}")
    t.report.append(f"105 unregistered, removed, registered again; {len(seen)} device events")
