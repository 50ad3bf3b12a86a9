# The real Asterisk lab (../shared/lab, installed by tests/live/lab_fixture.py) as the live
# scenarios drive it: lab.sh, SIPp calls and phone behaviours, Asterisk's CLI and its CDR file.
# Called from the scenario thread only. Every process started here is tracked by pid and ended by
# pid (never by name: other people's SIPp/Asterisk may run on the same machine).
import csv
import ctypes
import io
import os
import re
import signal
import subprocess
import time
from pathlib import Path

TRUNK_UAC_PORT = 5071  # the carrier's second address (identify matches 5070 and 5071);
                       # 5070 keeps the answering carrier UAS for outbound calls and mobiles
CDR_FIELDS = ["accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
              "lastdata", "start", "answer", "end", "duration", "billsec", "disposition",
              "amaflags", "uniqueid", "userfield", "peeraccount", "linkedid", "sequence"]


class LabError(Exception):
    pass


def _alive(pid):
    """Running (a zombie is not: it holds no port any more, and its reaper may be slow - a
    container's PID 1 reaps orphans only every second or two)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2] != "Z"
    except (OSError, ValueError, IndexError):
        return False


def _comm(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def die_with_parent():
    """preexec_fn: the child gets SIGTERM when the harness dies (ctest kills a test that runs
    over its timeout with SIGKILL; its callbridged and calls must not outlive it)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Sipp:
    """One SIPp process started by the harness (a call, or a phone's UAS)."""

    def __init__(self, lab, name, args, log_name, tied=True):
        self.name = name
        self.log = lab.log / f"{log_name}.out"
        self.err = lab.log / f"{log_name}.err"
        for f in (self.err,):
            f.unlink(missing_ok=True)
        self.cmd = [lab.sipp, *args, "-nostdin", "-trace_err", "-error_file", str(self.err)]
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=lab.env,
                                         preexec_fn=die_with_parent if tied else None)
        self.started = time.time()

    @property
    def pid(self):
        return self.proc.pid

    def wait(self, timeout=60):
        """Waits for the end of the call(s); raises when SIPp failed (its error log in the text)."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise LabError(f"{self.name}: SIPp still running after {timeout} s")
        if rc != 0:
            tail = self.err.read_text(errors="replace")[-1500:] if self.err.exists() else ""
            raise LabError(f"{self.name}: SIPp exit code {rc}: {' '.join(self.cmd)}\n{tail}")
        return rc

    def running(self):
        return self.proc.poll() is None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Lab:
    def __init__(self, root):
        self.root = Path(root).resolve()
        self.run = self.root / "run"
        self.log = self.root / "log"
        self.sc = self.root / "sipp"
        self.cdr_file = self.root / "asterisk/var/log/asterisk/cdr-csv/Master.csv"
        self.sipp = os.environ.get("SIPP", "sipp")
        self.env = {**os.environ, "LAB": str(self.root)}
        self.ring_ms = 1000  # what `lab.sh phones` gives every phone UAS (RING_MS default)
        self._phones = {}  # ext -> Sipp the harness put in place of the lab's uas_answer
        self.extra_sc = Path(__file__).resolve().parent.parent / "sipp"

    # ---------------------------------------------------------------- lab.sh and Asterisk
    def sh(self, *args, timeout=180):
        r = subprocess.run([str(self.root / "bin/lab.sh"), *args], env=self.env, capture_output=True,
                           text=True, timeout=timeout)
        if r.returncode != 0:
            raise LabError(f"lab.sh {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r.stdout

    def cli(self, command):
        return self.sh("cli", command, timeout=30)

    def channel_count(self):
        out = self.cli("core show channels count")
        m = re.search(r"(\d+) active channels?", out)
        if not m:
            raise LabError(f"cannot read the channel count from: {out!r}")
        return int(m.group(1))

    def wait_no_channels(self, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            n = self.channel_count()
            if n == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"Asterisk still has {n} channels after {timeout} s:\n"
                                     + self.cli("core show channels"))
            time.sleep(0.1)

    def ami_up(self):
        import socket
        try:
            with socket.create_connection(("127.0.0.1", 5038), timeout=2) as s:
                return s.recv(100).startswith(b"Asterisk Call Manager/")
        except OSError:
            return False

    def asterisk_version(self):
        out = self.cli("core show version")
        return next((l for l in out.splitlines() if l.startswith("Asterisk ")), out.strip())

    # ---------------------------------------------------------------- CDR
    def cdr_offset(self):
        try:
            return self.cdr_file.stat().st_size
        except FileNotFoundError:
            return 0

    def cdr_rows(self, offset):
        """CDR rows appended to Master.csv after offset (cdr_csv writes at each hangup)."""
        try:
            with open(self.cdr_file, "rb") as f:
                f.seek(offset)
                data = f.read().decode(errors="replace")
        except FileNotFoundError:
            return []
        rows = []
        for rec in csv.reader(io.StringIO(data)):
            if not rec:
                continue
            row = dict(zip(CDR_FIELDS, rec))
            for k in ("duration", "billsec"):
                row[k] = int(row[k]) if row.get(k, "").isdigit() else 0
            rows.append(row)
        return rows

    # ---------------------------------------------------------------- SIPp
    def scenario(self, name):
        """A SIPp scenario: the lab's own ($LAB/sipp) or the harness's (tests/live/sipp, @LAB@
        rewritten like install.sh does, into $LAB/sipp-live)."""
        p = self.sc / name
        if p.exists():
            return p
        src = self.extra_sc / name
        if not src.exists():
            raise LabError(f"no SIPp scenario {name}")
        dst_dir = self.root / "sipp-live"
        dst_dir.mkdir(exist_ok=True)
        dst = dst_dir / name
        dst.write_text(src.read_text().replace("@LAB@", str(self.root)))
        return dst

    @staticmethod
    def _opts(port, mport):
        return ["-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1", "-mp", str(mport),
                "-ci", "127.0.0.1", "-aa"]

    def trunk_call(self, did, caller, scenario="trunk_call.xml", talk_ms=1500, timeout=60, extra=()):
        """The carrier (from 127.0.0.1:5071) calls DID; see the scenario for what -d means."""
        args = ["127.0.0.1:5060", "-sf", str(self.scenario(scenario)), "-s", did, "-d", str(talk_ms),
                *self._opts(TRUNK_UAC_PORT, 6800), "-m", "1", "-timeout", str(timeout),
                "-timeout_error", *extra]
        if caller is not None:
            args += ["-key", "caller", caller]
        return Sipp(self, f"trunk->{did}", args, "live-trunk-uac")

    def phone_call(self, ext, number, scenario="phone_call.xml", talk_ms=1500, timeout=60, extra=()):
        """Phone EXT (UAC on 127.0.0.1:52xx, digest auth) dials NUMBER."""
        n = int(ext) - 100
        args = ["127.0.0.1:5060", "-sf", str(self.scenario(scenario)), "-s", number, "-key", "ext", ext,
                "-au", ext, "-ap", f"pw{ext}", "-d", str(talk_ms), *self._opts(5200 + n, 6200 + 10 * n),
                "-m", "1", "-timeout", str(timeout), "-timeout_error", *extra]
        return Sipp(self, f"{ext}->{number}", args, f"live-uac-{ext}")

    def kill_pidfile(self, name):
        pf = self.run / f"{name}.pid"
        try:
            pid = int(pf.read_text().strip())
        except (OSError, ValueError):
            return
        if _alive(pid) and _comm(pid) == "sipp":
            # between calls a UAS holds no dialog: SIGKILL frees the port at once (SIGTERM takes ~2 s)
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
        pf.unlink(missing_ok=True)

    @staticmethod
    def _uas_place(ext):
        """(pid file name, SIP port, media port) of phone EXT or of "carrier" (the answering
        carrier UAS on 127.0.0.1:5070 that outbound calls and mobiles reach)."""
        if ext == "carrier":
            return "carrier-uas", 5070, 6700
        n = int(ext) - 100
        return f"uas-{ext}", 5100 + n, 6100 + 10 * n

    def phone(self, ext, scenario="uas_answer.xml", ring_ms=None, calls=None, extra=()):
        """Puts a SIPp UAS with SCENARIO on phone EXT's registered address (127.0.0.1:51xx; or the
        carrier's 127.0.0.1:5070 for EXT "carrier"), replacing what answered there. Its pid goes
        to the lab's pid file, so `lab.sh stop` ends it too. `-d` is the ring time for
        uas_answer/uas_reject, the delay before 486 for uas_busy (ms)."""
        pidname, port, mport = self._uas_place(ext)
        old = self._phones.pop(ext, None)
        if old is not None:
            old.kill()  # ours: killed and reaped (a zombie would look alive to _kill_pidfile)
        self.kill_pidfile(pidname)
        args = ["-sf", str(self.scenario(scenario)), "-key", "ext", ext,
                "-d", str(self.ring_ms if ring_ms is None else ring_ms),
                *self._opts(port, mport), *extra]
        if calls:
            args += ["-m", str(calls)]
        # a UAS outlives the harness (the lab's default phones are ours after restore_all)
        p = Sipp(self, f"{ext} UAS ({scenario})", args, f"live-uas-{ext}", tied=False)
        (self.run / f"{pidname}.pid").write_text(f"{p.pid}\n")
        self._phones[ext] = p
        # the UAS must listen before a call reaches it: wait until its port is bound
        deadline = time.monotonic() + 5
        while not _udp_bound(port):
            if not p.running():
                raise LabError(f"{ext}: SIPp exited at start ({p.log})")
            if time.monotonic() > deadline:
                raise LabError(f"{ext}: SIPp did not bind 127.0.0.1:{port}")
            time.sleep(0.02)
        return p

    def release_phone(self, ext):
        """Stops what answers on phone EXT's address (a scripted phone binds it instead);
        restore_all() puts the default UAS back."""
        old = self._phones.pop(ext, None)
        if old:
            old.kill()
        self.kill_pidfile(self._uas_place(ext)[0])
        self._phones[ext] = None

    def restore_phone(self, ext):
        """Back to the default: uas_answer, ring RING_MS (the carrier: CARRIER_RING_MS, also
        1 s), any number of calls."""
        return self.phone(ext)

    def sipp_overloads(self, since):
        """Stalls (ms) SIPp's watchdog logged after SINCE (epoch s) in the harness's SIPp error
        files: "Overload warning: the minor watchdog timer 500ms has been tripped (1860)"."""
        out = []
        for f in self.log.glob("live-*.err"):
            try:
                text = f.read_text(errors="replace")
            except OSError:
                continue
            for m in re.finditer(r"(\d+\.\d+): Overload warning: .*?tripped \((\d+)\)", text):
                if float(m.group(1)) >= since:
                    out.append(int(m.group(2)))
        return out

    def ensure_defaults(self):
        """Every phone and the carrier answer as `lab_fixture.py setup` left them (uas_answer,
        any number of calls). A harness killed mid-scenario (ctest timeout) cannot put back what
        it changed; the next one does it here."""
        for ext in ["100", "101", "102", "103", "104", "105", "carrier"]:
            pidname = self._uas_place(ext)[0]
            try:
                pid = int((self.run / f"{pidname}.pid").read_text().strip())
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except (OSError, ValueError):
                pid, cmd = None, []
            fine = pid and _alive(pid) and any(c.endswith(b"uas_answer.xml") for c in cmd) and b"-m" not in cmd
            if not fine:
                self.phone(ext)

    def restore_all(self):
        for ext in list(self._phones):
            p = self._phones[ext]
            if p is not None and p.running() and p.cmd[2].endswith("uas_answer.xml") and "-m" not in p.cmd:
                continue
            self.restore_phone(ext)


def _udp_bound(port):
    want = f"0100007F:{port:04X}"
    try:
        with open("/proc/net/udp") as f:
            return any(line.split()[1] == want for line in f.readlines()[1:])
    except OSError:
        return False
