# A small scripted SIP phone (UDP, one socket on the phone's registered address) for what SIPp
# cannot do in one scenario: two dialogs at once - answer a call, hold it, place a consultation
# call (digest auth), then REFER the first call with Replaces of the second (the attended
# transfer desk phones do). No RTP: Asterisk needs none for signalling.
# Runs its script in its own thread; the scenario thread waits on `done`.
import hashlib
import os
import random
import re
import socket
import threading
import time

PBX = ("127.0.0.1", 5060)


class SipError(Exception):
    pass


def _md5(s):
    return hashlib.md5(s.encode()).hexdigest()


class Msg:
    def __init__(self, raw):
        text = raw.decode(errors="replace")
        head, _, self.body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        self.first = lines[0]
        self.headers = []
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                self.headers.append((k.strip().lower(), v.strip()))
        parts = self.first.split(" ", 2)
        self.is_response = parts[0].startswith("SIP/")
        self.code = int(parts[1]) if self.is_response else None
        self.method = None if self.is_response else parts[0]

    def h(self, name):
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    def all(self, name):
        return [v for k, v in self.headers if k == name.lower()]

    @property
    def call_id(self):
        return self.h("call-id")

    @property
    def cseq(self):
        n, m = self.h("cseq").split()
        return int(n), m


def _tag(v):
    m = re.search(r";tag=([^;>\s]+)", v or "")
    return m.group(1) if m else None


def _uri(v):
    m = re.search(r"<([^>]+)>", v or "")
    return m.group(1) if m else (v or "").split(";")[0]


class Dialog:
    def __init__(self, call_id, local_tag, remote_tag, local_uri, remote_uri, remote_target, route, cseq):
        self.call_id, self.local_tag, self.remote_tag = call_id, local_tag, remote_tag
        self.local_uri, self.remote_uri, self.remote_target = local_uri, remote_uri, remote_target
        self.route, self.cseq = route, cseq
        self.ended = threading.Event()


