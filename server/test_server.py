"""tts-server end to end: HTTP and Wyoming on free ports, with a tiny random-weight voice.

Environment: TTS_SERVER (the tts-server executable), TTS_MAKE_TINY_VOICE (writes the tiny
voice). Python 3 standard library only. Nothing here depends on the machine's speed: every
wait has a generous bound that only a hung server reaches, and the one race (a request
holding the only engine) is made certain by back-pressure, not by timing.
"""
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

SERVER = os.environ.get("TTS_SERVER", "build/server/tts-server")
MAKE_VOICE = os.environ.get("TTS_MAKE_TINY_VOICE", "build/server/server_tiny_voice")
HANG = 60  # seconds: only a hung server takes this long

TEXT = "Hello there. How are you today?"


def start_server(voice, *args):
    """Starts tts-server on free ports; returns (process, http_port, wyoming_port). Its
    messages go to a file (p.log), never to a pipe nobody reads."""
    log = tempfile.TemporaryFile()
    p = subprocess.Popen([SERVER, "--voice", voice, "--port", "0", "--wyoming-port", "0"]
                         + list(args), stdout=subprocess.PIPE, stderr=log)
    p.log = log
    ready, _, _ = select.select([p.stdout], [], [], HANG)
    line = p.stdout.readline().decode() if ready else ""
    if not line.startswith("tts-server ready:"):
        p.kill()
        p.wait()
        raise RuntimeError("tts-server did not start: %r %r" % (line, server_log(p)))
    fields = dict(f.split("=") for f in line.split()[2:])
    return p, int(fields["http_port"]), int(fields["wyoming_port"])


def server_log(p):
    p.log.seek(0)
    text = p.log.read().decode(errors="replace")
    if p.poll() is not None:
        p.log.close()
    return text


def stop_server(p, sig=signal.SIGTERM):
    """Signals p; returns (exit status or None if it hung, seconds it took, its messages)."""
    t0 = time.monotonic()
    p.send_signal(sig)
    rc = None
    try:
        rc = p.wait(timeout=HANG)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    p.stdout.close()
    return rc, time.monotonic() - t0, server_log(p)


def http(port, method, path, body=None, headers=None):
    """(status, headers, body bytes) for one request; error statuses included."""
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data,
                                 method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=HANG) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def raw_request(port, method, path, body=b"", rcvbuf=None):
    """A connected socket that has sent the request (HTTP/1.1, connection close)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(HANG)
    s.connect(("127.0.0.1", port))
    s.sendall(("%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\nConnection: close\r\n\r\n" % (method, path, len(body))
               ).encode() + body)
    return s


def read_head(s):
    """Reads the status line and headers; returns (status, {name: value}, rest of bytes)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = s.recv(4096)
        if not b:
            raise ConnectionError("closed before the headers: %r" % buf)
        buf += b
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    hdrs = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    return int(lines[0].split()[1]), hdrs, rest


def read_chunked(s, rest):
    """Decodes a chunked body: (list of chunks, complete: whether the last chunk came)."""
    buf, chunks = rest, []
    while True:
        while b"\r\n" not in buf:
            b = s.recv(65536)
            if not b:
                return chunks, False
            buf += b
        size_line, buf = buf.split(b"\r\n", 1)
        size = int(size_line.split(b";")[0], 16)
        while len(buf) < size + 2:
            b = s.recv(65536)
            if not b:
                return chunks, False
            buf += b
        if size == 0:
            return chunks, True
        chunks.append(buf[:size])
        buf = buf[size + 2:]


# ---- Wyoming ----------------------------------------------------------------------------

def wy_send(s, type_, data=None, payload=b"", inline=False):
    head = {"type": type_}
    extra = b""
    if data is not None:
        if inline:
            head["data"] = data
        else:
            extra = json.dumps(data).encode()
            head["data_length"] = len(extra)
    if payload:
        head["payload_length"] = len(payload)
    s.sendall(json.dumps(head).encode() + b"\n" + extra + payload)


