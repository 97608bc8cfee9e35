"""Benchmark: clean a large Google Forms export, as a ratio to pandas.read_csv of the same file.

Generates a 1,000,000-response x 40-item export (text Likert labels with some variants,
timestamps, emails with duplicates, one free-text column of reflections; 685 MB, the size the
issue gives; ``--short-text`` writes one- to five-word answers instead, 499 MB), then times

  * baseline: ``pandas.read_csv(path)`` (default options), and its peak memory;
  * clean:    ``analysis.clean.clean_study`` on a study pointing at the file (read, code every
              label, parse timestamps, normalise emails, drop duplicates, quarantine, log);

and prints both and their ratios. Peak memory is measured per phase in a fresh child process
(``resource.getrusage`` max RSS), so phases do not hide each other.

Usage: python bench/bench_clean.py [--rows 1000000] [--items 40] [--repeat 2] [--dir DIR] [--short-text]
"""

from __future__ import annotations

import argparse
import os
import json
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path

# numpy asks Linux for transparent huge pages for arrays of 4 MB or more; where the kernel compacts
# memory to find them (defrag=madvise) that costs more than it saves. The benchmark's environment,
# not the library, makes that choice (numpy reads the variable when it is imported).
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
import numpy as np  # noqa: E402

LABELS = np.array(["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"])
VARIANTS = np.array(["strongly agree", " Agree ", "5 - Strongly agree", "NEUTRAL", "6"])
SHORT_TEXTS = np.array(["Great session", "Too fast for me", "I will try LinkedIn", "", "",
                        "Mail me at someone@example.org", "Thanks, very useful", ""])
# Reflections as people write them: a few sentences, Dutch or English, sometimes over two lines,
# a quarter left blank. With these the export is about 685 MB, the size the issue gives.
TEXTS = np.array([
    "Great session. I finally understood why a hashtag matters when you want people outside your own "
    "network to find a post, and I sent my first message on Twitter that others could actually see. "
    "I would have liked more time to practise with LinkedIn groups though.",
    "Het tempo lag voor mij te hoog: ik was nog bezig met inloggen toen de anderen al berichten plaatsten. "
    "De strategieën zelf vond ik wel helder, vooral netwerken en informatie scannen.\nVolgende keer graag "
    "eerst een korte uitleg van de knoppen.",
    "Starting from the five strategies worked well for me because I already use most of the tools. "
    "Personal branding was new: I will rewrite my LinkedIn summary this week and ask two colleagues "
    "for feedback on it. Mail me the slides at someone@example.org please.",
    "", "",
    "Ik durfde eerst niet te bloggen, maar na de oefening met een collega heb ik een eerste stukje "
    "geschreven over ons project. Online gesprekken met vakgenoten voelen nu minder eng. "
    "Dank voor het geduld!",
    "Useful, but the hands-on part with Twitter came too late in the day; by then I was tired.\n"
    "Could the tool basics be a separate morning for people like me who are new to all of this?",
    "Goede workshop. Ik ga de tips over informatieverwerking gebruiken om RSS-feeds en lijsten op "
    "Twitter in te richten, zodat ik niet alles hoef te lezen. Samenwerken via gedeelde documenten "
    "probeer ik met mijn team uit.",
])


def generate(path: Path, rows: int, items: int, seed: int = 1, texts: np.ndarray = TEXTS) -> None:
    rng = np.random.default_rng(seed)
    chunk = 100_000
    header = ["Timestamp", "Email address"] + [f"How much do you agree? [Statement {k + 1}]" for k in range(items)] + [
        "Anything else?"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(f'"{h}"' for h in header) + "\r\n")
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            seconds = rng.integers(0, 86_400 * 60, n)
            stamps = (np.datetime64("2026-03-01T00:00:00") + seconds.astype("timedelta64[s]")).astype(str)
            ts = [f"{s[5:7].lstrip('0')}/{s[8:10].lstrip('0')}/{s[:4]} {s[11:13].lstrip('0') or '0'}:{s[14:]}"
                  for s in stamps]
            # one response per person, except ~3 % who answer again (as someone earlier in the file)
            person = np.arange(start, start + n)
            again = rng.random(n) < 0.03
            person[again] = rng.integers(0, start + 1, again.sum()) if start else rng.integers(0, n, again.sum())
            emails = [f"person{p}@example.org" for p in person]
            cols = [LABELS[rng.integers(0, 5, n)] for _ in range(items)]
            for col in cols:
                dirty = rng.random(n) < 0.01
                col[dirty] = VARIANTS[rng.integers(0, len(VARIANTS), dirty.sum())]
                col[rng.random(n) < 0.02] = ""
            text = ['"' + t + '"' for t in texts[rng.integers(0, len(texts), n)]]  # free text is quoted
            lines = zip(ts, emails, *cols, text)
            fh.write("".join(",".join(r) + "\r\n" for r in lines))


