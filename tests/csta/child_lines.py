"""Shared by the CSTA end-to-end tests (csta_e2e_test.py, csta_loopback_test.py): a child process
whose output lines are read as they come, without sleeping, and the tests' one way to fail."""

import os
import re
import select
import signal
import subprocess
import sys
import time


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


class Proc:
    """A child process whose stdout (and stderr) lines are read as they come, without sleeping.
    `deadline_s` is how long wait_line waits when the caller names no timeout."""

    def __init__(self, args, deadline_s, **kw):
        self.args = args
        self.deadline_s = deadline_s
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
        self.lines = []
        self.buf = b""

    def pump(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], max(0.0, timeout))
        if not r:
            return False
        chunk = os.read(self.p.stdout.fileno(), 65536)
        if not chunk:
            return False
        self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self.lines.append(line.decode(errors="replace"))
        return True

    def wait_line(self, pattern, timeout=None, start=0):
        """The first line from index `start` on matching `pattern` (a regex): (index, match)."""
        rx = re.compile(pattern)
        end = time.monotonic() + (self.deadline_s if timeout is None else timeout)
        i = start
        while True:
            while i < len(self.lines):
                m = rx.search(self.lines[i])
                if m:
                    return i, m
                i += 1
            left = end - time.monotonic()
            if left <= 0 or (self.p.poll() is not None and not self.pump(0)):
                fail(f"no line matching {pattern!r} from {self.args[0]}:\n" + "\n".join(self.lines[-40:]))
            self.pump(min(left, 0.5))

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
