"""Benchmark of the profiles stage: k = 1..6 and 200 stability resamples per check on 10,000 participants.

Run: ``.venv/bin/python bench/bench_profiles.py [--n 10000] [--resamples 200] [--blrt-reps 0]``

Scores are simulated with the sample study's generating model (three planted profiles,
five-point Likert items averaged per construct, see :mod:`analysis.simulate`). The figure
is printed with a ratio against a baseline measured in the same run: one plain
``GaussianMixture(n_components=3).fit`` on the same scores (scikit-learn defaults), so the
ratio says how many such fits the whole stage costs, on whatever machine runs it.
Not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd
from sklearn.mixture import GaussianMixture

from analysis import profiles
from analysis.scales import READINESS_CONSTRUCTS
from analysis.simulate import PROFILES, READINESS_ITEMS, Design


def simulated_scores(n: int, seed: int) -> pd.DataFrame:
    """Construct scores of n participants drawn like the sample study's pre-survey."""
    design = Design(n_participants=n)
    rng = np.random.default_rng(seed)
    shares = np.array([p.share for p in PROFILES])
    profile = rng.choice(len(PROFILES), size=n, p=shares / shares.sum())
    means = np.array([[p.means[c] for c in READINESS_CONSTRUCTS] for p in PROFILES])
    latent = means[profile] + rng.normal(0, design.within_sd, (n, len(READINESS_CONSTRUCTS)))
    scores = {}
    for j, construct in enumerate(READINESS_CONSTRUCTS):
        k = sum(1 for item in READINESS_ITEMS if item[1] == construct)
        codes = np.clip(np.rint(latent[:, [j]] + rng.normal(0, design.item_sd, (n, k))), 1, 5)
        scores[construct] = codes.mean(axis=1)
    return pd.DataFrame(scores, index=pd.Index([f"P{i:05d}" for i in range(n)], name="participant"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--resamples", type=int, default=200)
    parser.add_argument("--k-max", type=int, default=6)
    parser.add_argument("--blrt-reps", type=int, default=0)
    parser.add_argument("--seed", type=int, default=profiles.SEED)
    args = parser.parse_args()

    scores = simulated_scores(args.n, args.seed)
    x = scores.to_numpy()

    start = time.perf_counter()
    GaussianMixture(n_components=3, random_state=args.seed).fit(x)
    baseline = time.perf_counter() - start

    start = time.perf_counter()
    result = profiles.fit_profiles(scores, k_max=args.k_max, seed=args.seed, blrt_reps=args.blrt_reps,
                                   resamples=0)
    fitted = time.perf_counter() - start
    # What the stage runs: the choice judges the stability of candidates (and the runner-up) as it goes.
    result = profiles.fit_profiles(scores, k_max=args.k_max, seed=args.seed, blrt_reps=args.blrt_reps,
                                   resamples=args.resamples)
    stab = result.stability
    total = time.perf_counter() - start - fitted

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"data: {args.n} participants x {x.shape[1]} constructs; models: k = 1..{args.k_max} x "
          f"{len(profiles.COVARIANCE_TYPES)} covariance structures x 10 starts; BLRT reps {args.blrt_reps}; "
          f"stability resamples {args.resamples}")
    print(f"chosen: k = {result.k} ({result.covariance_type}), names {result.names}")
    print(f"stability: mean Jaccard {stab.mean_jaccard:.3f}, ARI {stab.ari_mean:.3f}")
    print(f"baseline (one GaussianMixture(3).fit): {baseline:.3f} s")
    print(f"stability checks in the choice: {len(result.checked)} solutions x {args.resamples} resamples")
    print(f"fit table alone: {fitted:.1f} s; fit table with the stability checks of the choice: {total:.1f} s "
          f"= {total / baseline:.0f} x baseline (target <= 30 s on the 2-core machine)")


if __name__ == "__main__":
    main()
