"""Recovery benchmark of the profile search: does it find the planted number of profiles?

Run: ``.venv/bin/python bench/bench_profile_recovery.py [--quick] [--seeds 4] [--resamples 50] [--icl]``
(defaults: 52 settings x 4 seeds, about 13 minutes on 2 cores; ``--quick``: 2 seeds; ``--icl``
doubles the time)

Studies are drawn from a grid unlike the committed sample (whose design is fixed: three
profiles, 4-5 items per construct, n = 240):

* planted k = 1..4 profiles with unequal sizes (k = 4: 40/30/20/10%);
* profile shapes the sample does not have, such as *skilled but cautious* (tool skills high,
  guts low) and *bold beginners* (tool skills low, guts high), see :data:`SHAPES`;
* separation from weak to strong (a multiplier of the shapes' offsets, :data:`SEPARATIONS`;
  the table prints the smallest distance between two profile means in within-profile SDs);
* n = 120 and 600 participants;
* constructs uncorrelated (r = 0) or correlated (r = 0.5) within a profile;
* 4, 5 or 6 five-point Likert items per construct (by seed), one or two of them reverse-keyed,
  answered with a personal acquiescence (a tendency to agree) that reverse-keyed items cancel.

Items are generated here (an independent generator, not :mod:`analysis.simulate`, whose item
set is fixed), keyed, and scored by :func:`analysis.scales.construct_scores`; the profile
search is :func:`analysis.profiles.fit_profiles` with its defaults (BLRT off: it is not part of
the choice). The rules run on the same data in the same run:

``stable BIC``  the suite's rule: lowest BIC whose every profile is stable and apart from every other
                (Bhattacharyya distance >= ``profiles.MIN_SEPARATION``), stepping k down;
``stable ICL``  the same ordered by ICL (``criterion="icl"``; with ``--icl``);
``BIC``         the same fits, lowest BIC among admissible solutions (the suite's rule before);
``sklearn``     plain ``GaussianMixture`` (full covariances, scikit-learn defaults), k = 1..6 by BIC.

Per setting it prints: planted k found / seeds, the k chosen, ARI with the planted profiles at
the chosen k and at the planted k (best-BIC admissible solution with that many profiles), and
the share of studies whose chosen solution has a profile below Jaccard 0.75 ("unstable", for
``BIC``; the suite's rule only ends on such a solution when none is stable), the verdict on the
number of profiles (:func:`analysis.profiles.k_verdict`: clear, unclear, none) and the number of
wrong choices whose every profile was called stable, by verdict. Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections import Counter

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from analysis import profiles
from analysis.scales import construct_scores

CONSTRUCTS = ("tool_skills", "focus", "guts")
#: Profile shapes: offsets from the scale midpoint 3 (tool skills, focus, guts), before separation.
SHAPES = {
    "skilled but cautious": (1.0, 0.2, -0.9),
    "bold beginners": (-1.0, -0.3, 0.8),
    "focused planners": (-0.2, 1.0, 0.1),
    "all-round ready": (0.9, 0.8, 1.0),
}
#: Profile shares per planted k (unequal on purpose).
SHARES = {1: (1.0,), 2: (0.65, 0.35), 3: (0.5, 0.3, 0.2), 4: (0.4, 0.3, 0.2, 0.1)}
SEPARATIONS = {"weak": 0.45, "medium": 0.7, "strong": 1.0, "very strong": 1.4}
WITHIN_SD, ITEM_SD, ACQUIESCENCE_SD = 0.35, 0.6, 0.2


def planted_means(k: int, separation: float) -> np.ndarray:
    """Profile means on the 1-5 scale: the first k shapes, scaled by the separation."""
    shapes = np.array(list(SHAPES.values())[:k]) if k > 1 else np.zeros((1, 3))
    return 3.0 + separation * shapes


def min_distance(means: np.ndarray) -> float:
    """Smallest distance between two profile means, in within-profile SDs (inf for one profile)."""
    d = [np.linalg.norm(a - b) for i, a in enumerate(means) for b in means[i + 1:]]
    return float(min(d) / WITHIN_SD) if d else float("inf")


def simulate_scores(k: int, separation: float, n: int, n_items: int, seed: int,
                    correlation: float = 0.0) -> tuple[pd.DataFrame, np.ndarray]:
    """Construct scores of n participants and their planted profile (0..k-1).

    ``correlation``: of the three latent constructs within a profile (people with more tool
    skills tend to have more guts too, whatever their profile).
    """
    rng = np.random.default_rng(seed)
    shares = np.array(SHARES[k])
    profile = rng.choice(k, size=n, p=shares)
    cov = WITHIN_SD**2 * (np.full((3, 3), correlation) + (1 - correlation) * np.eye(3))
    latent = planted_means(k, separation)[profile] + rng.multivariate_normal(np.zeros(3), cov, n)
    agree = rng.normal(0, ACQUIESCENCE_SD, n)
    codes, items = {}, {}
    for j, construct in enumerate(CONSTRUCTS):
        names = [f"{construct}_{i}" for i in range(n_items)]
        items[construct] = names
        reverse = set(names[-(1 + (seed + j) % 2):])  # one or two reverse-keyed items
        for name in names:
            keyed = latent[:, j] + rng.normal(0, ITEM_SD, n)
            raw = np.clip(np.rint((6 - keyed if name in reverse else keyed) + agree), 1, 5)  # as answered
            codes[f"{name}_code"] = (6 - raw if name in reverse else raw).astype(int)  # keyed back
    data = pd.DataFrame(codes).assign(participant=[f"P{i:04d}" for i in range(n)])
    scores = construct_scores(data, items)[list(CONSTRUCTS)]
    return scores, profile


def plain_bic(x: np.ndarray, seed: int, k_max: int = 6) -> np.ndarray:
    """Hard labels of scikit-learn's GaussianMixture (defaults) with the lowest BIC over k = 1..k_max."""
    best, labels = np.inf, None
    with threadpool_limits(1):
        for k in range(1, k_max + 1):
            gm = GaussianMixture(n_components=k, random_state=seed).fit(x)
            bic = gm.bic(x)
            if bic < best:
                best, labels = bic, gm.predict(x)
    return labels