class WyReader:
    def __init__(self, s):
        self.s, self.buf = s, b""

    def _need(self, n):
        while len(self.buf) < n:
            b = self.s.recv(65536)
            if not b:
                raise ConnectionError("connection closed")
            self.buf += b

    def event(self):
        """(type, data, payload) of the next event."""
        while b"\n" not in self.buf:
            self._need(len(self.buf) + 1)
        line, self.buf = self.buf.split(b"\n", 1)
        head = json.loads(line)
        data = head.get("data") or {}
        dl, pl = head.get("data_length") or 0, head.get("payload_length") or 0
        self._need(dl + pl)
        if dl:
            data.update(json.loads(self.buf[:dl]))
        payload = self.buf[dl:dl + pl]
        self.buf = self.buf[dl + pl:]
        return head["type"], data, payload

    def audio(self):
        """Reads audio-start, audio-chunk..., audio-stop; returns (start data, chunks)."""
        t, start, _ = self.event()
        if t != "audio-start":
            raise AssertionError("expected audio-start, got %s %r" % (t, start))
        chunks = []
        while True:
            t, d, p = self.event()
            if t == "audio-stop":
                return start, chunks
            if t != "audio-chunk":
                raise AssertionError("expected audio-chunk, got %s %r" % (t, d))
            chunks.append((d, p))


def wy_events_until_stopped(r):
    """The event types read up to synthesize-stopped (or an error), that one included."""
    events = []
    while not events or events[-1] not in ("synthesize-stopped", "error"):
        events.append(r.event()[0])
    return events


def wy_connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=HANG)
    return s, WyReader(s)


