"""Coverage and false-positive rate of the entry-point comparison on simulated studies.

Plain script (not collected by pytest); prints figures and timings::

    .venv/bin/python bench/bench_compare_coverage.py --studies 200 --null-studies 200 --log /tmp/coverage.jsonl
    .venv/bin/python bench/bench_compare_coverage.py --from-log /tmp/coverage.jsonl   # figures of a log so far
    .venv/bin/python bench/bench_compare_coverage.py --separation 0.6 ...   # profiles that overlap

Planted and null studies are interleaved, and ``--log`` writes each study as it ends.

For each simulated study (``analysis.simulate``, the sample's design, a new
seed) it runs :func:`analysis.compare.entry_point_effects` (with the
settings the compare stage passes, on the covered outcomes) with the profile
posteriors the pipeline itself fits (``--posteriors fitted``, the default:
:func:`analysis.pipeline.build` up to ``profiles``; the fit table's BLRT and
omega's bootstrap interval are skipped as they touch no effect, and
``--resamples`` can shorten the stability check of the k-choice) or with the planted profiles as
one-hot posteriors (``--posteriors truth``), and checks whether each 95%
interval covers the planted effect from ``truth.json`` (target 93-97%). A fitted
profile whose name matches no planted profile has no planted value and is
counted apart. Covered: the composites
(confidence, intention, adoption: mean differences) and the five adoption items
(risk differences), overall, per profile, and the interactions of the
composites. Per-profile and interaction intervals are checked twice: as
stored (BCH-corrected for classification error, the default) and without
the correction (the ``*_uncorrected`` columns of the same run). With ``effect_scale=0`` (no planted effect) it reports how often
the session permutation p-value is at most 0.05 (never: with 3 + 3 sessions
its smallest value is 0.1), how often the jackknife-t p-value is, and how often
an interval excludes 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from analysis import compare
from analysis.codebook import load_study
from analysis.pipeline import build
from analysis.results import load
from analysis.simulate import Design, simulate_study

COMPOSITES = ("confidence", "intention", "adoption")
ITEMS = tuple(f"adopt_{s}" for s in ("cooperation", "branding", "conversations", "networking", "scanning"))


def one_study(args: tuple) -> dict:
    seed, effect_scale, source, resamples, separation = args
    timing = {}
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        simulate_study(tmp, seed=seed, design=Design(effect_scale=effect_scale, separation=separation))
        timing["simulate"] = time.perf_counter() - t
        truth = json.loads((Path(tmp) / "truth.json").read_text(encoding="utf-8"))
        t = time.perf_counter()
        # what `python -m analysis compare` does: the pipeline fits the profiles once and hands their
        # posteriors to entry_point_effects, called here as the compare stage calls it but on the
        # covered outcomes only (the other outcomes' rows do not change these)
        until = "profiles" if source == "fitted" else "clean"
        study = load_study(Path(tmp) / "study.yaml")
        # the fit table's BLRT and omega's bootstrap interval touch no effect: skipped to save time
        settings = study.settings.replace(blrt_reps=0, n_boot=0, resamples=resamples)
        res = load(build(study, Path(tmp) / "results", settings=settings, until=until, progress=False).folder)
        timing["pipeline"] = time.perf_counter() - t
        t = time.perf_counter()
        if source == "fitted":
            posteriors = compare.check_posteriors(res.posteriors)
        else:
            labels = pd.Series({pid: p["profile"] for pid, p in truth["participants"].items()})
            posteriors = compare.posteriors_from_labels(labels)[[p["name"] for p in truth["profiles"]]]
        outcomes = [o for o in compare.find_outcomes(res.codebook) if o.name in COMPOSITES + ITEMS]
        scores = compare.outcome_scores(res.responses, outcomes)
        effects = compare.entry_point_effects(scores, outcomes=outcomes, posteriors=posteriors,
                                              confidence=settings.confidence, min_n=settings.min_n,
                                              min_sessions=settings.min_sessions,
                                              n_resamples=settings.permutations, seed=settings.seed,
                                              correction=settings.correction)
        timing["compare"] = time.perf_counter() - t
    effects = effects[effects["outcome"].isin(COMPOSITES + ITEMS)]
    effects = effects[effects["effect_type"].isin(["mean difference", "risk difference"])]
    observed, interaction = truth["effects"]["observed"], truth["effects"]["interaction"]
    records, unmatched = [], 0
    for row in effects.itertuples():
        if row.comparison == "interaction":
            a, b = row.profile.split(" minus ")
            planted = interaction.get(row.outcome, {}).get(f"{a} minus {b}")
            if planted is None and f"{b} minus {a}" in interaction.get(row.outcome, {}):
                planted = -interaction[row.outcome][f"{b} minus {a}"]
            if planted is None:  # truth.json plants interactions for the composites only
                continue
        else:
            planted = observed[row.outcome].get(row.profile)
        if planted is None:  # a fitted profile named unlike every planted one
            unmatched += 1
            continue
        records.append({"seed": seed, "outcome": row.outcome, "profile": row.profile,
                        "comparison": row.comparison, "planted": planted, "estimate": row.estimate,
                        "covered": bool(row.ci_low <= planted <= row.ci_high),
                        "excludes_0": bool(row.ci_low > 0 or row.ci_high < 0),
                        "estimate_uncorrected": row.estimate_uncorrected,
                        "covered_uncorrected": bool(row.ci_low_uncorrected <= planted <= row.ci_high_uncorrected),
                        "excludes_0_uncorrected": bool(row.ci_low_uncorrected > 0 or row.ci_high_uncorrected < 0),
                        "p": row.p, "p_jackknife": row.p_jackknife, "interpretable": row.interpretable, "width": row.ci_high - row.ci_low})
    return {"records": records, "timing": timing, "unmatched": unmatched}


def run(jobs: list, workers: int, log: Path | None = None) -> list[dict]:
    """Every study of ``jobs`` (seed, effect_scale, source, resamples), each result logged as it comes."""
    quiet = not sys.stderr.isatty()
    results = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for job, res in zip(jobs, tqdm(pool.map(one_study, jobs), total=len(jobs), disable=quiet)):
            res = {"effect_scale": job[1], **res}
            results.append(res)
            if log is not None:  # one line per study, so a long run can be read before it ends
                with log.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(res) + "\n")
    return results


def frames(results: list[dict], effect_scale: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Records and timings of the studies with this effect scale."""
    chosen = [r for r in results if r["effect_scale"] == effect_scale]
    records = pd.DataFrame([r for res in chosen for r in res["records"]])
    timing = pd.DataFrame([res["timing"] for res in chosen])
    timing["unmatched"] = [res["unmatched"] for res in chosen]
    return records, timing


