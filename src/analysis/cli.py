"""Command line: ``python -m analysis <command> ...`` (thin; the work is in the stages).

Commands
--------
simulate  write a synthetic study with planted truth
clean     clean and protect a study's exports: responses, change log, summary
profiles  readiness profiles: reliability.csv, fit.csv, profiles.csv, stability.csv
compare   strategy-first vs tool-first, overall and per profile: effects.csv
reflect   code the free-text reflections: reflections.csv, coding_sheet.xlsx, shares per profile
report    every stage, then the notebooks as offline HTML pages and index.html
check-privacy  search output folders for personal values from a study's raw inputs
inspect   show each export as the reader sees it: format, encoding, columns and what they hold
init      draft study.yaml and codebook.yaml from exports, with TODOs where a person decides

``clean``, ``profiles`` and ``compare`` build the study's results up to that
stage (:func:`analysis.pipeline.build`) in ``--out``; a stage whose inputs and
settings did not change is reused, not recomputed. Settings come from the
study file's ``analysis:`` block; the flags below override them.

A mistake in the user's input exits with status 2 and one line naming the
file, row and column; a privacy leak exits with status 3 and one line per
leaking file naming the kind of value (never the value); a stage the study
cannot run (no readiness constructs, no entry point...) exits with status 1
and says what the study lacks; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.errors import InputError
from analysis.publish import PrivacyLeak

#: Exit status when the asked-for stage cannot run on the study.
NOT_AVAILABLE = 1


class StageNotAvailable(Exception):
    """The command's own stage could not run on this study."""


def _simulate(args) -> str:
    from analysis.simulate import Design, simulate_study

    design = Design(n_participants=args.participants, separation=args.separation, effect_scale=args.effect_scale)
    out = simulate_study(args.out, seed=args.seed, design=design)
    return f"wrote a simulated study to {out}"


def _settings(args, study):
    """The study's settings with the command line's flags over them."""
    flags = {name: getattr(args, name, None) for name in ("seed", "confidence", "k_min", "k_max", "k", "resamples",
                                                          "min_n", "language")}
    if getattr(args, "readiness", None) is not None:
        flags["readiness"] = tuple(c.strip() for c in args.readiness.split(",") if c.strip())
    try:
        return study.settings.replace(**flags)
    except ValueError as exc:
        raise InputError("command line", str(exc)) from None


def _build(args, until: str):
    from analysis.codebook import load_study
    from analysis.pipeline import build

    study = load_study(args.study)
    result = build(study, args.out, settings=_settings(args, study), until=until)
    run = result.run(until)
    if not run.available:
        from analysis.summarise import why_not

        raise StageNotAvailable(f"{until}: not available: {why_not(run.why, run.detail, baseline=study.wave('baseline'))}")
    return result, run


def _reused(run) -> str:
    return " (nothing had changed: the stored results were kept)" if run.status == "reused" else ""


def _clean(args) -> str:
    import json

    result, run = _build(args, "clean")
    s = json.loads((result.folder / "summary.json").read_text(encoding="utf-8"))
    rows_in = sum(x["rows_in"] for x in s["sources"])
    quarantined = sum(x["rows_quarantined"] for x in s["sources"])
    text = (f"cleaned {rows_in} rows from {len(s['sources'])} sources: {rows_in - quarantined} clean, "
            f"{quarantined} quarantined; {s['participants']} participants. Wrote {result.folder}{_reused(run)}")
    return "\n".join([text, *_guessed_formats(args.study)])


def _guessed_formats(study) -> list[str]:
    """One line per source whose format the study file does not give: what was guessed, and why."""
    from analysis.codebook import Study, load_study
    from analysis.io import detect

    study = study if isinstance(study, Study) else load_study(study)
    return [f"format guessed for {s.name}: {fmt} ({why}); set `format:` on the source to fix it"
            for s in study.sources if s.format is None for fmt, why in [detect(s.path)]]


def _profiles(args) -> str:
    import json

    result, run = _build(args, "profiles")
    info = json.loads((result.folder / "profiles.json").read_text(encoding="utf-8"))
    names = "; ".join(f"'{n}'" for n in info["names"])
    return (f"chose {info['k']} profile{'s' if info['k'] != 1 else ''} ({names}) for {info['n']} participants; "
            f"wrote {', '.join(run.files)} to {result.folder}{_reused(run)}")


def _compare(args) -> str:
    result, run = _build(args, "compare")
    profiles = result.run("profiles")
    if profiles.available:
        import json

        k = json.loads((result.folder / "profiles.json").read_text(encoding="utf-8"))["k"]
        within = f"for everyone and within {k} profile{'s' if k != 1 else ''}"
    else:
        within = "for everyone (no readiness profiles for this study)"
    return f"compared the entry points {within}; wrote {', '.join(run.files)} to {result.folder}{_reused(run)}"


def _reflect(args) -> str:
    import json

    result, run = _build(args, "reflect")
    info = json.loads((result.folder / "reflections.json").read_text(encoding="utf-8"))
    used = f"; human codes used for {info['human_coded']}" if info["coders"] else ""
    return (f"coded {info['answers']} answers ({info['junk']} without content) of {info['writers']} participants"
            f"{used}; wrote {', '.join(run.files)} to {result.folder}{_reused(run)}")


