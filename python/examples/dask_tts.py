"""Speak a large set of texts across a Dask cluster, one libtts engine per worker thread.

    python3 python/examples/dask_tts.py texts.jsonl OUTDIR               # a local cluster
    python3 python/examples/dask_tts.py texts.jsonl OUTDIR --scheduler tcp://host:8786

texts.jsonl has one JSON object a line: {"id": "name", "text": "..."} (id names the
output file, OUTDIR/ID.wav; the line number when absent). Every worker needs libtts (the
C library and this package) and the voice installed; the same code runs on a laptop's
LocalCluster and on a real cluster. The speech is the same as a single process makes, to
the byte: an engine's output depends only on the text and the options.
"""

import argparse
import json
import os
import sys
import threading

import libtts

_local = threading.local()


def _engine(voice, model, options):
    """This worker thread's engine for these settings, opened on first use."""
    key = (voice, model, tuple(sorted(options.items())))
    cache = getattr(_local, "engines", None)
    if cache is None:
        cache = _local.engines = {}
    if key not in cache:
        cache[key] = libtts.Engine(voice, model=model, **options)
    return cache[key]


def speak_one(item, outdir, voice=None, model=None, options=None):
    """One text to OUTDIR/ID.wav on whichever worker runs it; returns (path, seconds)."""
    tts = _engine(voice, model, options or {})
    path = os.path.join(outdir, item["id"] + ".wav")
    audio = tts.synthesize(item["text"])
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(audio.wav())
    os.replace(tmp, path)  # a file is there whole or not at all
    return path, audio.duration


def speak_all(client, items, outdir, voice=None, model=None, options=None):
    """Every item across the cluster's workers; returns [(path, seconds)] in input order."""
    futures = client.map(speak_one, items, outdir=outdir, voice=voice, model=model,
                         options=options, pure=False)
    return client.gather(futures)


def read_items(path):
    items = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                obj = json.loads(line)
                items.append({"id": str(obj.get("id", n)), "text": obj["text"]})
    return items


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("texts")
    ap.add_argument("outdir")
    ap.add_argument("--scheduler", help="a running cluster's address (default: a local one)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="local cluster: worker processes (default: one per core)")
    ap.add_argument("--voice", help="a voice by name (default: the shipped one)")
    ap.add_argument("--model", help="a voice file")
    ap.add_argument("--rate", type=float, default=1.0)
    args = ap.parse_args(argv)

    from distributed import Client, LocalCluster

    items = read_items(args.texts)
    os.makedirs(args.outdir, exist_ok=True)
    outdir = os.path.abspath(args.outdir)
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        client = Client(LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                     processes=True, dashboard_address=None))
    with client:
        done = speak_all(client, items, outdir, voice=args.voice, model=args.model,
                         options={"rate": args.rate})
    seconds = sum(s for _, s in done)
    print("%d files, %.1f s of audio, in %s" % (len(done), seconds, outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
