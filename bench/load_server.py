#!/usr/bin/env python3
"""Load test of a running tts-server (POST /v1/audio/speech), Python 3 standard library only.

    python3 bench/load_server.py --url http://127.0.0.1:5002 --clients 4 --duration 20

N clients (threads, each with its own keep-alive connection) send requests back to back for
the given duration; then, unless --no-single, one client does the same, for comparison.
Each phase reports: requests completed, failures (a status other than 200, a connection
error, a stream cut short), time to first byte of audio (from sending the request to the
first byte of the body: the server answers with the first audio) at p50 / p90 / p99, the
whole request's time at p50 / p99, and throughput: seconds of audio delivered per second of
wall time (above 1: faster than real time, in sum over the clients).

Not a test (nothing in the meson suite runs it): its figures depend on the machine and on
what else runs on it.
"""
import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Please turn left at the next corner, then continue for two hundred meters.",
    "Your meeting with the design team starts in fifteen minutes.",
    "It is currently seventy two degrees and sunny in Boston.",
]


def percentile(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100.0
    i = int(k)
    j = min(i + 1, len(xs) - 1)
    return xs[i] + (xs[j] - xs[i]) * (k - i)


class Client(threading.Thread):
    def __init__(self, url, texts, fmt, stop_at, index):
        super().__init__(daemon=True)
        self.u = urllib.parse.urlsplit(url)
        self.texts, self.fmt, self.stop_at, self.index = texts, fmt, stop_at, index
        self.ttfb, self.total, self.audio_s = [], [], 0.0
        self.ok = self.failed = 0
        self.errors = {}
        self.conn = None

    def connect(self):
        self.conn = http.client.HTTPConnection(self.u.hostname, self.u.port or 80, timeout=120)

    def one(self, text):
        body = json.dumps({"input": text, "response_format": self.fmt}).encode()
        t0 = time.monotonic()
        self.conn.request("POST", "/v1/audio/speech", body,
                          {"Content-Type": "application/json"})
        r = self.conn.getresponse()
        if r.status != 200:
            r.read()
            raise RuntimeError("HTTP %d" % r.status)
        rate = int(r.getheader("X-Sample-Rate") or 16000)
        first, n = None, 0
        while True:
            b = r.read1(65536)
            if not b:
                break
            if first is None:
                first = time.monotonic()
            n += len(b)
        t1 = time.monotonic()
        # a stream cut short raises IncompleteRead above; here it is whole
        if self.fmt == "wav":
            n -= 44
        audio = n / 2.0 / rate if self.fmt in ("pcm", "wav") else 0.0  # not from bytes
        return first - t0 if first else t1 - t0, t1 - t0, audio

    def run(self):
        i = self.index
        while time.monotonic() < self.stop_at:
            text = self.texts[i % len(self.texts)]
            i += 1
            try:
                if self.conn is None:
                    self.connect()
                ttfb, total, audio = self.one(text)
                self.ttfb.append(ttfb)
                self.total.append(total)
                self.audio_s += audio
                self.ok += 1
            except Exception as e:  # counted, and the connection started anew
                self.failed += 1
                key = type(e).__name__ + (": " + str(e) if str(e) else "")
                self.errors[key] = self.errors.get(key, 0) + 1
                if self.conn:
                    self.conn.close()
                self.conn = None
                time.sleep(0.05)
        if self.conn:
            self.conn.close()


def phase(url, clients, duration, texts, fmt):
    t0 = time.monotonic()
    cs = [Client(url, texts, fmt, t0 + duration, k) for k in range(clients)]
    for c in cs:
        c.start()
    for c in cs:
        c.join()
    wall = time.monotonic() - t0  # includes the requests in flight at the end
    ttfb = [x for c in cs for x in c.ttfb]
    total = [x for c in cs for x in c.total]
    errors = {}
    for c in cs:
        for k, v in c.errors.items():
            errors[k] = errors.get(k, 0) + v
    audio = sum(c.audio_s for c in cs)
    return {
        "clients": clients,
        "wall_s": round(wall, 2),
        "requests": sum(c.ok for c in cs),
        "failures": sum(c.failed for c in cs),
        "errors": errors,
        "ttfb_p50_s": round(percentile(ttfb, 50), 4),
        "ttfb_p90_s": round(percentile(ttfb, 90), 4),
        "ttfb_p99_s": round(percentile(ttfb, 99), 4),
        "total_p50_s": round(percentile(total, 50), 4),
        "total_p99_s": round(percentile(total, 99), 4),
        "audio_s": round(audio, 2),
        "throughput_audio_s_per_s": round(audio / wall, 3),
    }


def show(r):
    print("%d client%s, %.1f s: %d requests, %d failures" %
          (r["clients"], "" if r["clients"] == 1 else "s", r["wall_s"], r["requests"],
           r["failures"]))
    for k, v in r["errors"].items():
        print("    %dx %s" % (v, k))
    print("  time to first audio byte: p50 %.3f s, p90 %.3f s, p99 %.3f s" %
          (r["ttfb_p50_s"], r["ttfb_p90_s"], r["ttfb_p99_s"]))
    print("  whole request:            p50 %.3f s, p99 %.3f s" %
          (r["total_p50_s"], r["total_p99_s"]))
    print("  throughput: %.2f s of audio per second (%.1f s of audio in all)" %
          (r["throughput_audio_s_per_s"], r["audio_s"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="http://127.0.0.1:5002", help="the server's base URL")
    ap.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    ap.add_argument("--duration", type=float, default=20,
                    help="seconds each phase sends requests (default 20)")
    ap.add_argument("--format", default="pcm", choices=["pcm", "wav", "flac", "opus", "mp3"],
                    help="response_format (default pcm; throughput counts audio only "
                         "for pcm and wav)")
    ap.add_argument("--text", action="append",
                    help="a text to speak (repeatable; default: four sentences in turn)")
    ap.add_argument("--no-single", action="store_true", help="skip the one-client phase")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    a = ap.parse_args()
    texts = a.text or TEXTS
    results = [phase(a.url, a.clients, a.duration, texts, a.format)]
    if not a.no_single and a.clients != 1:
        results.append(phase(a.url, 1, a.duration, texts, a.format))
    if a.json:
        json.dump(results, sys.stdout, indent=2)
        print()
    else:
        for r in results:
            show(r)
    return 0 if all(r["requests"] > 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
