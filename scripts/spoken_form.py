#!/usr/bin/env python3
"""The spoken form of every sentence of a list, as pocketsphinx writes what it hears:
numbers, currency, times, ordinals and years spelled out, a.m./p.m. joined.

usage: spoken_form.py SENTENCES > ITEMS.tsv
  SENTENCES: one sentence per line; blank lines and lines starting with '#' are skipped;
             a line "TEXT<TAB>REFERENCE" gives its spoken form itself.
  ITEMS.tsv: "TEXT<TAB>REFERENCE", one per sentence, in file order (the order in which
             scripts/eval_voice.sh and `tts-train eval` number them).
"""
import re, sys

ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen").split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()

def card(n):
    if n < 20: return ONES[n]
    if n < 100: return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    for size, name in ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            head, rest = divmod(n, size)
            return card(head) + " " + name + ("" if rest == 0 else " " + card(rest))

IRREG = {"one": "first", "two": "second", "three": "third", "five": "fifth",
         "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}
def ordinal(n):
    words = card(n).split()
    last = words[-1]
    if last in IRREG: last = IRREG[last]
    elif last.endswith("y"): last = last[:-1] + "ieth"
    else: last += "th"
    return " ".join(words[:-1] + [last])

def year(n):
    if 2000 <= n <= 2009: return card(n)
    hi, lo = divmod(n, 100)
    if lo == 0: return card(hi) + " hundred"
    return card(hi) + (" oh " if lo < 10 else " ") + card(lo)

def num(s): return int(s.replace(",", ""))

# Abbreviations are scored as the token pocketsphinx writes for them: its dictionary
# has "mr", "mrs", "dr", "ms", "st", "jr", "prof", "etc", "vs", "am", "pm", and
# wer.py drops the dots, so "Dr." already reads "dr"; only the dotted pairs are joined.
ABBREV = [(r"\b([aApP])\.[mM]\.", lambda m: m.group(1).lower() + "m"),
          (r"\be\.g\.", "for example"), (r"\bi\.e\.", "that is")]
N = r"\d{1,3}(?:,\d{3})+|\d+"

def normalize(t):
    def money(m):
        d, c = num(m.group(1)), int(m.group(2) or 0)
        out = card(d) + (" dollar" if d == 1 else " dollars")
        if c: out += " " + card(c) + (" cent" if c == 1 else " cents")
        return out
    t = re.sub(r"\$(%s)(?:\.(\d\d))?" % N, money, t)
    def clock(m):
        h, mm = int(m.group(1)), int(m.group(2))
        return card(h) + (" o'clock" if mm == 0 else (" oh " if mm < 10 else " ") + card(mm))
    t = re.sub(r"\b(\d{1,2}):(\d\d)\b", clock, t)
    t = re.sub(r"(%s)\s?%%" % N, lambda m: card(num(m.group(1))) + " percent", t)
    t = re.sub(r"\b(\d+)(?:st|nd|rd|th)\b", lambda m: ordinal(int(m.group(1))), t)
    t = re.sub(r"\b(\d+)\.(\d+)\b",
               lambda m: card(int(m.group(1))) + " point " + " ".join(ONES[int(c)] for c in m.group(2)), t)
    t = re.sub(r"\b(1[1-9]\d\d|20\d\d)\b", lambda m: year(int(m.group(1))), t)
    t = re.sub(r"\b(%s)\b" % N, lambda m: card(num(m.group(1))), t)
    for pat, rep in ABBREV:
        t = re.sub(pat, rep, t)
    return t

n = 0
with open(sys.argv[1], encoding="utf-8", errors="strict") as f:
    for line in f:
        line = line.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        text, _, ref = line.partition("\t")
        text = " ".join(text.split())
        ref = " ".join(ref.split()) or normalize(text)
        print(text + "\t" + ref)
        n += 1
if n == 0:
    sys.exit("no sentences in " + sys.argv[1])