class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.voice = os.path.join(cls.tmp.name, "tiny.ltm")
        subprocess.run([MAKE_VOICE, cls.voice], check=True)
        cls.proc, cls.port, cls.wport = start_server(cls.voice, "--max-chars", "200")

    @classmethod
    def tearDownClass(cls):
        rc, _, log = stop_server(cls.proc)
        cls.tmp.cleanup()
        if rc != 0:
            raise AssertionError("the server ended with %r:\n%s" % (rc, log))

    def speech(self, body, **kw):
        return http(self.port, "POST", "/v1/audio/speech", body, **kw)

    def assert_error(self, status, hdrs, body, want, kind=None):
        self.assertEqual(status, want, body)
        self.assertEqual(hdrs.get("Content-Type"), "application/json")
        e = json.loads(body)["error"]
        self.assertIsInstance(e["message"], str)
        if kind:
            self.assertEqual(e["type"], kind)
        return e["message"]

    # -- HTTP ------------------------------------------------------------------------------

    def test_health_and_voices(self):
        status, hdrs, body = http(self.port, "GET", "/health")
        self.assertEqual((status, json.loads(body)), (200, {"status": "ok"}))
        status, hdrs, body = http(self.port, "GET", "/v1/voices")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body),
                         {"voices": [{"name": "tiny", "language": "en", "sample_rate": 16000}]})

    def test_formats(self):
        for fmt, mime in [("wav", "audio/wav"), ("pcm", "audio/pcm"), ("flac", "audio/flac"),
                          ("opus", "audio/ogg"), ("mp3", "audio/mpeg")]:
            with self.subTest(fmt=fmt):
                status, hdrs, body = self.speech({"input": TEXT, "response_format": fmt,
                                                  "voice": "tiny"})
                self.assertEqual(status, 200, body[:200])
                self.assertTrue(hdrs["Content-Type"].startswith(mime), hdrs["Content-Type"])
                if fmt == "wav":
                    self.assertEqual(body[:4], b"RIFF")
                    self.assertEqual(body[8:16], b"WAVEfmt ")
                    fmt_tag, ch, rate = (int.from_bytes(body[20:22], "little"),
                                         int.from_bytes(body[22:24], "little"),
                                         int.from_bytes(body[24:28], "little"))
                    bits = int.from_bytes(body[34:36], "little")
                    self.assertEqual((fmt_tag, ch, rate, bits), (1, 1, 16000, 16))
                    self.assertEqual(body[36:40], b"data")
                    self.assertEqual(body[40:44], b"\xff\xff\xff\xff")  # a stream: unknown
                    self.assertGreater(len(body), 44 + 16000)  # the tiny voice: seconds
                    self.assertEqual(len(body) % 2, 0)
                elif fmt == "pcm":
                    self.assertGreater(len(body), 16000)
                    self.assertEqual(len(body) % 2, 0)
                    self.assertGreater(max(abs(int.from_bytes(body[i:i + 2], "little",
                                                              signed=True))
                                           for i in range(0, len(body), 2)), 0)
                elif fmt == "flac":
                    self.assertEqual(body[:4], b"fLaC")
                elif fmt == "opus":
                    self.assertEqual(body[:4], b"OggS")
                    self.assertIn(b"OpusHead", body[:100])
                else:
                    self.assertTrue(body[:3] == b"ID3" or
                                    (body[0] == 0xFF and body[1] & 0xE0 == 0xE0), body[:4])

    def test_chunked_stream(self):
        s = raw_request(self.port, "POST", "/v1/audio/speech",
                        json.dumps({"input": TEXT, "response_format": "pcm"}).encode())
        status, hdrs, rest = read_head(s)
        self.assertEqual(status, 200)
        self.assertEqual(hdrs.get("transfer-encoding"), "chunked")
        self.assertNotIn("content-length", hdrs)
        chunks, complete = read_chunked(s, rest)
        s.close()
        self.assertTrue(complete)
        # seconds of audio leave in many chunks (at most 32 KiB each), not one buffer
        self.assertGreater(len(chunks), 2)
        self.assertLessEqual(max(map(len, chunks)), 32768)
        _, _, whole = self.speech({"input": TEXT, "response_format": "pcm"})
        self.assertEqual(b"".join(chunks), whole)  # and it is the same audio each time

    def test_speed(self):
        def samples(speed):
            status, _, body = self.speech({"input": TEXT, "response_format": "pcm",
                                           "speed": speed})
            self.assertEqual(status, 200, body[:200])
            return len(body) // 2
        normal = samples(1)
        self.assertLess(samples(2.0), normal * 0.7)
        self.assertGreater(samples(0.5), normal * 1.5)
        status, hdrs, body = self.speech({"input": TEXT, "speed": 3})
        self.assert_error(status, hdrs, body, 400, "invalid_request_error")

    def test_bad_requests(self):
        status, hdrs, body = self.speech(b"{not json")
        self.assert_error(status, hdrs, body, 400, "invalid_request_error")
        status, hdrs, body = self.speech(b"[1, 2]")
        self.assert_error(status, hdrs, body, 400)
        status, hdrs, body = self.speech({"text": "no input field"})
        self.assertIn("input", self.assert_error(status, hdrs, body, 400))
        status, hdrs, body = self.speech({"input": 42})
        self.assert_error(status, hdrs, body, 400)
        status, hdrs, body = self.speech({"input": "  \n "})
        self.assert_error(status, hdrs, body, 400)
        status, hdrs, body = self.speech({"input": "x" * 201})
        self.assertIn("200", self.assert_error(status, hdrs, body, 400))
        status, hdrs, body = self.speech({"input": TEXT, "voice": "alloy"})
        self.assertIn('"tiny"', self.assert_error(status, hdrs, body, 400))
        status, _, _ = self.speech({"input": TEXT, "voice": "default", "model": "tts-1"})
        self.assertEqual(status, 200)
        status, hdrs, body = self.speech({"input": TEXT, "response_format": "aac"})
        self.assert_error(status, hdrs, body, 400)
        # the engine's own refusal, before any audio: still a 400 with its message
        status, hdrs, body = self.speech({"input": "<speak>Hello <break time='1s'></speak>"})
        self.assertIn("SSML line 1", self.assert_error(status, hdrs, body, 400))
        status, hdrs, body = self.speech({"input": "Say [[@@]] now."})
        self.assert_error(status, hdrs, body, 400)

    def test_not_found_and_method(self):
        status, hdrs, body = http(self.port, "GET", "/v1/nothing")
        self.assert_error(status, hdrs, body, 404, "not_found_error")
        status, hdrs, body = http(self.port, "GET", "/v1/audio/speech")
        self.assert_error(status, hdrs, body, 405)
        self.assertEqual(hdrs.get("Allow"), "POST")
        status, hdrs, body = http(self.port, "POST", "/health", b"{}")
        self.assert_error(status, hdrs, body, 405)

    def test_body_too_large(self):
        # --max-chars 200: the body may be 200 * 12 + 64 KiB bytes
        big = json.dumps({"input": "a" * 100000}).encode()
        status, hdrs, body = self.speech(big)
        self.assert_error(status, hdrs, body, 413, "request_too_large_error")
        # the server is fine afterwards
        self.assertEqual(http(self.port, "GET", "/health")[0], 200)

    # -- Wyoming ---------------------------------------------------------------------------

    def test_wyoming_describe_and_synthesize(self):
        s, r = wy_connect(self.wport)
        wy_send(s, "describe")
        t, info, _ = r.event()
        self.assertEqual(t, "info")
        prog = info["tts"][0]
        voice = prog["voices"][0]
        self.assertEqual(voice["name"], "tiny")
        self.assertEqual(voice["languages"], ["en"])
        self.assertIs(voice["installed"], True)
        self.assertIn("name", voice["attribution"])
        self.assertIn("url", voice["attribution"])
        self.assertIsInstance(voice["description"], str)
        self.assertIs(prog["supports_synthesize_streaming"], True)

        wy_send(s, "synthesize", {"text": TEXT, "voice": {"name": "tiny"}})
        start, chunks = r.audio()
        self.assertEqual((start["rate"], start["width"], start["channels"]), (16000, 2, 1))
        self.assertGreaterEqual(len(chunks), 1)
        for d, p in chunks:
            self.assertEqual((d["rate"], d["width"], d["channels"]), (16000, 2, 1))
            self.assertGreater(len(p), 0)
            self.assertEqual(len(p) % 2, 0)
        pcm = b"".join(p for _, p in chunks)
        _, _, http_pcm = self.speech({"input": TEXT, "response_format": "pcm"})
        self.assertEqual(pcm, http_pcm)  # the same engine, the same audio

        # data in the header line itself (older clients), and ping
        wy_send(s, "synthesize", {"text": "Hi."}, inline=True)
        self.assertGreaterEqual(len(r.audio()[1]), 1)
        wy_send(s, "ping", {"text": "x"})
        self.assertEqual(r.event()[:2], ("pong", {"text": "x"}))
        s.close()

    def test_wyoming_streaming(self):
        s, r = wy_connect(self.wport)
        wy_send(s, "synthesize-start", {"voice": {"name": "tiny"}})
        wy_send(s, "synthesize-chunk", {"text": "Hello the"})
        wy_send(s, "synthesize-chunk", {"text": "re. How are"})
        # the first sentence is complete: it is spoken before the stream ends
        self.assertGreaterEqual(len(r.audio()[1]), 1)
        wy_send(s, "synthesize-chunk", {"text": " you"})
        wy_send(s, "synthesize", {"text": "Hello there. How are you"})  # ignored in a stream
        wy_send(s, "synthesize-stop")
        self.assertGreaterEqual(len(r.audio()[1]), 1)
        self.assertEqual(r.event()[0], "synthesize-stopped")
        # and the connection serves on
        wy_send(s, "describe")
        self.assertEqual(r.event()[0], "info")
        s.close()

    def test_wyoming_streaming_abbreviations(self):
        # sentences are split as the engine splits them: "Dr. Smith is here." is one
        s, r = wy_connect(self.wport)
        wy_send(s, "synthesize-start", {})
        wy_send(s, "synthesize-chunk", {"text": "Dr. Smith is here. Next"})
        wy_send(s, "synthesize-stop")
        events = wy_events_until_stopped(r)
        self.assertEqual(events.count("audio-start"), 2, events)
        s.close()

    def test_wyoming_streaming_past_the_limit(self):
        # a streamed text that passes --max-chars (200) without a sentence end, and one
        # chunk of several sentences longer than the limit together: spoken in pieces
        s, r = wy_connect(self.wport)
        wy_send(s, "synthesize-start", {})
        wy_send(s, "synthesize-chunk", {"text": "word " * 39 + "wor"})  # 198 characters
        wy_send(s, "synthesize-chunk", {"text": "d and more words"})
        self.assertGreaterEqual(len(r.audio()[1]), 1)
        wy_send(s, "synthesize-chunk", {"text": "A short sentence here. " * 12})
        wy_send(s, "synthesize-stop")
        events = wy_events_until_stopped(r)
        self.assertNotIn("error", events)
        self.assertGreaterEqual(events.count("audio-stop"), 2)
        s.close()

    def test_wyoming_errors(self):
        s, r = wy_connect(self.wport)
        wy_send(s, "synthesize", {"text": TEXT, "voice": {"name": "alloy"}})
        t, d, _ = r.event()
        self.assertEqual(t, "error")
        self.assertIn("tiny", d["text"])
        s.close()
        s, r = wy_connect(self.wport)
        wy_send(s, "synthesize", {"text": "<speak>Hello <break time='1s'></speak>"})
        t, d, _ = r.event()
        self.assertEqual(t, "error")
        self.assertIn("SSML", d["text"])
        s.close()
        s, r = wy_connect(self.wport)
        s.sendall(b"this is not json\n")
        self.assertEqual(s.recv(100), b"")  # closed
        s.close()


