# Minimal WebSocket client (RFC 6455, client side, text frames) for callbridged's /api/v1/events.
# Used by the live harness (tests/live): one reader thread per connection collects every JSON
# message; the test thread waits on conditions over them. Standard library only.
import base64
import json
import os
import socket
import struct
import threading
import time


class WsError(Exception):
    pass


class WsClient:
    """Connects, upgrades, then a daemon thread reads frames into self.messages (parsed JSON)."""

    MAX_FRAME = 16 << 20  # a snapshot of a busy tenant is big, but never this big

    def __init__(self, port, path, token, timeout=5.0):
        self.messages = []
        self.closed = None  # (code, reason) or an exception text once the stream ended
        self._cv = threading.Condition()
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"Authorization: Bearer {token}\r\n\r\n")
        self._sock.sendall(req.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self._sock.recv(4096)
            if not chunk:
                raise WsError("connection closed during the upgrade")
            head += chunk
            if len(head) > 65536:
                raise WsError("upgrade answer too long")
        head, self._buf = head.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n", 1)[0].decode(errors="replace")
        if " 101 " not in status + " ":
            raise WsError(f"upgrade refused: {status}")
        self._sock.settimeout(None)
        self._send_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _read(self, n):
        while len(self._buf) < n:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise WsError("connection closed")
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _send_frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            hdr = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            hdr = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            hdr = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        with self._send_lock:
            self._sock.sendall(hdr + mask + masked)

    def _run(self):
        parts = []
        try:
            while True:
                b0, b1 = self._read(2)
                fin, opcode, n = b0 & 0x80, b0 & 0x0F, b1 & 0x7F
                if b1 & 0x80:
                    raise WsError("server frame is masked")
                if n == 126:
                    n = struct.unpack("!H", self._read(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", self._read(8))[0]
                if n > self.MAX_FRAME:
                    raise WsError(f"frame of {n} bytes")
                payload = self._read(n)
                if opcode == 0x8:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                    raise WsError(f"closed by server: {code} {payload[2:].decode(errors='replace')}")
                if opcode == 0x9:
                    self._send_frame(0xA, payload)
                    continue
                if opcode in (0x1, 0x2, 0x0):
                    parts.append(payload)
                    if fin:
                        text = b"".join(parts).decode()
                        parts = []
                        msg = json.loads(text)
                        msg["_rx"] = time.time()
                        with self._cv:
                            self.messages.append(msg)
                            self._cv.notify_all()
        except (OSError, WsError, ValueError) as e:
            with self._cv:
                self.closed = str(e)
                self._cv.notify_all()

    def wait_for(self, pred, timeout, what):
        """Waits until pred(messages) is truthy; returns its value or raises AssertionError."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                v = pred(self.messages)
                if v:
                    return v
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise AssertionError(f"WebSocket: timed out waiting for {what}"
                                         + (f" (stream ended: {self.closed})" if self.closed else ""))
                self._cv.wait(left)

    def snapshot_messages(self):
        with self._cv:
            return list(self.messages)

    def close(self):
        try:
            self._send_frame(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._thread.join(timeout=2)