class Phone:
    """Phone EXT on 127.0.0.1:51xx (where its registration points)."""

    def __init__(self, ext, log_path=None):
        self.ext = ext
        self.port = 5100 + int(ext) - 100
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.settimeout(0.2)
        self.log = open(log_path, "a") if log_path else None
        self.inbox = []
        self.cv = threading.Condition()
        self.dialogs = {}
        self.stop = False
        self.error = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    # ---------------------------------------------------------------- transport
    def _trace(self, direction, data):
        if self.log:
            self.log.write(f"--- {time.time():.3f} {direction}\n{data}\n")
            self.log.flush()

    def send(self, text):
        self._trace("sent", text)
        self.sock.sendto(text.encode(), PBX)

    def _read(self):
        while not self.stop:
            try:
                data, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            self._trace("received", data.decode(errors="replace"))
            m = Msg(data)
            if not m.is_response and m.method != "ACK" and self._auto_answer(m):
                continue
            with self.cv:
                self.inbox.append(m)
                self.cv.notify_all()

    def _auto_answer(self, m):
        """In-dialog NOTIFY / BYE / re-INVITE from Asterisk: answered here at once."""
        d = self.dialogs.get(m.call_id)
        if d is None:
            return False
        if m.method == "NOTIFY":
            self.send(self._response(m, 200, "OK"))
            with self.cv:
                self.inbox.append(m)
                self.cv.notify_all()
            return True
        if m.method == "BYE":
            self.send(self._response(m, 200, "OK"))
            d.ended.set()
            return True
        if m.method in ("INVITE", "UPDATE"):
            self.send(self._response(m, 200, "OK", sdp=m.method == "INVITE"))
            return True
        return False

    def wait(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                for i, m in enumerate(self.inbox):
                    if pred(m):
                        return self.inbox.pop(i)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SipError(f"phone {self.ext}: no {what} within {timeout} s")
                self.cv.wait(left)

    def close(self):
        self.stop = True
        self.reader.join(timeout=2)
        self.sock.close()
        if self.log:
            self.log.close()

    # ---------------------------------------------------------------- building messages
    def _sdp(self, direction="sendrecv"):
        media = 6100 + 10 * (int(self.ext) - 100)
        return (f"v=0\r\no=- {random.randint(1, 1 << 30)} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                f"t=0 0\r\nm=audio {media} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na={direction}\r\n")

    def _contact(self):
        return f"<sip:{self.ext}@127.0.0.1:{self.port}>"

    def _response(self, req, code, reason, sdp=False, to_tag=None):
        lines = [f"SIP/2.0 {code} {reason}"]
        lines += [f"Via: {v}" for v in req.all("via")]
        lines += [f"Record-Route: {v}" for v in req.all("record-route")]
        lines.append(f"From: {req.h('from')}")
        to = req.h("to")
        if to_tag and not _tag(to):
            to += f";tag={to_tag}"
        lines += [f"To: {to}", f"Call-ID: {req.call_id}", f"CSeq: {req.h('cseq')}",
                  f"Contact: {self._contact()}", "Allow: INVITE, ACK, CANCEL, BYE, REFER, NOTIFY, OPTIONS",
                  f"User-Agent: cb-live-phone-{self.ext}"]
        body = self._sdp() if sdp else ""
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body)}")
        return "\r\n".join(lines) + "\r\n\r\n" + body

    def _request(self, d, method, extra=(), body="", ctype=None, cseq=None, branch=None):
        if cseq is None:
            d.cseq += 1
            cseq = d.cseq
        branch = branch or "z9hG4bK" + os.urandom(6).hex()
        if method == "INVITE":
            d.invite_branch = branch
        lines = [f"{method} {d.remote_target} SIP/2.0",
                 f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch={branch};rport", "Max-Forwards: 70"]
        lines += [f"Route: {r}" for r in d.route]
        lines += [f"From: <{d.local_uri}>;tag={d.local_tag}",
                  f"To: <{d.remote_uri}>" + (f";tag={d.remote_tag}" if d.remote_tag else ""),
                  f"Call-ID: {d.call_id}", f"CSeq: {cseq} {method}", f"Contact: {self._contact()}",
                  f"User-Agent: cb-live-phone-{self.ext}", *extra]
        if ctype:
            lines.append(f"Content-Type: {ctype}")
        lines.append(f"Content-Length: {len(body)}")
        return "\r\n".join(lines) + "\r\n\r\n" + body

    # ---------------------------------------------------------------- call flows
    def answer(self, ring_s, timeout=30):
        """Waits for an INVITE, rings RING_S, answers; returns the dialog (we are the callee)."""
        inv = self.wait(lambda m: m.method == "INVITE" and m.call_id not in self.dialogs, timeout, "INVITE")
        tag = os.urandom(4).hex()
        self.send(self._response(inv, 180, "Ringing", to_tag=tag))
        time.sleep(ring_s)  # the phone rings: part of the call being simulated, not a test wait
        rr = inv.all("record-route")
        d = Dialog(inv.call_id, tag, _tag(inv.h("from")), _uri(inv.h("to")), _uri(inv.h("from")),
                   _uri(inv.h("contact")), rr, 0)
        self.dialogs[d.call_id] = d
        self.send(self._response(inv, 200, "OK", sdp=True, to_tag=tag))
        self.wait(lambda m: m.method == "ACK" and m.call_id == d.call_id, 10, "ACK")
        return d

    def reinvite(self, d, direction):
        """Hold (sendonly) or resume (sendrecv) by re-INVITE; waits for the 200 and ACKs it."""
        req = self._request(d, "INVITE", body=self._sdp(direction), ctype="application/sdp")
        self.send(req)
        ok = self.wait(lambda m: m.is_response and m.call_id == d.call_id and m.cseq[1] == "INVITE"
                       and m.code >= 200, 10, "200 to the re-INVITE")
        self.send(self._request(d, "ACK", cseq=d.cseq))
        if ok.code != 200:
            raise SipError(f"re-INVITE answered {ok.code}")

    def call(self, number, password, timeout=30):
        """Places a call to NUMBER (digest auth); returns the dialog once answered."""
        call_id = os.urandom(8).hex() + "@127.0.0.1"
        d = Dialog(call_id, os.urandom(4).hex(), None, f"sip:{self.ext}@127.0.0.1",
                   f"sip:{number}@127.0.0.1:5060", f"sip:{number}@127.0.0.1:5060", [], 0)
        self.dialogs[call_id] = d
        auth = None
        for _ in range(2):
            extra = [auth] if auth else []
            self.send(self._request(d, "INVITE", extra, self._sdp(), "application/sdp"))
            while True:
                r = self.wait(lambda m: m.is_response and m.call_id == call_id and m.cseq[1] == "INVITE"
                              and m.cseq[0] == d.cseq, timeout, f"answer to INVITE {number}")
                if r.code < 200:
                    continue
                break
            if r.code in (401, 407):
                # the ACK of a non-2xx answer belongs to the INVITE transaction (same branch)
                self.send(self._request(d, "ACK", cseq=d.cseq, branch=d.invite_branch))
                auth = self._digest(r, "INVITE", d.remote_target, password)
                continue
            break
        if r.code != 200:
            raise SipError(f"call to {number}: {r.code}")
        d.remote_tag = _tag(r.h("to"))
        d.remote_target = _uri(r.h("contact"))
        d.route = list(reversed(r.all("record-route")))
        self.send(self._request(d, "ACK", cseq=d.cseq))
        return d

    def _digest(self, r, method, uri, password):
        hdr = r.h("www-authenticate") or r.h("proxy-authenticate")
        p = dict(re.findall(r'(\w+)="?([^",]*)"?', hdr))
        ha1 = _md5(f"{self.ext}:{p['realm']}:{password}")
        ha2 = _md5(f"{method}:{uri}")
        name = "Authorization" if r.code == 401 else "Proxy-Authorization"
        if "qop" in p:
            cnonce, nc = os.urandom(4).hex(), "00000001"
            resp = _md5(f"{ha1}:{p['nonce']}:{nc}:{cnonce}:auth:{ha2}")
            return (f'{name}: Digest username="{self.ext}", realm="{p["realm"]}", nonce="{p["nonce"]}", '
                    f'uri="{uri}", response="{resp}", algorithm=MD5, qop=auth, nc={nc}, cnonce="{cnonce}"'
                    + (f', opaque="{p["opaque"]}"' if "opaque" in p else ""))
        resp = _md5(f"{ha1}:{p['nonce']}:{ha2}")
        return (f'{name}: Digest username="{self.ext}", realm="{p["realm"]}", nonce="{p["nonce"]}", '
                f'uri="{uri}", response="{resp}", algorithm=MD5')

    def bye(self, d):
        self.send(self._request(d, "BYE"))
        self.wait(lambda m: m.is_response and m.call_id == d.call_id and m.cseq[1] == "BYE"
                  and m.code >= 200, 10, "answer to BYE")
        d.ended.set()

    def refer_replaces(self, d, consult, target):
        """REFER on D to TARGET, replacing the CONSULT dialog (attended transfer)."""
        def esc(v):  # a URI header value: escape what would end or split the URI
            return "".join(c if c.isalnum() or c in "-_.!~*'()" else "%%%02X" % ord(c) for c in v)
        replaces = esc(f"{consult.call_id};to-tag={consult.remote_tag};from-tag={consult.local_tag}")
        self.send(self._request(d, "REFER", [f"Refer-To: <sip:{target}@127.0.0.1:5060?Replaces={replaces}>",
                                            f"Referred-By: <sip:{self.ext}@127.0.0.1>"]))
        r = self.wait(lambda m: m.is_response and m.call_id == d.call_id and m.cseq[1] == "REFER"
                      and m.code >= 200, 10, "answer to REFER")
        if r.code != 202:
            raise SipError(f"REFER answered {r.code}")


def attended_transfer(ext, target, password, ring_s=1.0, talk_s=1.5, hold_gap_s=0.5, consult_s=1.5,
                      log_path=None):
    """Starts the desk-phone attended transfer in a thread; returns (thread, result dict).
    EXT answers the next call after RING_S, talks TALK_S, holds it (re-INVITE sendonly), calls
    TARGET, talks CONSULT_S once answered, then REFERs the held call with Replaces of the
    consultation; Asterisk hangs up both of EXT's dialogs."""
    result = {"error": None, "phone": None}
    ready = threading.Event()

    def run():
        ph = None
        try:
            ph = Phone(ext, log_path)
            result["phone"] = ph
            ready.set()
            d1 = ph.answer(ring_s)
            time.sleep(talk_s)
            ph.reinvite(d1, "sendonly")
            time.sleep(hold_gap_s)
            d2 = ph.call(target, password)
            time.sleep(consult_s)
            ph.refer_replaces(d1, d2, target)
            # the transfer succeeded when a NOTIFY carries "SIP/2.0 200"; then the phone hangs up
            # the held call itself (Asterisk ends the replaced consultation)
            ph.wait(lambda m: m.method == "NOTIFY" and m.call_id == d1.call_id and "SIP/2.0 200" in m.body,
                    15, "NOTIFY with the transfer's 200")
            if not d1.ended.is_set():
                ph.bye(d1)
            if not d2.ended.wait(15):
                raise SipError(f"phone {ext}: Asterisk did not end the consultation after the transfer")
        except Exception as e:  # reported to the scenario thread
            result["error"] = e
        finally:
            ready.set()
            if ph:
                ph.close()

    th = threading.Thread(target=run, daemon=True)
    th.start()
    ready.wait(5)
    return th, result
