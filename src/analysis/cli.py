"""Command line: ``python -m analysis <command> ...`` (thin; the work is in the stages).

Commands
--------
simulate  write a synthetic study with planted truth
clean     clean and protect a study's exports into processed files
profiles  readiness profiles: reliability.csv, fit.csv, profiles.csv
compare   strategy-first vs tool-first, overall and per profile: effects.csv
report    execute the notebooks against a study and write offline HTML
check-privacy  search output folders for personal values from a study's raw inputs

A mistake in the user's input exits with status 2 and one line naming the
file, row and column; a privacy leak exits with status 3 and one line per
leaking file naming the kind of value (never the value); anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.errors import InputError
from analysis.publish import PrivacyLeak


def _simulate(args) -> str:
    from analysis.simulate import Design, simulate_study

    design = Design(n_participants=args.participants, separation=args.separation, effect_scale=args.effect_scale)
    out = simulate_study(args.out, seed=args.seed, design=design)
    return f"wrote a simulated study to {out}"


def _clean(args) -> str:
    from analysis.protect import process_study
    from analysis.publish import write_processed

    processed = process_study(args.study)
    out = write_processed(processed, args.out)
    s = processed.summary
    rows_in = sum(x["rows_in"] for x in s["sources"])
    quarantined = sum(x["rows_quarantined"] for x in s["sources"])
    return (f"cleaned {rows_in} rows from {len(s['sources'])} sources: {rows_in - quarantined} clean, "
            f"{quarantined} quarantined; {s['participants']} participants. Wrote {out}")


def _published(study, files) -> None:
    """Run the leak gate over the files a command wrote; on a leak remove them all (status 3)."""
    from analysis.publish import check_privacy

    leaks, _ = check_privacy(study, *files)
    if leaks:
        for path in files:
            Path(path).unlink(missing_ok=True)
        raise PrivacyLeak(leaks)


def _profiles(args) -> str:
    from analysis.protect import process_study
    from analysis.profiles import write_profiles

    processed = process_study(args.study)
    written = write_profiles(processed, args.out, k_max=args.k_max, seed=args.seed, resamples=args.resamples)
    _published(processed.study, written["files"])
    result = written["result"]
    return (f"chose {len(result.names)} profiles ({', '.join(result.names)}) for "
            f"{len(result.posterior)} participants; wrote {', '.join(Path(f).name for f in written['files'])} "
            f"to {args.out}")


def _compare(args) -> str:
    import pandas as pd

    from analysis.compare import check_posteriors, write_effects
    from analysis.protect import process_study
    from analysis.profiles import study_posteriors

    processed = process_study(args.study)
    if args.profiles is not None:
        if not args.profiles.is_file():
            raise InputError(args.profiles, "a profiles.csv written by `python -m analysis profiles`")
        try:
            posteriors = check_posteriors(pd.read_csv(args.profiles))
        except (ValueError, pd.errors.ParserError) as exc:
            raise InputError(args.profiles, f"profiles.csv as `python -m analysis profiles` writes it ({exc})") \
                from None
    else:
        posteriors = study_posteriors(processed, seed=args.seed)
    path = write_effects(processed, posteriors, args.out, seed=args.seed)
    _published(processed.study, [path, path.with_name("effects_methods.txt")])
    return f"compared entry points over {len(posteriors.columns)} profiles; wrote {path}"


def _report(args) -> str:
    from analysis.report import render_reports

    written = render_reports(args.study, args.out)
    return f"wrote {len(written) - 1} reports and {written[-1]}"


def _check_privacy(args) -> str:
    from analysis.publish import check_privacy

    leaks, files = check_privacy(args.study, *args.outputs)
    if leaks:
        raise PrivacyLeak(leaks)
    return f"checked {files} files: no personal value from the raw inputs found"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("simulate", help="write a synthetic study with planted truth")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--participants", type=int, default=240)
    p.add_argument("--separation", type=float, default=1.0, help="distance between profiles (1 = sample)")
    p.add_argument("--effect-scale", type=float, default=1.0, help="multiplies the planted effects (0 = none)")
    p.set_defaults(run=_simulate)

    p = sub.add_parser("clean", help="clean and protect a study's exports")
    p.add_argument("study", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(run=_clean)

    p = sub.add_parser("profiles", help="readiness profiles with reliability, model selection and stability")
    p.add_argument("study", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--k-max", type=int, default=6, help="largest number of profiles tried")
    p.add_argument("--seed", type=int, default=20260301)
    p.add_argument("--resamples", type=int, default=100, help="bootstrap resamples for stability")
    p.set_defaults(run=_profiles)

    p = sub.add_parser("compare", help="compare the entry points overall and within each profile")
    p.add_argument("study", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--profiles", type=Path, default=None,
                   help="profiles.csv to use (default: fit the profiles as `profiles` does)")
    p.add_argument("--seed", type=int, default=20260301)
    p.set_defaults(run=_compare)

    p = sub.add_parser("report", help="execute the notebooks and write offline HTML reports")
    p.add_argument("study", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(run=_report)

    p = sub.add_parser("check-privacy", help="search outputs for personal values from the raw inputs")
    p.add_argument("study", type=Path)
    p.add_argument("outputs", type=Path, nargs="+", help="folders or files (private/ is skipped)")
    p.set_defaults(run=_check_privacy)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        message = args.run(args)
    except InputError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except PrivacyLeak as exc:
        for leak in exc.leaks:
            print(f"privacy leak: {leak}", file=sys.stderr)
        print("error: personal values found in the outputs above" + (
            "" if args.command == "check-privacy" else "; they were removed, nothing was published"), file=sys.stderr)
        return 3
    print(message)
    return 0
