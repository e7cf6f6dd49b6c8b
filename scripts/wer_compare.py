#!/usr/bin/env python3
"""Paired comparison of two systems' word error rates on the same items, from the
per-file lines that scripts/wer.py prints ("  E/N   file.wav | hypothesis").

usage: wer_compare.py A.wer.txt B.wer.txt [--group LIST.tsv] [--n 20000] [--seed 1]
  A, B      wer.py outputs over the same files in the same order (e.g. eval_voice.sh's
            OUTDIR/tts.wer.txt of two runs)
  --group   resample whole groups: items whose reference text (column 2 of LIST.tsv,
            the list wer.py read for A) is the same form one group, so that several
            takes of one sentence count as one draw (tts-train eval's validation takes)
Prints both WERs, the difference B - A in points, its 95 % bootstrap interval (resampling
items, or groups, with replacement; both systems get the same draw) and the share of
draws in which B is not worse than A.
"""
import random
import re
import sys

LINE = re.compile(r"^\s*(\d+)/(\d+)\s+(\S+)")


def read(path):
    rows = []
    with open(path) as f:
        for line in f:
            m = LINE.match(line)
            if m:
                rows.append((int(m.group(1)), int(m.group(2)), m.group(3)))
    return rows


def main(argv):
    args, opts = [], {"--group": None, "--n": "20000", "--seed": "1"}
    it = iter(argv)
    for a in it:
        if a in opts:
            opts[a] = next(it, None)
        elif a.startswith("-"):
            print(__doc__, file=sys.stderr)
            return 2
        else:
            args.append(a)
    if len(args) != 2 or opts["--n"] is None:
        print(__doc__, file=sys.stderr)
        return 2
    a, b = read(args[0]), read(args[1])
    if not a or len(a) != len(b) or any(x[2] != y[2] or x[1] != y[1] for x, y in zip(a, b)):
        print("wer_compare: the two lists do not cover the same files in the same order",
              file=sys.stderr)
        return 1
    keys = list(range(len(a)))
    if opts["--group"]:
        with open(opts["--group"]) as f:
            refs = [line.rstrip("\n").split("\t", 1)[1] for line in f if line.strip()]
        if len(refs) != len(a):
            print("wer_compare: --group lists %d items, the WER files %d" % (len(refs), len(a)),
                  file=sys.stderr)
            return 1
        ids = {}
        keys = [ids.setdefault(r.lower(), len(ids)) for r in refs]
    groups = {}
    for i, k in enumerate(keys):
        g = groups.setdefault(k, [0, 0, 0])
        g[0] += a[i][0]
        g[1] += b[i][0]
        g[2] += a[i][1]
    G = list(groups.values())
    ea, eb, n = (sum(g[j] for g in G) for j in range(3))
    rng = random.Random(int(opts["--seed"]))
    diffs = []
    for _ in range(int(opts["--n"])):
        sa = sb = sn = 0
        for _ in range(len(G)):
            g = G[rng.randrange(len(G))]
            sa += g[0]
            sb += g[1]
            sn += g[2]
        diffs.append(100.0 * (sb - sa) / max(sn, 1))
    diffs.sort()
    lo, hi = diffs[int(0.025 * len(diffs))], diffs[int(0.975 * len(diffs)) - 1]
    not_worse = sum(d <= 0 for d in diffs) / len(diffs)
    print("A %.1f%% (%d edits), B %.1f%% (%d edits), %d words, %d items in %d groups"
          % (100.0 * ea / n, ea, 100.0 * eb / n, eb, n, len(a), len(G)))
    print("B - A: %+.1f points, 95%% interval %+.1f .. %+.1f; B not worse in %.1f%% of %d draws"
          % (100.0 * (eb - ea) / n, lo, hi, 100 * not_worse, len(diffs)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