def _report(args) -> str:
    from analysis.codebook import load_study
    from analysis.report import render_reports

    study = load_study(args.study)
    run = render_reports(study, args.out, results=args.results, settings=_settings(args, study))
    missing = [p.title for p in run.pages if not p.available]
    text = f"wrote {len(run.pages)} report pages and index.html to {args.out}"
    if missing:
        text += f" ({len(missing)} say what the study lacks: {'; '.join(missing)})"
    text += " (nothing had changed: the pages were kept)" if run.reused else ""
    if args.pdf:
        text += "\n" + _summary_pdf(run, Path(args.out))
    return text


def _summary_pdf(run, out: Path) -> str:
    """``summary.pdf`` of the first page, or one line saying why it was skipped (the report stands)."""
    import subprocess

    from analysis.report import CHROMIUM_INSTALL, find_chromium, write_pdf

    if find_chromium() is None:
        return f"PDF skipped: no Chromium is installed to print it (install it with: {CHROMIUM_INSTALL})"
    try:
        pdf = write_pdf(out / run.pages[0].file, out / "summary.pdf")
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        return f"PDF skipped: {exc}"
    return f"wrote {pdf}"


def _check_privacy(args) -> str:
    from analysis.publish import check_privacy

    leaks, files = check_privacy(args.study, *args.outputs)
    if leaks:
        raise PrivacyLeak(leaks)
    return f"checked {files} files: no personal value from the raw inputs found"


def _inspect(args) -> str:
    import json

    from analysis.draft import format_inspection, inspect_export

    infos = [inspect_export(path, args.format) for path in args.exports]
    if args.json:
        return json.dumps([i.as_dict() for i in infos], indent=1, ensure_ascii=False)
    return "\n\n".join(format_inspection(i) for i in infos)


def _init(args) -> str:
    from analysis.draft import write_drafts

    written = write_drafts([str(p) for p in args.exports], args.out, args.wave, force=args.force)
    return (f"wrote {' and '.join(str(p) for p in written)}: decide the TODOs, then "
            f"`python -m analysis report {written[0]} --out reports/`")


def _setting_flags() -> argparse.ArgumentParser:
    """Flags that override the study file's ``analysis:`` settings (see analysis.settings)."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("settings (override the study file's analysis: block)")
    g.add_argument("--seed", type=int, help="seed of every random step")
    g.add_argument("--confidence", type=float, help="level of every interval, e.g. 0.95")
    g.add_argument("--readiness", help="constructs that define readiness, comma-separated")
    g.add_argument("--k-min", type=int, help="fewest profiles tried")
    g.add_argument("--k-max", type=int, help="most profiles tried")
    g.add_argument("--k", type=int, help="a number of profiles fixed by the researcher")
    g.add_argument("--resamples", type=int, help="bootstrap resamples of the stability check")
    g.add_argument("--min-n", type=int, help="fewest people per entry point in an interpreted cell")
    g.add_argument("--language", help="language of the reports (en, nl)")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    settings = _setting_flags()

    p = sub.add_parser("simulate", help="write a synthetic study with planted truth")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--participants", type=int, default=240)
    p.add_argument("--separation", type=float, default=1.0, help="distance between profiles (1 = sample)")
    p.add_argument("--effect-scale", type=float, default=1.0, help="multiplies the planted effects (0 = none)")
    p.set_defaults(run=_simulate)

    for name, run, text in (("clean", _clean, "clean and protect a study's exports"),
                            ("profiles", _profiles, "readiness profiles with reliability, model choice and stability"),
                            ("compare", _compare, "compare the entry points overall and within each profile"),
                            ("reflect", _reflect, "code the free-text reflections, with a sheet for human coders")):
        p = sub.add_parser(name, help=text, parents=[settings])
        p.add_argument("study", type=Path)
        p.add_argument("--out", type=Path, required=True, help="results folder (raw values under its private/)")
        p.set_defaults(run=run)

    p = sub.add_parser("report", help="every stage, then the offline HTML reports", parents=[settings])
    p.add_argument("study", type=Path)
    p.add_argument("--out", type=Path, required=True, help="folder for index.html and the pages")
    p.add_argument("--results", type=Path, default=None, help="results folder (default: OUT/results)")
    p.add_argument("--pdf", action="store_true",
                   help="also print the summary to OUT/summary.pdf with headless Chromium (skipped if none)")
    p.set_defaults(run=_report)

    p = sub.add_parser("inspect", help="show each export as the reader sees it (no personal values)")
    p.add_argument("exports", type=Path, nargs="+")
    p.add_argument("--format", default=None, help="read as this format instead of the detected one")
    p.add_argument("--json", action="store_true", help="one JSON list of the exports, for tools")
    p.set_defaults(run=_inspect)

    p = sub.add_parser("init", help="draft study.yaml and codebook.yaml from exports")
    p.add_argument("exports", type=Path, nargs="+")
    p.add_argument("--out", type=Path, required=True, help="folder for study.yaml and codebook.yaml")
    p.add_argument("--wave", action="append", default=[], metavar="WAVE=FILE",
                   help="the wave of an export (default: guessed from its name, else pre); repeatable")
    p.add_argument("--force", action="store_true", help="overwrite an existing draft")
    p.set_defaults(run=_init)

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
    except StageNotAvailable as exc:
        print(str(exc), file=sys.stderr)
        return NOT_AVAILABLE
    print(message)
    return 0
