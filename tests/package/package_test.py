#!/usr/bin/env python3
"""The Debian package end to end (ctest label `package`, docs/install.md): builds callbridge_*.deb
from the already built tree (debian/rules with CALLBRIDGE_PREBUILT: no second compile), runs lintian
(errors fail, warnings are printed), installs it with apt-get, starts the service, checks /healthz
and that data written by the service user is served, purges the package (configuration and
programs go, /var/lib/callbridge stays), installs it again over the existing data and checks the
data is still there, then purges it again.

The service: with systemd as PID 1 through systemctl; otherwise the unit's ExecStart as the unit's
User= with what systemd would give it (StateDirectory= made and owned, UMask=, NOTIFY_SOCKET,
WATCHDOG_USEC, no capabilities, no new privileges), in a network namespace of its own so that the
unit's fixed 127.0.0.1:8080 does not meet other daemons on a developer's machine. This test acts
as the service manager then: it waits for READY=1 from the main process.

Needs root (exit 77 = skipped otherwise; a failure with CB_PACKAGE_REQUIRED=1, as .ci/run sets) and dpkg-dev, debhelper, lintian (scripts/install-deps.sh).
Refuses to run where callbridge is installed or /var/lib/callbridge exists (it would purge them).
usage: package_test.py --source-dir DIR --build-dir DIR [--deb FILE]
"""
import argparse
import fcntl
import json
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

DEADLINE_S = 30
UNIT = "/lib/systemd/system/callbridge.service"
STATE = "/var/lib/callbridge"


def log(msg):
    print(f"package: {msg}", flush=True)


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def run(argv, check=True, **kw):
    t = time.monotonic()
    r = subprocess.run(argv, text=True, capture_output=True, **kw)
    if check and r.returncode != 0:
        fail(f"{' '.join(map(shlex.quote, argv))} exited {r.returncode}\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    r.seconds = time.monotonic() - t
    return r


def systemd_is_pid1():
    return os.path.isdir("/run/systemd/system")


def unit_settings():
    """Key -> list of values of the installed unit's [Service] section."""
    out, section = {}, None
    with open(UNIT) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                section = line
                continue
            if section == "[Service]" and "=" in line:
                k, v = line.split("=", 1)
                out.setdefault(k, []).append(v)
    return out


class ManualService:
    """The unit's ExecStart run the way systemd would run it, this process acting as the manager."""

    def __init__(self, tmp):
        self.unit = unit_settings()
        self.tmp = tmp
        self.proc = None

    def start(self):
        u = self.unit
        user = u["User"][0]
        pw = pwd.getpwnam(user)
        # StateDirectory=callbridge + StateDirectoryMode=0700: made and owned by the user.
        state = "/var/lib/" + u["StateDirectory"][0]
        os.makedirs(state, exist_ok=True)
        os.chown(state, pw.pw_uid, pw.pw_gid)
        os.chmod(state, int(u.get("StateDirectoryMode", ["0755"])[0], 8))
        # Reachable by the service user (the test's own temp dir is 0700): a dir of its own in /tmp.
        sock_dir = tempfile.mkdtemp(prefix="cb-package-notify-")
        self.sock_dir = sock_dir
        os.chmod(sock_dir, 0o755)
        path = os.path.join(sock_dir, "notify")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(path)
        os.chmod(path, 0o777)
        self.notify.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        watchdog_s = int(u["WatchdogSec"][0].rstrip("s"))
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "USER": user, "LOGNAME": user,
               "HOME": pw.pw_dir, "STATE_DIRECTORY": state, "CONFIGURATION_DIRECTORY": "/etc/callbridge",
               "NOTIFY_SOCKET": path, "WATCHDOG_USEC": str(watchdog_s * 1_000_000)}
        exec_start = shlex.split(u["ExecStart"][0])
        umask = u.get("UMask", ["0022"])[0]
        # unshare -n: a network namespace of our own; setpriv: the user, its groups, no capabilities
        # (CapabilityBoundingSet= empty), NoNewPrivileges=yes. Each execs, so the pid stays the
        # daemon's (NotifyAccess=main is checked below).
        argv = ["unshare", "--net", "sh", "-c", f'ip link set lo up && umask {umask} && exec "$@"', "sh",
                "setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups", "--no-new-privs",
                "--inh-caps=-all", "--bounding-set=-all", *exec_start]
        self.log_path = os.path.join(self.tmp, "callbridged.log")
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(argv, env=env, stdout=self.log_file, stderr=subprocess.STDOUT, cwd="/")
        self.wait_notify("READY=1")

    def wait_notify(self, key):
        end = time.monotonic() + DEADLINE_S
        seen = []
        while time.monotonic() < end:
            self.notify.settimeout(max(0.1, end - time.monotonic()))
            try:
                data, anc, _, _ = self.notify.recvmsg(4096, socket.CMSG_SPACE(12))
            except socket.timeout:
                break
            pid = next((int.from_bytes(p[0:4], "little") for lvl, kind, p in anc
                        if lvl == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS), None)
            msg = data.decode()
            seen.append(msg)
            if key in msg.split("\n"):
                if pid != self.proc.pid:
                    fail(f"{key} from pid {pid}, not the main process {self.proc.pid}")
                return msg
        fail(f"service: no {key} within {DEADLINE_S} s (got {seen}); log:\n{self.logs()}")

    def curl(self, path, token=None):
        argv = ["nsenter", "-t", str(self.proc.pid), "-n", "curl", "-sS", "-o", "-", "-w", "\n%{http_code}"]
        if token:
            argv += ["-H", f"Authorization: Bearer {token}"]
        r = run(argv + ["http://127.0.0.1:8080" + path], check=False)
        body, _, code = r.stdout.rpartition("\n")
        return int(code or 0), body

    def stop(self):
        self.proc.terminate()
        self.wait_notify("STOPPING=1")
        rc = self.proc.wait(timeout=DEADLINE_S)
        self.notify.close()
        shutil.rmtree(self.sock_dir, ignore_errors=True)
        self.log_file.close()
        if rc != 0:
            fail(f"callbridged exited {rc} on SIGTERM; log:\n{self.logs()}")

    def logs(self):
        with open(self.log_path) as f:
            return f.read()[-6000:]

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(getattr(self, "sock_dir", ""), ignore_errors=True)