CODEBOOK = """\
version: 1
scales:
  agree5:
    levels:
      - {{code: 1, en: Strongly disagree}}
      - {{code: 2, en: Disagree}}
      - {{code: 3, en: Neutral}}
      - {{code: 4, en: Agree}}
      - {{code: 5, en: Strongly agree}}
variables:
  submitted:
    role: timestamp
    waves: [pre]
    match: {{text: [Timestamp]}}
  email:
    role: identifier
    waves: [pre]
    match: {{text: [Email address]}}
{items}
  note:
    role: text
    waves: [pre]
    match: {{text: ["Anything else?"]}}
"""


def _phase(name: str, path: str, out) -> None:
    t0 = time.perf_counter()
    if name == "read_csv":
        import pandas as pd

        frame = pd.read_csv(path)
        n = len(frame)
    else:
        from analysis.clean import clean_study
        from analysis.codebook import load_study

        result = clean_study(load_study(Path(path).with_name("study.yaml")))
        n = len(result.data) + len(result.quarantine)
    seconds = time.perf_counter() - t0
    out.put({"phase": name, "seconds": seconds, "rows": n,
             "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def run(phase: str, path: Path) -> dict:
    ctx = mp.get_context("spawn")  # a fresh interpreter per phase: clean peak memory
    queue = ctx.Queue()
    proc = ctx.Process(target=_phase, args=(phase, str(path), queue))
    proc.start()
    while True:
        try:
            return queue.get(timeout=5)
        except Exception:
            if not proc.is_alive():
                raise RuntimeError(f"phase {phase} failed (exit code {proc.exitcode})") from None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--items", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=2, help="runs per phase; the best time is kept")
    ap.add_argument("--dir", type=Path, default=None, help="where to write the export (default: a temp dir)")
    ap.add_argument("--short-text", action="store_true",
                    help="one- to five-word free text (a 499 MB export) instead of reflections (685 MB)")
    args = ap.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="bench-clean-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ("export_short.csv" if args.short_text else "export.csv")
    if not path.exists():
        t0 = time.perf_counter()
        generate(path, args.rows, args.items, texts=SHORT_TEXTS if args.short_text else TEXTS)
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")
    items = "\n".join(f"  q{k + 1}:\n    role: item\n    scale: agree5\n    waves: [pre]\n"
                      f"    match: {{text: [\"How much do you agree? [Statement {k + 1}]\"]}}" for k in range(args.items))
    (folder / "codebook.yaml").write_text(CODEBOOK.format(items=items))
    (folder / "study.yaml").write_text("codebook: codebook.yaml\nparticipant_key: email\n"
                                       f"sources:\n  - {{path: {path.name}, wave: pre, format: google_forms}}\n")
    best = {}
    for phase in ("read_csv", "clean"):
        runs = [run(phase, path) for _ in range(args.repeat)]
        best[phase] = min(runs, key=lambda r: r["seconds"])
        print(json.dumps(best[phase]))
    time_ratio = best["clean"]["seconds"] / best["read_csv"]["seconds"]
    mem_ratio = best["clean"]["peak_mb"] / best["read_csv"]["peak_mb"]
    print(f"rows {args.rows}, items {args.items}: read_csv {best['read_csv']['seconds']:.2f} s "
          f"(peak {best['read_csv']['peak_mb']:.0f} MB); clean {best['clean']['seconds']:.2f} s "
          f"(peak {best['clean']['peak_mb']:.0f} MB)")
    print(f"time ratio clean/read_csv = {time_ratio:.2f} (target <= 2.0); "
          f"peak memory ratio = {mem_ratio:.2f} (target <= 2.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