def share(x) -> str:
    return f"{100 * np.mean(x):5.1f}%"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=200, help="simulated studies with the planted effects")
    parser.add_argument("--null-studies", type=int, default=200, help="simulated studies with no effect")
    parser.add_argument("--first-seed", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--posteriors", choices=("fitted", "truth"), default="fitted",
                        help="profile membership: fitted by the pipeline (default) or the planted profiles")
    parser.add_argument("--resamples", type=int, default=None,
                        help="bootstrap resamples of the profiles' stability check (default: the study's setting)")
    parser.add_argument("--separation", type=float, default=1.0,
                        help="profile separation of the simulated design (1 = the sample's; lower: profiles "
                             "overlap and more people are counted partly in the wrong profile)")
    parser.add_argument("--from-log", type=Path, default=None,
                        help="print the figures of the studies in a --log file instead of running any")
    parser.add_argument("--log", type=Path, default=None, help="append each study's records to this JSON-lines file")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    if args.from_log:
        results = [json.loads(line) for line in args.from_log.read_text(encoding="utf-8").splitlines() if line]
    else:
        planted = [(args.first_seed + k, 1.0, args.posteriors, args.resamples, args.separation)
                   for k in range(args.studies)]
        null = [(args.first_seed + 1_000_000 + k, 0.0, args.posteriors, args.resamples, args.separation)
                for k in range(args.null_studies)]
        # interleaved, so that a log read early holds both kinds of study in proportion
        jobs = sorted(planted + null, key=lambda j: ((j[0] - args.first_seed) % 1_000_000 + 0.5 * (j[1] == 0))
                      / (len(null) if j[1] == 0 else len(planted)))
        results = run(jobs, args.workers, args.log)
    records, timing = frames(results, 1.0)
    args.studies, args.null_studies = len(timing), int(sum(r["effect_scale"] == 0.0 for r in results))
    if records.empty:
        print("\nno study with planted effects")
    else:
        print(f"\n== Coverage of 95% intervals: {args.studies} simulated studies (planted effects), "
              f"posteriors: {args.posteriors}, separation {args.separation:g} ==")
        print(f"effects of a fitted profile named unlike every planted one (no planted value): "
              f"{int(timing['unmatched'].sum())}")
        print(f"{'comparison':12} {'outcome':13} {'profile':48} {'n':>5} {'coverage':>9} {'mean width':>10}")
        cov = records[records["interpretable"] == "yes"]
        for (comp, outcome, profile), g in cov.groupby(["comparison", "outcome", "profile"], sort=False):
            print(f"{comp:12} {outcome:13} {profile:48} {len(g):5d} {share(g['covered']):>9} {g['width'].mean():10.3f}")
        print("-- pooled --")
        for comp, g in cov.groupby("comparison"):
            print(f"{comp:12} {'composites':13} {share(g[g['outcome'].isin(COMPOSITES)]['covered']):>9}   "
                  f"{'adoption items':15} {share(g[g['outcome'].isin(ITEMS)]['covered']) if g['outcome'].isin(ITEMS).any() else '   -':>9}")
        per_profile = cov[cov["comparison"] == "profile"]
        print(f"per-profile effects, all outcomes: {share(per_profile['covered'])} of {len(per_profile)} intervals "
              f"cover the planted value (target 93-97%)")
        print(f"per-profile effects, all outcomes, without the correction (posterior-weighted): "
              f"{share(per_profile['covered_uncorrected'])} of {len(per_profile)} intervals")
        conf = per_profile[per_profile["outcome"] == "confidence"]
        print(f"per-profile effects, confidence:   {share(conf['covered'])} of {len(conf)} intervals "
              f"(without the correction {share(conf['covered_uncorrected'])})")
        print("per-profile effects by outcome, coverage with / without the correction, mean bias with / without:")
        for outcome, g in per_profile.groupby("outcome", sort=False):
            print(f"  {outcome:13} {share(g['covered'])} / {share(g['covered_uncorrected'])}   "
                  f"{(g['estimate'] - g['planted']).mean():+.3f} / {(g['estimate_uncorrected'] - g['planted']).mean():+.3f}")
        shift = (per_profile["estimate"] - per_profile["estimate_uncorrected"]).abs()
        print(f"how far the correction moves a per-profile estimate: mean {shift.mean():.4f}, largest {shift.max():.4f}")
        inter = cov[cov["comparison"] == "interaction"]
        if len(inter):
            print(f"interactions: {share(inter['covered'])} with / {share(inter['covered_uncorrected'])} without "
                  f"the correction, of {len(inter)} intervals")
        print(f"cells marked too few to interpret: {(records['interpretable'] == 'no').sum()} of {len(records)}")
        print("p <= 0.05 with planted effects (power), permutation: "
              + ", ".join(f"{c} {share(g['p'] <= 0.05)}" for c, g in cov.groupby("comparison")))
        print("p <= 0.05 with planted effects (power), jackknife t: "
              + ", ".join(f"{c} {share(g['p_jackknife'] <= 0.05)}" for c, g in cov.groupby("comparison")))

    nrec, ntiming = frames(results, 0.0)
    if nrec.empty:
        print(f"\nno study without a planted effect ({args.null_studies} run)")
        return
    nrec = nrec[nrec["interpretable"] == "yes"]
    print(f"\n== No planted effect (effect_scale=0): {args.null_studies} simulated studies ==")
    for comp, g in nrec.groupby("comparison"):
        print(f"{comp:12} permutation p <= 0.05: {share(g['p'] <= 0.05)}   interval excludes 0: "
              f"{share(g['excludes_0'])} (without the correction {share(g['excludes_0_uncorrected'])})   "
              f"({len(g)} tests)")
    print(f"all          permutation p <= 0.05: {share(nrec['p'] <= 0.05)}   p <= 0.10 (its floor): "
          f"{share(nrec['p'] <= 0.1 + 1e-9)}   interval excludes 0: {share(nrec['excludes_0'])}   ({len(nrec)} tests)")
    print("jackknife-t p <= 0.05 (the test matching the interval): "
          + ", ".join(f"{c} {share(g['p_jackknife'] <= 0.05)}" for c, g in nrec.groupby("comparison")))
    print("smallest attainable permutation p with 3 + 3 sessions: 2/20 = 0.1 (each assignment has a mirror)")

    t = pd.concat([timing, ntiming])
    elapsed = time.perf_counter() - start
    print(f"\n== Timing ({args.workers} workers) ==")
    print(f"per study, mean seconds: simulate {t['simulate'].mean():.2f}, pipeline to profiles "
          f"{t['pipeline'].mean():.2f}, compare {t['compare'].mean():.2f} ({len(COMPOSITES) + len(ITEMS)} outcomes)")
    print(f"total wall time {elapsed:.0f} s for {args.studies + args.null_studies} studies")


if __name__ == "__main__":
    main()
