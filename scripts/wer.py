#!/usr/bin/env python3
"""Word error rate of WAV files against their texts, transcribed by pocketsphinx
(Debian: pocketsphinx, pocketsphinx-en-us). An independent check that a voice says
the words.

usage: wer.py LIST.tsv [--unique] [--hyp OUT.txt]
  LIST.tsv: one "path/to/file.wav<TAB>reference text" per line (16 kHz mono 16-bit).
  --unique: only the first file of each reference text (text-to-speech lists of the
            validation takes, where takes of one text are the same audio).
  --hyp OUT.txt: also write each file's transcript, one "path<TAB>hypothesis" per line.
Prints per-file errors and the corpus WER (total edits / total reference words).
"""
import os
import re
import subprocess
import sys
import tempfile


def words(text):
    text = text.lower().replace("-", " ")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return [w.strip("'") for w in text.split() if w.strip("'")]


def edits(ref, hyp):
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
            prev, d[j] = d[j], cur
    return d[len(hyp)]


def transcribe(paths):
    with tempfile.TemporaryDirectory() as tmp:
        ctl = os.path.join(tmp, "list.ctl")
        hyp = os.path.join(tmp, "out.hyp")
        with open(ctl, "w") as f:
            for i, p in enumerate(paths):
                link = os.path.join(tmp, "u%05d.wav" % i)
                os.symlink(os.path.abspath(p), link)
                f.write("u%05d\n" % i)
        subprocess.run(["pocketsphinx_batch", "-adcin", "yes", "-cepdir", tmp,
                        "-cepext", ".wav", "-ctl", ctl, "-hyp", hyp, "-logfn", os.devnull],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out = {}
        with open(hyp) as f:
            for line in f:
                m = re.match(r"^(.*) \((u\d+)(?: [-\d]+)?\)\s*$", line)
                if m:
                    out[int(m.group(2)[1:])] = m.group(1)
        return [out.get(i, "") for i in range(len(paths))]


def main():
    args = sys.argv[1:]
    unique = "--unique" in args
    args = [a for a in args if a != "--unique"]
    hyp_out = None
    if "--hyp" in args:
        i = args.index("--hyp")
        if i + 1 >= len(args):
            print(__doc__, file=sys.stderr)
            return 2
        hyp_out = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    items, seen = [], set()
    with open(args[0]) as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                path, text = line.split("\t", 1)
                if unique and text in seen:
                    continue
                seen.add(text)
                items.append((path, text))
    hyps = transcribe([p for p, _ in items])
    if hyp_out:
        with open(hyp_out, "w") as f:
            for (path, _), hyp in zip(items, hyps):
                f.write("%s\t%s\n" % (path, hyp))
    total_e = total_w = 0
    for (path, text), hyp in zip(items, hyps):
        r, h = words(text), words(hyp)
        e = edits(r, h)
        total_e += e
        total_w += len(r)
        print("%3d/%-3d %s | %s" % (e, len(r), os.path.basename(path), hyp))
    wer = 100.0 * total_e / max(total_w, 1)
    print("WER %.1f%% (%d edits / %d words, %d files)" % (wer, total_e, total_w, len(items)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
