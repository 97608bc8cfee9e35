"""Benchmark: ``python -m analysis report`` on the sample study, as whole processes in one run.

Times, best of ``--repeat`` runs each, in the same run:

  * floor:     the same notebooks with every code cell emptied except the imports, executed and
               rendered the way the report does it (kernel start, imports, papermill, nbconvert; side
               by side, one kernel per core, as the report runs them);
  * report:    ``python -m analysis report data/sample/study.yaml --out DIR`` into a fresh folder
               (every stage computed, every notebook executed);
  * again:     the same command once more into the same folder (nothing changed: every stage and
               page reused);
  * before:    with ``--before REV``, the same command with the code of that git revision (checked
               out into a temporary worktree), e.g. the commit before the pipeline existed.

and prints each time and the ratios report / floor (target of #13: <= 1.5) and before / report.

Usage: python bench/bench_report.py [--repeat 3] [--before 59a204d]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FLOOR = r'''
import os, sys, tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import nbformat
from analysis.report import execute_notebook, notebook_paths, render_html
results = Path(sys.argv[1])
with tempfile.TemporaryDirectory() as tmp:
    empties = []
    for path in notebook_paths():
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code" and "parameters" not in cell.metadata.get("tags", []):
                if not all(line.startswith(("import ", "from ", "%")) for line in cell.source.splitlines()):
                    cell.source = ""
        empty = Path(tmp) / path.name
        nbformat.write(nb, empty)
        empties.append(empty)
    # side by side as the report runs them (one kernel per core), then rendered one after the other
    with ThreadPoolExecutor(max_workers=max(1, min(len(empties), os.cpu_count() or 1))) as pool:
        executed = list(pool.map(lambda e: execute_notebook(e, results, Path(tmp) / ("run-" + e.name)), empties))
    for nb, empty in zip(executed, empties):
        render_html(nb, empty.stem)
'''


def _timed(cmd: list[str], *, cwd: Path, env: dict | None = None) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", help="a git revision to time as well (e.g. 59a204d)")
    args = parser.parse_args()
    python = sys.executable
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    times: dict[str, list[float]] = {"floor": [], "report": [], "again": [], "before": []}
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        tmp = Path(tmp)
        before_root = None
        if args.before:
            before_root = tmp / "before"
            subprocess.run(["git", "worktree", "add", "--detach", str(before_root), args.before], cwd=ROOT,
                           check=True, capture_output=True)
            (tmp / "shared").symlink_to(ROOT.parent / "shared") if (ROOT.parent / "shared").exists() else None
        try:
            results = tmp / "results"
            subprocess.run([python, "-m", "analysis", "report", "data/sample/study.yaml", "--out", str(tmp / "warm"),
                            "--results", str(results)], cwd=ROOT, env=env, check=True, capture_output=True)
            for k in range(args.repeat):
                times["floor"].append(_timed([python, "-c", FLOOR, str(results)], cwd=ROOT, env=env))
                out = tmp / f"report-{k}"
                times["report"].append(_timed([python, "-m", "analysis", "report", "data/sample/study.yaml",
                                               "--out", str(out)], cwd=ROOT, env=env))
                times["again"].append(_timed([python, "-m", "analysis", "report", "data/sample/study.yaml",
                                              "--out", str(out)], cwd=ROOT, env=env))
                if before_root is not None:
                    times["before"].append(_timed(
                        [python, "-m", "analysis", "report", "data/sample/study.yaml", "--out", str(tmp / f"b-{k}")],
                        cwd=before_root, env={**os.environ, "PYTHONPATH": str(before_root / "src")}))
        finally:
            if before_root is not None:
                subprocess.run(["git", "worktree", "remove", "--force", str(before_root)], cwd=ROOT,
                               capture_output=True)
    best = {k: min(v) for k, v in times.items() if v}
    print(f"sample study, best of {args.repeat} (range in brackets), whole processes:")
    for name, label in (("floor", "notebooks with empty code cells (kernel, imports, nbconvert)"),
                        ("report", "python -m analysis report, fresh folder"),
                        ("again", "the same report again, nothing changed"),
                        ("before", f"python -m analysis report at {args.before}")):
        if name in best:
            print(f"  {label:62} {best[name]:6.1f} s  [{min(times[name]):.1f}-{max(times[name]):.1f}]")
    print(f"  report / floor: {best['report'] / best['floor']:.2f} x (target <= 1.5 x)")
    print(f"  again / report: {best['again'] / best['report']:.2f} x")
    if "before" in best:
        print(f"  report / before: {best['report'] / best['before']:.2f} x")


if __name__ == "__main__":
    main()
