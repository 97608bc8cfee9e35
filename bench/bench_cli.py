"""Benchmark: what a user runs, as whole processes, against ``pandas.read_csv`` in the same run.

Generates the large Google Forms export of ``bench_clean.py`` (e-mails with ~3 % repeat
answers, 40 Likert items, a free-text reflection; 100,000 rows by default), then times, each as a
fresh ``python`` process (imports included) and with the peak memory of that process
(``os.wait4`` resource usage, max RSS):

  * read_csv: ``python -c "pandas.read_csv(export)"``, the baseline;
  * clean:    ``python -m analysis clean study.yaml --out DIR`` (read, clean, protect, build the
              leak gate, write parquet + csv + change log + summary, gate them, publish);
  * gate:     the leak gate alone on that command's public outputs (``Gate.load`` from
              ``DIR/private`` and ``Gate.check`` of every public file), also timed inside the
              process so the import of pandas is not counted;

and prints the times and peak memory with their ratios to read_csv.

Usage: python bench/bench_cli.py [--rows 100000] [--repeat 1] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_clean import CODEBOOK, generate  # noqa: E402

GATE = """
import json, sys, time
from pathlib import Path
from analysis.publish import Gate
out = Path(sys.argv[1])
t0 = time.perf_counter()
gate = Gate.load(out / "private")
files = [p for p in sorted(out.iterdir()) if p.is_file()]
leaks = gate.check(files)
print(json.dumps({"inside_seconds": time.perf_counter() - t0, "leaks": len(leaks), "files": len(files),
                  "mb": sum(p.stat().st_size for p in files) / 1e6}))
"""


def run(cmd: list[str], env: dict) -> dict:
    """Wall time, peak memory (MB, this child's own max RSS via ``os.wait4``) and stdout of one process."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as fout, tempfile.TemporaryFile("w+") as ferr:
        pid = os.posix_spawn(cmd[0], cmd, env, file_actions=[(os.POSIX_SPAWN_DUP2, fout.fileno(), 1),
                                                             (os.POSIX_SPAWN_DUP2, ferr.fileno(), 2)])
        _, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - t0
        fout.seek(0)
        ferr.seek(0)
        out, err = fout.read(), ferr.read()
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError(f"{' '.join(cmd[:4])} ... failed: {err.strip()[-800:]}")
    return {"seconds": seconds, "peak_mb": usage.ru_maxrss / 1024, "stdout": out.strip()}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--items", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=1, help="runs per phase; the best time is kept")
    ap.add_argument("--dir", type=Path, default=None, help="where to write the export (default: a temp dir)")
    args = ap.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="bench-cli-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"export_{args.rows}.csv"
    if not path.exists():
        t0 = time.perf_counter()
        generate(path, args.rows, args.items)
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")
    items = "\n".join(f"  q{k + 1}:\n    role: item\n    scale: agree5\n    waves: [pre]\n"
                      f"    match: {{text: [\"How much do you agree? [Statement {k + 1}]\"]}}"
                      for k in range(args.items))
    (folder / "codebook.yaml").write_text(CODEBOOK.format(items=items))
    study = folder / f"study_{args.rows}.yaml"
    study.write_text("codebook: codebook.yaml\nparticipant_key: email\n"
                     f"sources:\n  - {{path: {path.name}, wave: pre, format: google_forms}}\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[1] / "src"),
                                                       os.environ.get("PYTHONPATH", "")]))
    out = folder / f"out_{args.rows}"
    py = sys.executable
    phases = {
        "read_csv": [py, "-c", "import sys, pandas; pandas.read_csv(sys.argv[1])", str(path)],
        "clean": [py, "-m", "analysis", "clean", str(study), "--out", str(out)],
        "gate": [py, "-c", GATE, str(out)],
    }
    best = {}
    for name, cmd in phases.items():
        runs = []
        for _ in range(args.repeat):
            if name == "clean":
                shutil.rmtree(out, ignore_errors=True)  # no stage is taken from an earlier run
            runs.append(run(cmd, env))
        best[name] = min(runs, key=lambda r: r["seconds"])
        print(json.dumps({"phase": name, **best[name]}))
    base = best["read_csv"]
    inside = json.loads(best["gate"]["stdout"])
    print(f"rows {args.rows}: read_csv {base['seconds']:.2f} s (peak {base['peak_mb']:.0f} MB)")
    for name in ("clean", "gate"):
        r = best[name]
        print(f"{name}: {r['seconds']:.2f} s = {r['seconds'] / base['seconds']:.2f}x read_csv; "
              f"peak {r['peak_mb']:.0f} MB = {r['peak_mb'] / base['peak_mb']:.2f}x")
    print(f"gate inside its process (no imports): {inside['inside_seconds']:.2f} s = "
          f"{inside['inside_seconds'] / base['seconds']:.2f}x read_csv, on {inside['files']} files, "
          f"{inside['mb']:.0f} MB, {inside['leaks']} leaks")
    print("targets (issue 13): clean <= 2.5x read_csv time and peak memory; gate <= 0.3x read_csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