class LifecycleTest(unittest.TestCase):
    """A server of one engine and no queue: busy (503), a client that leaves, SIGTERM."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.voice = os.path.join(cls.tmp.name, "tiny.ltm")
        subprocess.run([MAKE_VOICE, cls.voice], check=True)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def hold_engine(self, port):
        """A request whose client reads nothing: once the socket buffers and the 4 KiB
        stream buffer are full, its synthesis waits, holding the only engine. Returns the
        socket once the response has begun (the request is running)."""
        text = " ".join(["This sentence is one of very many."] * 100)
        s = raw_request(port, "POST", "/v1/audio/speech",
                        json.dumps({"input": text, "response_format": "pcm"}).encode(),
                        rcvbuf=4096)
        status, _, _ = read_head(s)
        self.assertEqual(status, 200)
        return s

    def test_busy_cancel_and_sigterm(self):
        p, port, wport = start_server(self.voice, "--workers", "1", "--queue", "0",
                                      "--stream-buffer", "4096", "--grace", "0.5",
                                      "--max-chars", "5000")
        try:
            held = self.hold_engine(port)
            status, hdrs, body = http(port, "POST", "/v1/audio/speech", {"input": TEXT})
            self.assertEqual(status, 503, body)
            self.assertEqual(json.loads(body)["error"]["type"], "overloaded_error")
            self.assertEqual(hdrs.get("Retry-After"), "1")
            s, r = wy_connect(wport)
            wy_send(s, "synthesize", {"text": TEXT})
            t, d, _ = r.event()
            self.assertEqual((t, d.get("code")), ("error", "busy"))
            s.close()
            # the client leaves: its synthesis stops and frees the engine
            held.close()
            for _ in range(HANG * 20):
                status, _, body = http(port, "POST", "/v1/audio/speech", {"input": "Hi."})
                if status != 503:
                    break
                time.sleep(0.05)
            self.assertEqual(status, 200)

            # SIGTERM with a request in progress that cannot finish: cancelled after the
            # grace period, the stream cut short, exit 0
            held = self.hold_engine(port)
            rc, seconds, err = stop_server(p)
            self.assertEqual(rc, 0, err)
            self.assertLess(seconds, 30, err)  # grace 0.5 s + 2 s to send: never near 30
            held.settimeout(HANG)
            data = b""
            while True:
                b = held.recv(65536)
                if not b:
                    break
                data += b
            held.close()
            self.assertFalse(data.endswith(b"\r\n0\r\n\r\n"), "the cut stream looks complete")
            self.assertIn("shutting down", err)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
                p.stdout.close()

    def test_sigint_idle(self):
        p, port, wport = start_server(self.voice)
        s, r = wy_connect(wport)  # an idle Wyoming connection does not hold shutdown up
        rc, seconds, err = stop_server(p, signal.SIGINT)
        s.close()
        self.assertEqual(rc, 0, err)
        self.assertLess(seconds, 30)

    def test_bad_flags_and_ports(self):
        def run(*args):
            r = subprocess.run([SERVER] + list(args), capture_output=True, timeout=HANG)
            return r.returncode, r.stdout.decode(), r.stderr.decode()
        rc, out, _ = run("--help")
        self.assertEqual(rc, 0)
        self.assertIn("--wyoming-port", out)
        rc, _, err = run("--port", "abc")
        self.assertEqual(rc, 2)
        self.assertIn("--port 'abc'", err)
        rc, _, err = run("--workers", "0")
        self.assertEqual(rc, 2)
        rc, _, err = run("--bogus")
        self.assertEqual(rc, 2)
        self.assertIn("--bogus", err)
        rc, _, err = run("--voice", os.path.join(self.tmp.name, "missing.ltm"))
        self.assertEqual(rc, 3)
        self.assertIn("missing.ltm", err)
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            busy = taken.getsockname()[1]
            rc, _, err = run("--voice", self.voice, "--port", str(busy), "--wyoming-port", "0")
            self.assertEqual(rc, 1)
            self.assertIn("cannot listen on 127.0.0.1:%d" % busy, err)
            rc, _, err = run("--voice", self.voice, "--port", "0", "--wyoming-port", str(busy))
            self.assertEqual(rc, 1)
            self.assertIn(str(busy), err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