class SystemdService:
    """systemd as PID 1: the real unit, hardening and all."""

    def __init__(self, tmp):
        pass

    def start(self):
        run(["systemctl", "restart", "callbridge"])  # Type=notify: returns once READY=1 arrived
        run(["systemctl", "is-active", "callbridge"])

    def curl(self, path, token=None):
        argv = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}"]
        if token:
            argv += ["-H", f"Authorization: Bearer {token}"]
        r = run(argv + ["http://127.0.0.1:8080" + path], check=False)
        body, _, code = r.stdout.rpartition("\n")
        return int(code or 0), body

    def stop(self):
        run(["systemctl", "stop", "callbridge"])

    def logs(self):
        return run(["journalctl", "-u", "callbridge", "--no-pager", "-n", "100"], check=False).stdout

    def kill(self):
        run(["systemctl", "stop", "callbridge"], check=False)


def build_package(source, build, out):
    """debian/ of the source over the built tree: dpkg-buildpackage in a copy holding only debian/,
    so the checkout stays clean and the .deb lands in `out`."""
    work = os.path.join(out, "callbridge")
    shutil.copytree(os.path.join(source, "debian"), os.path.join(work, "debian"))
    env = dict(os.environ, CALLBRIDGE_PREBUILT=os.path.abspath(build))
    r = run(["dpkg-buildpackage", "-b", "-uc", "-us"], cwd=work, env=env)
    debs = [f for f in os.listdir(out) if re.fullmatch(r"callbridge_[^_]+_[^_]+\.deb", f)]
    if len(debs) != 1:
        fail(f"expected one callbridge_*.deb in {out}, found {os.listdir(out)}")
    return os.path.join(out, debs[0]), r.seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--deb", help="test this package instead of building one (iterating on the test)")
    a = ap.parse_args()
    if os.geteuid() != 0:
        if os.environ.get("CB_PACKAGE_REQUIRED") == "1":  # .ci/run: no silent skip
            fail("the package test needs root and CB_PACKAGE_REQUIRED=1 is set")
        print("SKIPPED: the package test installs a .deb and needs root (CI runs as root)")
        sys.exit(77)
    for tool in ("dpkg-buildpackage", "dh", "lintian", "apt-get", "curl", "setpriv", "unshare", "nsenter", "ip"):
        if not shutil.which(tool):
            fail(f"{tool} not found (bash scripts/install-deps.sh installs what this test needs)")
    # One run at a time on a machine: it installs and purges the system's package.
    lock = open("/run/lock/callbridge-package-test.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    installed = run(["dpkg-query", "-W", "-f=${Status}", "callbridge"], check=False).stdout
    if "installed" in installed and "not-installed" not in installed or os.path.exists(STATE):
        fail("callbridge is installed here or /var/lib/callbridge exists: this test purges both, run it elsewhere")

    service = None
    with tempfile.TemporaryDirectory(prefix="cb-package-") as tmp:
        try:
            if a.deb:
                deb = os.path.abspath(a.deb)
            else:
                deb, build_s = build_package(a.source_dir, a.build_dir, tmp)
                log(f"built {os.path.basename(deb)} ({os.path.getsize(deb) // 1024} KiB) in {build_s:.1f} s")
            r = run(["lintian", "--no-tag-display-limit", deb], check=False)
            tags = [l for l in r.stdout.splitlines() if re.match(r"[EWIPX]: ", l)]
            errors = [l for l in tags if l.startswith("E: ")]
            for l in tags:
                log(f"lintian {l}")
            if errors or r.returncode not in (0, 1) or (r.returncode == 1 and not tags):
                fail(f"lintian: {len(errors)} error(s), exit {r.returncode}\n{r.stdout}{r.stderr}")
            log(f"lintian: {len(errors)} errors, {sum(l.startswith('W: ') for l in tags)} warnings ({r.seconds:.1f} s)")

            def install():
                r = run(["apt-get", "install", "-y", "-q", "--no-install-recommends", deb],
                        env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
                log(f"installed in {r.seconds:.1f} s")
                for path in ("/usr/sbin/callbridged", "/usr/bin/callbridge", "/usr/share/callbridge/web/index.html",
                             "/usr/share/callbridge/asterisk/callbridge.conf",
                             "/usr/share/man/man8/callbridged.8.gz", "/usr/share/man/man1/callbridge.1.gz", UNIT,
                             "/usr/lib/sysusers.d/callbridge.conf", "/etc/callbridge/callbridge.toml"):
                    if not os.path.exists(path):
                        fail(f"{path} missing after install")
                pw = pwd.getpwnam("callbridge")  # systemd-sysusers made it
                st = os.stat("/etc/callbridge/callbridge.toml")
                if st.st_gid != pw.pw_gid or st.st_mode & 0o777 != 0o640:
                    fail(f"/etc/callbridge/callbridge.toml: mode {oct(st.st_mode)} gid {st.st_gid}, want 0640 group callbridge")

            install()
            service = SystemdService(tmp) if systemd_is_pid1() else ManualService(tmp)
            log(f"service via {'systemd' if systemd_is_pid1() else 'the unit ExecStart as user callbridge'}")
            t = time.monotonic()
            service.start()
            log(f"ready in {time.monotonic() - t:.1f} s")
            code, body = service.curl("/healthz")
            if (code, body.strip()) != (200, "ok"):
                fail(f"/healthz: {code} {body!r}; log:\n{service.logs()}")
            code, body = service.curl("/")
            if code != 200 or "<html" not in body.lower():
                fail(f"web client at /: {code}; log:\n{service.logs()}")
            # Data of the service: a token made by the CLI as the service user on the data dir.
            r = run(["runuser", "-u", "callbridge", "--", "callbridge", "token", "create", "--data-dir", STATE,
                     "--role", "admin", "--user", "package-test"])
            token = re.search(r"cbt_[A-Za-z0-9_\-]+", r.stdout + r.stderr)
            if not token:
                fail(f"no token in: {r.stdout}{r.stderr}")
            token = token.group(0)
            code, body = service.curl("/api/v1/me", token)
            if code != 200:
                fail(f"/api/v1/me with the new token: {code} {body}")
            service.stop()

            r = run(["apt-get", "purge", "-y", "-q", "callbridge"], env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
            for gone in ("/usr/sbin/callbridged", "/etc/callbridge/callbridge.toml", UNIT):
                if os.path.exists(gone):
                    fail(f"{gone} still there after purge")
            if not os.path.exists(os.path.join(STATE, "identity.db")):
                fail("purge removed the data in /var/lib/callbridge")
            log("purged: programs and configuration gone, /var/lib/callbridge kept")

            install()
            service.start()
            code, body = service.curl("/api/v1/me", token)
            if code != 200 or "package-test" not in body:
                fail(f"after reinstalling over the data, /api/v1/me with the old token: {code} {body}")
            log("reinstalled over the existing data: the token made before still signs in")
            service.stop()
            service = None
        finally:
            if service:
                print(service.logs())
                service.kill()
            run(["apt-get", "purge", "-y", "-q", "callbridge"], check=False,
                env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
            shutil.rmtree(STATE, ignore_errors=True)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
