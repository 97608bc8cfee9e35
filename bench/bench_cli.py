"""Benchmark: what a user runs, as whole processes, against ``pandas.read_csv`` in the same run.

Generates the large Google Forms export of ``bench_clean.py`` (e-mails with ~3 % repeat
answers, 40 Likert items, a free-text reflection; 1,000,000 rows by default), then times, each as a
fresh ``python`` process (imports included) and with the peak memory of that process
(``os.wait4`` resource usage, max RSS):

  * read_csv: ``python -c "pandas.read_csv(export)"``, the baseline;
  * clean:    ``python -m analysis clean study.yaml --out DIR`` (read, clean, protect, build the
              leak gate, write parquet + csv + change log + summary, gate them, publish);
  * gate:     the leak gate alone on that command's public outputs (``Gate.load`` from
              ``DIR/private`` and ``Gate.check`` of every public file), also timed inside the
              process so the import of pandas is not counted;
  * report:   ``python -m analysis report`` on a simulated study of ``--participants`` people
              (pre, post and follow-up exports; written once by ``python -m analysis simulate
              --participants N``, not timed): every stage and every page, into a fresh folder;

and prints the times and peak memory with their ratios to read_csv (and the report's minutes
against the issue's 5).

Usage: python bench/bench_cli.py [--rows 1000000] [--participants 100000] [--repeat 1] [--dir DIR]
       [--skip clean,gate,report]
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
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--items", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=1, help="runs per phase; the best time is kept")
    ap.add_argument("--dir", type=Path, default=None, help="where to write the export (default: a temp dir)")
    ap.add_argument("--participants", type=int, default=100_000, help="people in the report's simulated study")
    ap.add_argument("--skip", default="", help="phases not to run, comma-separated (clean, gate, report)")
    args = ap.parse_args()
    skip = {p.strip() for p in args.skip.split(",") if p.strip()}
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
    simulated = folder / f"study_{args.participants}_participants"
    if "report" not in skip and not (simulated / "study.yaml").exists():
        t0 = time.perf_counter()
        run([py, "-m", "analysis", "simulate", "--participants", str(args.participants), "--out", str(simulated)], env)
        print(f"simulated {args.participants} participants into {simulated} in {time.perf_counter() - t0:.1f} s")
    reports = folder / f"report_{args.participants}"
    phases = {
        "read_csv": [py, "-c", "import sys, pandas; pandas.read_csv(sys.argv[1])", str(path)],
        "clean": [py, "-m", "analysis", "clean", str(study), "--out", str(out)],
        "gate": [py, "-c", GATE, str(out)],
        "report": [py, "-m", "analysis", "report", str(simulated / "study.yaml"), "--out", str(reports)],
    }
    best = {}
    for name, cmd in phases.items():
        if name in skip or (name == "gate" and "clean" in skip and not (out / "private").is_dir()):
            continue
        runs = []
        for _ in range(args.repeat):
            if name in ("clean", "report"):
                shutil.rmtree(out if name == "clean" else reports, ignore_errors=True)  # nothing reused
            runs.append(run(cmd, env))
        best[name] = min(runs, key=lambda r: r["seconds"])
        print(json.dumps({"phase": name, **best[name]}))
    base = best["read_csv"]
    print(f"rows {args.rows}: read_csv {base['seconds']:.2f} s (peak {base['peak_mb']:.0f} MB)")
    for name in ("clean", "gate", "report"):
        if name not in best:
            continue
        r = best[name]
        what = f"report on {args.participants} participants" if name == "report" else name
        print(f"{what}: {r['seconds']:.2f} s = {r['seconds'] / base['seconds']:.2f}x read_csv; "
              f"peak {r['peak_mb']:.0f} MB = {r['peak_mb'] / base['peak_mb']:.2f}x"
              + (f"; {r['seconds'] / 60:.1f} min (target: under 5)" if name == "report" else ""))
    if "gate" in best:
        inside = json.loads(best["gate"]["stdout"])
        print(f"gate inside its process (no imports): {inside['inside_seconds']:.2f} s = "
              f"{inside['inside_seconds'] / base['seconds']:.2f}x read_csv, on {inside['files']} files, "
              f"{inside['mb']:.0f} MB, {inside['leaks']} leaks")
    print("targets (issue 13): clean <= 2.5x read_csv time and peak memory; gate <= 0.3x read_csv; "
          "report on 100,000 participants under 5 minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
