"""Benchmark: the scrubber's time grows linearly with an answer's length, whatever its shape.

For each shape of hostile answer (one run of word characters, digits, spaces, mixed
punctuation, numbers with spaces, @ signs, capitalised words) times
:func:`analysis.scrub.personal_spans` with no length cap (``limit=None``) on a
baseline of 0.5 MB and on 5 MB, and prints the ratio: 10 is linear, 100 would be
quadratic. The baseline is the same shape at a tenth of the size in the same run.
Clean itself never searches more than ``MAX_ANSWER_CHARS`` of an answer.

Usage: python bench/bench_scrub.py [--small 500000] [--factor 10]
"""

from __future__ import annotations

import argparse
import time

from analysis.scrub import name_pattern, personal_spans

SHAPES = {"word run": "a", "digits": "1", "spaces": "         x", "mixed": "ab1 @.-:/x ",
          "numbers": "123 ", "at signs": "@", "capitalised": "Aa "}


def _time(text: str, names) -> float:
    start = time.perf_counter()
    personal_spans(text, names, limit=None)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=500_000)
    parser.add_argument("--factor", type=int, default=10)
    args = parser.parse_args()
    names = name_pattern(["Jöran Çelik", "Lisa Zwart", "Ana-María López"])
    print(f"{'shape':12s} {'baseline':>10s} {'x' + str(args.factor):>10s} {'ratio':>6s}")
    for label, unit in SHAPES.items():
        small = (unit * (args.small // len(unit) + 1))[:args.small]
        big = small * args.factor
        a, b = _time(small, names), _time(big, names)
        print(f"{label:12s} {a:9.2f}s {b:9.2f}s {b / a:6.1f}")


if __name__ == "__main__":
    main()
