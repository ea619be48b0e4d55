#!/usr/bin/env python3
"""Deterministic input for `helpdesk-slo calendar batch` benchmarks.

Writes N JSON lines (default 1,000,000) for the calendars of
examples/celigo.yaml, mixing `deadline` and `between` ops. The same seed
always gives the same bytes, on any machine: only integer arithmetic
(splitmix64) is used. benches/batch.rs generates exactly the first 100,000
lines of this output in process.

Per line, in this order of draws:
  1. calendar: essential 60%, preferred 25%, premier 15%  (next() % 20)
  2. op: deadline if next() is even, else between
  3. start: 2026-01-01T00:00:00Z + next() % (365 days), to the second
  4. deadline: "seconds" log-uniform-ish in [60, 324000] (1 minute to 10
     business days of 9h); between: "end" = start + log-uniform-ish
     [60, 1209600] (1 minute to 14 days)
Log-uniform-ish: a doubling bucket [60 * 2^e, 60 * 2^(e+1)) drawn uniformly
among those starting at or below the maximum, then a value uniformly in it
(clipped to the maximum).

Usage:
  python3 benches/gen_batch_input.py [--lines N] [--seed S] [--output FILE]
"""

import argparse
import sys
import time

MASK = (1 << 64) - 1
Y2026 = 1_767_225_600
YEAR_SECONDS = 365 * 86_400


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def log_uniform(self, lo_min, hi_max):
        buckets = 0
        while buckets < 63 and (lo_min << buckets) <= hi_max:
            buckets += 1
        e = self.next() % buckets
        lo = lo_min << e
        hi = min(lo_min << (e + 1), hi_max + 1)
        return lo + self.next() % (hi - lo)


def instant(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def lines(count, seed):
    rng = SplitMix64(seed)
    for _ in range(count):
        r = rng.next() % 20
        calendar = "essential" if r < 12 else "preferred" if r < 17 else "premier"
        deadline = rng.next() % 2 == 0
        start = Y2026 + rng.next() % YEAR_SECONDS
        if deadline:
            seconds = rng.log_uniform(60, 90 * 3600)
            yield (
                f'{{"calendar":"{calendar}","op":"deadline",'
                f'"start":"{instant(start)}","seconds":{seconds}}}\n'
            )
        else:
            end = start + rng.log_uniform(60, 14 * 86_400)
            yield (
                f'{{"calendar":"{calendar}","op":"between",'
                f'"start":"{instant(start)}","end":"{instant(end)}"}}\n'
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--output", help="file to write (default: standard output)")
    args = parser.parse_args()
    out = open(args.output, "w", encoding="ascii", newline="\n") if args.output else sys.stdout
    try:
        chunk = []
        for line in lines(args.lines, args.seed):
            chunk.append(line)
            if len(chunk) >= 10_000:
                out.write("".join(chunk))
                chunk.clear()
        out.write("".join(chunk))
    finally:
        if out is not sys.stdout:
            out.close()


if __name__ == "__main__":
    main()