def _ari(truth, labels) -> float:
    if len(set(truth)) == 1 and len(set(labels)) == 1:
        return 1.0
    return float(adjusted_rand_score(truth, labels))


RULES = ("stable BIC", "stable ICL", "BIC", "sklearn")


def one_study(k: int, sep_name: str, n: int, r: float, seed: int, resamples: int, icl: bool = False) -> dict:
    n_items = 4 + seed % 3
    scores, truth = simulate_scores(k, SEPARATIONS.get(sep_name, 0.0), n, n_items, seed, r)
    out = {"k": k, "separation": sep_name, "n": n, "r": r, "seed": seed, "items": n_items}
    for criterion in ("bic", "icl") if icl else ("bic",):
        result = profiles.fit_profiles(scores, seed=seed, blrt_reps=0, resamples=resamples, criterion=criterion,
                                       progress=False)
        fit = result.fit
        x = result.scores.to_numpy()

        def labels_of(row) -> np.ndarray:
            return result.models[(row["model"], int(row["k"]))].predict(x)

        chosen = fit[fit["chosen"]].iloc[0]
        name = f"stable {criterion.upper()}"
        out[f"{name} k"] = int(chosen["k"])
        out[f"{name} ARI"] = _ari(truth, labels_of(chosen))
        out[f"{name} unstable"] = bool(chosen["jaccard_min"] < profiles.STABLE_JACCARD)
        out[f"{name} verdict"] = profiles.k_verdict(fit)
        if criterion == "bic":
            admissible = fit[fit["converged"] & ~fit["small_profile"]]
            top = admissible.loc[admissible["bic"].idxmin()]  # always judged first
            out["BIC k"], out["BIC ARI"] = int(top["k"]), _ari(truth, labels_of(top))
            out["BIC unstable"] = bool(top["jaccard_min"] < profiles.STABLE_JACCARD)
            at_k = admissible[admissible["k"] == k] if (admissible["k"] == k).any() else fit[fit["k"] == k]
            out["planted ARI"] = _ari(truth, labels_of(at_k.loc[at_k["bic"].idxmin()]))
    sk = plain_bic(scores.to_numpy(), seed)
    out["sklearn k"], out["sklearn ARI"] = int(len(set(sk))), _ari(truth, sk)
    return out


def _ks(values) -> str:
    return " ".join(f"{k}:{c}" for k, c in sorted(Counter(values).items()))


def table(rows: pd.DataFrame) -> pd.DataFrame:
    """One line per setting: planted k found / seeds and mean ARI at the chosen k per rule, and more."""
    out = []
    for (k, sep, n, r), g in rows.groupby(["k", "separation", "n", "r"], sort=False):
        line = {"k": k, "sep": sep, "dist": round(min_distance(planted_means(k, SEPARATIONS.get(sep, 0.0))), 1),
                "n": n, "r": r}
        for rule in [r for r in RULES if f"{r} k" in g]:
            line[f"{rule} found"] = f"{int((g[f'{rule} k'] == k).sum())}/{len(g)}"
            line[f"{rule} ARI"] = round(g[f"{rule} ARI"].mean(), 2)
        line["ARI planted k"] = round(g["planted ARI"].mean(), 2)
        line["stable BIC k"] = _ks(g["stable BIC k"])
        if "stable ICL k" in g:
            line["stable ICL k"] = _ks(g["stable ICL k"])
        line["BIC unstable"] = f"{g['BIC unstable'].mean():.0%}"
        line["verdict"] = _ks(g["stable BIC verdict"])
        out.append(line)
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4, help="studies per setting (default 4)")
    parser.add_argument("--quick", action="store_true", help="2 seeds per setting")
    parser.add_argument("--resamples", type=int, default=50, help="stability resamples per check (default 50)")
    parser.add_argument("--icl", action="store_true", help="also the rule ordered by ICL (doubles the time)")
    parser.add_argument("--csv", help="also write one row per study here")
    args = parser.parse_args()
    seeds = 2 if args.quick else args.seeds
    sizes = (120, 600)
    correlations = (0.0, 0.5)
    settings = [(1, "none", n, r) for r in correlations for n in sizes]
    settings += [(k, sep, n, r) for r in correlations for k in (2, 3, 4) for sep in SEPARATIONS for n in sizes]

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"{len(settings)} settings x {seeds} seeds; stability resamples {args.resamples}; "
          f"within-profile SD {WITHIN_SD}, item SD {ITEM_SD}, acquiescence SD {ACQUIESCENCE_SD}")
    start = time.perf_counter()
    rows = []
    for k, sep, n, r in settings:
        for seed in range(1, seeds + 1):
            offset = list(SEPARATIONS).index(sep) + 1 if sep in SEPARATIONS else 0
            rows.append(one_study(k, sep, n, r, 10000 * k + 1000 * offset + 10 * int(10 * r) + seed, args.resamples, args.icl))
    rows = pd.DataFrame(rows)
    elapsed = time.perf_counter() - start
    if args.csv:
        rows.to_csv(args.csv, index=False)
    with pd.option_context("display.width", 300, "display.max_columns", 40):
        print(table(rows).to_string(index=False))
    good = rows[rows["separation"].isin(["strong", "very strong"]) | (rows["k"] == 1)]
    medium = rows[rows["separation"] == "medium"]
    weak = rows[rows["separation"] == "weak"]
    for label, part in (("good separation (strong, very strong; and k = 1)", good), ("medium separation", medium),
                        ("weak separation", weak)):
        rules = [rule for rule in RULES if f"{rule} k" in part]
        found = ", ".join(f"{rule} {int((part[f'{rule} k'] == part['k']).sum())}/{len(part)}" for rule in rules)
        ari = ", ".join(f"{rule} {part[f'{rule} ARI'].mean():.2f}" for rule in rules)
        print(f"{label}: planted k found by {found}; mean ARI at the chosen k: {ari}")
        for rule in [r for r in ("stable BIC", "stable ICL") if f"{r} k" in part]:
            wrong = part[(part[f"{rule} k"] != part["k"]) & ~part[f"{rule} unstable"]]
            print(f"  {rule}: wrong k with every profile called stable {len(wrong)}/{len(part)} "
                  f"({int((wrong[f'{rule} k'] > wrong['k']).sum())} too many, {int((wrong[f'{rule} k'] < wrong['k']).sum())} too few)")
            said = wrong[f"{rule} verdict"].value_counts()
            print(f"    of those, the number called clear {said.get('clear', 0)}, not clear (profiles overlap) "
                  f"{said.get('unclear', 0)}, no distinct profiles found (k = 1) {said.get('none', 0)}; "
                  f"right k called clear {int(((part[f'{rule} k'] == part['k']) & (part[f'{rule} verdict'] == 'clear')).sum())}")
    print(f"time: {elapsed:.0f} s for {len(rows)} studies ({elapsed / len(rows):.1f} s per study)")


if __name__ == "__main__":
    main()
