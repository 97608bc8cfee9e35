"""Profiles stage: latent readiness profiles, how many, how stable, named.

Participants are grouped by their pre-survey construct scores (tool skills,
focus, guts by default; see :func:`readiness_scores`) with a latent profile
analysis: Gaussian mixtures (:class:`sklearn.mixture.GaussianMixture`) for
k = 1..``k_max`` profiles and several covariance structures, each fitted from
``n_init`` starts with a fixed seed.

Choosing k (:data:`SELECTION_RULE`)
    A solution is *admissible* when EM converged and every profile holds at
    least 5% of the participants and at least 10 of them (hard assignment to
    the most likely profile); a solution with a smaller profile is flagged
    (``small_profile``) and never chosen. The admissible solutions are then
    walked from the lowest BIC up. A solution two of whose profiles overlap
    (Bhattacharyya distance between their normal densities below
    :data:`MIN_SEPARATION` = 0.7, see :func:`separation`) is rejected: such
    "profiles" are one group of people cut in two, as diagonal and spherical
    mixtures cut profiles whose constructs correlate, and the cut comes back
    in every resample. Each other solution is refitted on bootstrap
    resamples (:func:`stability`): the first whose every profile is stable
    (mean Jaccard >= 0.75) is chosen. A rejected solution (overlapping or with
    an unstable profile) takes with it every other solution with as many or
    more profiles (if k profiles are not told apart or do not hold together,
    more will not either), so k steps down; one profile is always stable.
    BIC and diagonal Gaussian mixtures keep adding profiles to bounded,
    discrete Likert means even when the profiles are well apart; the split
    profiles are often the ones that do not come back in resamples or that
    overlap. In the recovery benchmark (``bench/bench_profile_recovery.py
    --quick``, 104 studies) this rule found the planted k in 51 of 56
    well-separated studies (stability alone, the rule before: 48; lowest BIC
    alone 45; scikit-learn's full-covariance BIC 39), with mean ARI 0.96
    at the chosen k. Measured on the same fits, a minimum distance of 0.5
    found 50, 1.0 found 51 but fewer at medium separation (7 of 24 against
    8), a per-pair merge test (one full-covariance normal against the two)
    50, full covariances only 40, no spherical ones 47; ordering by ICL
    found 46 and never the planted k at weak separation. Where
    the rule still misses, it takes too few profiles (4 planted, the smallest
    holding 10%). At weak separation the profiles cannot be told apart (ARI
    0.2-0.7 even at the planted k) and the rule takes fewer, stable ones:
    the benchmark counts these as wrong k with every profile called stable.
    The *runner-up* is the best-BIC admissible solution with another number
    of profiles; a BIC difference below 2 (Raftery 1995: "not worth more than a
    bare mention") is a close call. A researcher may fix ``k``: the best-BIC
    admissible solution with k profiles is then used, and the fit table still
    marks what the rule would have chosen (``rule_choice``). With
    ``resamples=0`` the rule is plain lowest BIC among admissible solutions;
    ``criterion="icl"`` orders the solutions by ICL instead of BIC.
    The fit table also reports AIC, sample-size adjusted BIC, ICL, entropy and
    a parametric bootstrap likelihood-ratio test (BLRT) of k against k - 1
    profiles, to read next to BIC.

Fit indices (n participants, p free parameters, LL the log-likelihood,
tau the posterior probabilities)
    ``aic = -2 LL + 2 p``; ``bic = -2 LL + p ln n``;
    ``sabic = -2 LL + p ln((n + 2) / 24)`` (Sclove 1987);
    ``icl = bic + 2 EN`` with ``EN = -sum(tau ln tau)`` (the entropy form of
    Biernacki, Celeux & Govaert 2000); ``entropy = 1 - EN / (n ln k)``
    (normalised relative entropy, 1 = perfectly separated; NaN for k = 1).
    BLRT (McLachlan 1987; Nylund, Asparouhov & Muthen 2007): ``blrt_reps``
    samples of n drawn from the fitted (k - 1)-profile model, both models
    refitted on each, p = (1 + #{LR* >= LR}) / (1 + blrt_reps).

Stability (:func:`stability`)
    The chosen model is refitted on bootstrap resamples of the participants
    (clusterboot, Hennig 2007): each profile's Jaccard similarity with the
    most similar profile of the resample's solution, computed on the
    participants drawn; its mean over resamples >= 0.75 counts as stable,
    below 0.5 as dissolved. Also the adjusted Rand index (ARI) between the
    resample model's assignment of *all* participants and the full-data one.

Names (:func:`profile_names`)
    Each profile's centroid is described relative to the grand mean of every
    construct in standard deviations (z). Readiness patterns get the phrases
    trainers use (:data:`NAMED_PATTERNS`): "new to the tools" (tool skills
    low, focus and guts below the mean), "focused but tool-shy" (focus high,
    tool skills below the mean), "confident explorers" (tool skills and guts
    high); "high" is z >= 0.5, "low" z <= -0.5. Any other centroid is named
    by its marked constructs, largest first ("high focus, low guts"), or
    "around average". Profiles are ordered by their mean z (least ready
    first), so the labels the mixture happens to use (label switching) never
    change a name or the order; duplicate names get a qualifier.

Each participant keeps posterior probabilities:
:attr:`ProfileResult.posterior` is indexed by ``participant``, has one column
per profile name and rows summing to 1; :attr:`ProfileResult.label` is the
most likely profile.

Examples
--------
>>> from analysis.simulate import PROFILES
>>> rng = np.random.default_rng(0)
>>> means = np.array([[p.means[c] for c in READINESS_CONSTRUCTS] for p in PROFILES])
>>> x = np.repeat(means, 40, axis=0) + rng.normal(0, 0.35, (120, 3))
>>> scores = pd.DataFrame(x, columns=list(READINESS_CONSTRUCTS),
...                       index=pd.Index([f"p{i}" for i in range(120)], name="participant"))
>>> result = fit_profiles(scores, k_max=4, n_init=2, blrt_reps=0, covariance_types=("diag",))
>>> result.k, result.names
(3, ['new to the tools', 'focused but tool-shy', 'confident explorers'])
>>> bool(np.allclose(result.posterior.sum(axis=1), 1))
True
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from tqdm import tqdm

# One BLAS/OpenMP thread is much faster for these small fits than a pool fighting over 2 cores.
from threadpoolctl import ThreadpoolController

from analysis.errors import refuse_in_reports
from analysis.progress import show_progress
from analysis.scales import READINESS_CONSTRUCTS, check_choice, construct_items, construct_scores

SEED = 20260301
#: Above this many participants each resample (stability, BLRT) draws this many people, and EM
#: starts are tried on a subsample this size before one EM run on everyone (fits stay on all).
RESAMPLE_N = 5000
#: Above this many participants the refits of the BLRT and of the stability check are spread over
#: every core (joblib processes). The draws and seeds are made in the same order either way, so
#: the results are the same; below it the workers would cost more to start than they save.
PARALLEL_N = RESAMPLE_N
COVARIANCE_TYPES = ("spherical", "diag", "full")
#: A profile below either bound is flagged and its solution cannot be chosen.
MIN_SHARE = 0.05
MIN_N = 10
#: Mean bootstrap Jaccard at or above this counts as stable (Hennig 2007).
STABLE_JACCARD = 0.75
DISSOLVED_JACCARD = 0.5
#: Two profiles closer than this Bhattacharyya distance are not told apart (the stability rule
#: rejects their solution); chosen by ``bench/bench_profile_recovery.py`` (0.5 and 1.0 did worse).
MIN_SEPARATION = 0.7
#: Below these, :func:`cautions` warns that assignment to profiles is uncertain; below this
#: entropy the number of profiles is not clear either (:func:`k_verdict`).
ENTROPY_CAUTION = 0.8
SURE_POSTERIOR = 0.8
SURE_SHARE_CAUTION = 0.8
#: A centroid this many SDs from the grand mean is "high" / "low".
MARKED_Z = 0.5
SELECTION_RULE = ("lowest {crit} among converged solutions whose smallest profile holds >= {share:.0%} "
                  "and >= {n} participants")
STABLE_RULE = (SELECTION_RULE + " and whose every profile is stable (bootstrap Jaccard >= {jaccard}) and apart "
               "from every other (Bhattacharyya distance >= {separation})")
#: A BIC (or ICL) difference below this is a close call (Raftery 1995: "weak" evidence).
CLOSE_CALL = 2.0
CRITERIA = ("bic", "icl")
PROFILE_MISSING = ("drop", "raise")
#: Plain names for readiness patterns: name -> {construct: condition}; conditions
#: "high" (z >= MARKED_Z), "low" (z <= -MARKED_Z), "above" (z > 0), "below" (z < 0).
NAMED_PATTERNS = {
    "new to the tools": {"tool_skills": "low", "focus": "below", "guts": "below"},
    "focused but tool-shy": {"focus": "high", "tool_skills": "below"},
    "confident explorers": {"tool_skills": "high", "guts": "high"},
}
#: How a construct is written in names and reports.
CONSTRUCT_LABELS = {"tool_skills": "tool skills", "focus": "focus", "guts": "guts"}
POSTERIOR_PREFIX = "posterior: "
FIT_COLUMNS = ["model", "k", "n", "log_likelihood", "n_parameters", "aic", "bic", "sabic", "icl", "entropy",
               "smallest_n", "smallest_share", "small_profile", "blrt_p", "blrt_reps", "converged",
               "jaccard_min", "least_stable", "separation_min", "closest", "rule_choice", "runner_up", "chosen", "decision"]


def construct_label(construct: str) -> str:
    """How a construct is written for people.

    Examples
    --------
    >>> construct_label("tool_skills"), construct_label("prior_use")
    ('tool skills', 'prior use')
    """
    return CONSTRUCT_LABELS.get(construct, construct.replace("_", " "))


# --- input -----------------------------------------------------------------------

def readiness_scores(processed, *, constructs: Sequence[str] = READINESS_CONSTRUCTS, wave: str = "pre",
                     min_items: int | None = None, missing: str = "available") -> pd.DataFrame:
    """Construct scores of every participant in one wave of a processed study.

    Parameters
    ----------
    processed : analysis.protect.ProcessedStudy
    constructs : sequence of str
        Constructs to score (their items come from the codebook).
    wave : str
        The wave that measures readiness.
    min_items, missing
        Passed to :func:`analysis.scales.construct_scores`.

    Returns
    -------
    pandas.DataFrame
        See :func:`analysis.scales.construct_scores`.

    Examples
    --------
    >>> from analysis.protect import process_study
    >>> from analysis.paths import SAMPLE_STUDY
    >>> s = readiness_scores(process_study(SAMPLE_STUDY))
    >>> s.shape, list(s.columns[:2])
    ((240, 6), ['tool_skills', 'tool_skills_items'])
    """
    data = processed.data
    items = construct_items(processed.study.codebook, constructs, wave=wave)
    return construct_scores(data[data["wave"] == wave], items, min_items=min_items, missing=missing)


def _indicator_matrix(scores: pd.DataFrame, constructs, missing: str) -> tuple[pd.DataFrame, int]:
    check_choice("missing", missing, PROFILE_MISSING)
    absent = [c for c in constructs if c not in scores.columns]
    if absent:
        raise KeyError(f"construct column(s) not in scores: {', '.join(absent)}")
    x = scores[list(constructs)].astype("Float64").astype(float)
    incomplete = x.isna().any(axis=1)
    if incomplete.any() and missing == "raise":
        raise ValueError(f"{int(incomplete.sum())} participant(s) lack a score on some construct; "
                         "pass missing='drop' to leave them out")
    return x[~incomplete], int(incomplete.sum())


# --- mixture fitting -------------------------------------------------------------

def n_parameters(k: int, d: int, covariance_type: str) -> int:
    """Free parameters of a k-component Gaussian mixture in d dimensions.

    Examples
    --------
    >>> [n_parameters(3, 3, t) for t in ("spherical", "diag", "full", "tied")]
    [14, 20, 29, 17]
    """
    cov = {"spherical": k, "diag": k * d, "full": k * d * (d + 1) // 2, "tied": d * (d + 1) // 2}
    if covariance_type not in cov:
        raise ValueError(f"covariance_type must be one of {', '.join(cov)}; got {covariance_type!r}")
    return k * d + (k - 1) + cov[covariance_type]


def _fit_gmm(x: np.ndarray, k: int, covariance_type: str, n_init: int, seed,
             reg_covar: float = 0.01) -> GaussianMixture:
    """The best of ``n_init`` EM runs; above :data:`RESAMPLE_N` people the starts are tried on a seeded
    subsample of that size and the best one is run to convergence on everyone (one EM on all)."""
    if len(x) > RESAMPLE_N and n_init > 1:
        sub = x[np.random.default_rng(seed).choice(len(x), RESAMPLE_N, replace=False)]
        best = _fit_gmm(sub, k, covariance_type, n_init, seed, reg_covar)
        # every parameter is given: the initial responsibilities are unused (random_from_data spares a k-means)
        gm = GaussianMixture(n_components=k, covariance_type=covariance_type, random_state=seed, max_iter=500,
                             reg_covar=reg_covar, weights_init=best.weights_, means_init=best.means_,
                             precisions_init=best.precisions_, init_params="random_from_data")
    else:
        gm = GaussianMixture(n_components=k, covariance_type=covariance_type, n_init=n_init, random_state=seed,
                             max_iter=500, reg_covar=reg_covar)
    with warnings.catch_warnings(), _one_thread():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(x)
    return gm


@lru_cache(maxsize=1)
def _threadpools() -> ThreadpoolController:
    return ThreadpoolController()


def _one_thread():
    """One BLAS/OpenMP thread (as ``threadpool_limits(1)``), without scanning the loaded libraries on
    every fit: that scan cost more than the EM itself on small studies (2 s per sample report)."""
    return _threadpools().limit(limits=1)


def _full_covariances(gm: GaussianMixture) -> np.ndarray:
    k, d = gm.means_.shape
    c = gm.covariances_
    if gm.covariance_type == "full":
        return c
    if gm.covariance_type == "diag":
        return np.stack([np.diag(v) for v in c])
    if gm.covariance_type == "spherical":
        return np.stack([np.eye(d) * v for v in c])
    return np.repeat(c[None], k, axis=0)  # tied


def separation(gm: GaussianMixture) -> tuple[float, tuple[int, int] | None]:
    """Smallest Bhattacharyya distance between two components of a mixture, and which two.

    For normal densities with means m1, m2 and covariances S1, S2, S = (S1 + S2) / 2:
    ``D = (m1 - m2)' S^-1 (m1 - m2) / 8 + ln(det S / sqrt(det S1 det S2)) / 2`` (Fukunaga 1990);
    it bounds the error of telling the two apart (Bayes error <= sqrt(p1 p2) exp(-D)).

    Examples
    --------
    >>> gm = GaussianMixture(2, covariance_type="spherical")
    >>> gm.means_, gm.covariances_ = np.array([[0.0, 0.0], [2.0, 0.0]]), np.array([1.0, 1.0])
    >>> separation(gm)
    (0.5, (0, 1))
    >>> separation(GaussianMixture(1).fit(np.eye(3)))
    (inf, None)
    """
    covs = _full_covariances(gm)
    best, pair = math.inf, None
    for a in range(gm.n_components):
        for b in range(a + 1, gm.n_components):
            s = (covs[a] + covs[b]) / 2
            dm = gm.means_[a] - gm.means_[b]
            logdet = np.linalg.slogdet(s)[1] - (np.linalg.slogdet(covs[a])[1] + np.linalg.slogdet(covs[b])[1]) / 2
            d = float(dm @ np.linalg.solve(s, dm) / 8 + logdet / 2)
            if d < best:
                best, pair = d, (a, b)
    return best, pair


def _sample(gm: GaussianMixture, n: int, rng: np.random.Generator) -> np.ndarray:
    """n draws from a fitted mixture with our own generator (sklearn's reuses its seed)."""
    comp = rng.choice(len(gm.weights_), size=n, p=gm.weights_ / gm.weights_.sum())
    covs = _full_covariances(gm)
    out = np.empty((n, gm.means_.shape[1]))
    for j in range(len(gm.weights_)):
        idx = np.flatnonzero(comp == j)
        if len(idx):
            out[idx] = rng.multivariate_normal(gm.means_[j], covs[j], size=len(idx), method="cholesky")
    return out


def _loglik(gm: GaussianMixture, x: np.ndarray) -> float:
    return float(gm.score(x) * len(x))


def _indices(gm: GaussianMixture, x: np.ndarray) -> dict:
    n, d = x.shape
    k = gm.n_components
    ll = _loglik(gm, x)
    p = n_parameters(k, d, gm.covariance_type)
    tau = gm.predict_proba(x)
    en = float(-np.sum(tau * np.log(np.clip(tau, 1e-300, None))))
    counts = np.bincount(tau.argmax(axis=1), minlength=k)
    return {"n": n, "log_likelihood": ll, "n_parameters": p, "aic": -2 * ll + 2 * p,
            "bic": -2 * ll + p * math.log(n), "sabic": -2 * ll + p * math.log((n + 2) / 24),
            "icl": -2 * ll + p * math.log(n) + 2 * en,
            "entropy": 1 - en / (n * math.log(k)) if k > 1 else float("nan"),
            "smallest_n": int(counts.min()), "smallest_share": float(counts.min() / n),
            "converged": bool(gm.converged_)}


def _blrt_p(xa: np.ndarray, h1: GaussianMixture, h0: GaussianMixture | None, reps: int, n_init: int,
            fit_n_init: int, seed: int, rng: np.random.Generator, reg_covar: float) -> float:
    """BLRT p of k (``h1``) against k - 1 profiles (``h0``, fitted when None). Above :data:`RESAMPLE_N`
    people the whole test runs on a seeded subsample of that size (both fits, the observed ratio and
    the bootstrap samples): the likelihood ratio grows with n, so all its parts must share one n."""
    k, ct = h1.n_components, h1.covariance_type
    workers = _workers(len(xa))
    if len(xa) > RESAMPLE_N:
        xa = xa[rng.choice(len(xa), RESAMPLE_N, replace=False)]
        h1, h0 = _fit_gmm(xa, k, ct, fit_n_init, seed, reg_covar), None
    h0 = h0 or _fit_gmm(xa, k - 1, ct, fit_n_init, seed, reg_covar)
    lr = 2 * (_loglik(h1, xa) - _loglik(h0, xa))
    return _blrt(h0, lr, len(xa), reps, n_init, rng, reg_covar, workers=workers)


def _blrt(h0: GaussianMixture, lr_observed: float, n: int, reps: int, n_init: int,
          rng: np.random.Generator, reg_covar: float, *, workers: int = 1) -> float:
    k0, ct = h0.n_components, h0.covariance_type
    draws = []
    for _ in range(reps):  # every sample and seed drawn first, in order: the same stream however many workers
        xb = _sample(h0, n, rng)
        draws.append((xb, int(rng.integers(2**31 - 1))))
    lrs = _spread(workers, _bootstrap_lr, [(xb, k0, ct, n_init, seed, reg_covar) for xb, seed in draws])
    exceed = sum(lr >= lr_observed for lr in lrs)
    return (1 + exceed) / (1 + reps)


def _bootstrap_lr(xb: np.ndarray, k0: int, ct: str, n_init: int, seed: int, reg_covar: float) -> float:
    """The likelihood ratio of k0 + 1 against k0 profiles on one bootstrap sample."""
    ll0 = _loglik(_fit_gmm(xb, k0, ct, n_init, seed, reg_covar), xb)
    ll1 = _loglik(_fit_gmm(xb, k0 + 1, ct, n_init, seed, reg_covar), xb)
    return 2 * (ll1 - ll0)


def _workers(n: int) -> int:
    """Processes for the refits of a study of n participants: every core above :data:`PARALLEL_N`."""
    return max(1, os.cpu_count() or 1) if n > PARALLEL_N else 1


def _spread(workers: int, func, args: list, *, progress=None) -> list:
    """``[func(*a) for a in args]``, in order; over ``workers`` processes when more than one.
    ``progress`` (a tqdm bar) is advanced as results come in."""
    if workers <= 1 or len(args) <= 1:
        out = []
        for a in args:
            out.append(func(*a))
            if progress is not None:
                progress.update()
        return out
    from joblib import Parallel, delayed

    out = []
    for result in Parallel(n_jobs=min(workers, len(args)), return_as="generator")(delayed(func)(*a) for a in args):
        out.append(result)
        if progress is not None:
            progress.update()
    return out


# --- names -----------------------------------------------------------------------

def _condition_margin(z: float, condition: str) -> float:
    """How far z is inside a condition (negative: not met)."""
    return {"high": z - MARKED_Z, "low": -z - MARKED_Z, "above": z, "below": -z}[condition]


def _generic_name(z: pd.Series, labels: dict) -> str:
    marked = [(abs(v), i, c) for i, (c, v) in enumerate(z.items()) if abs(v) >= MARKED_Z]
    if not marked:
        return "around average"
    marked.sort(key=lambda t: (-t[0], t[1]))  # largest first; ties in construct order
    return ", ".join(f"{'high' if z[c] > 0 else 'low'} {labels.get(c) or construct_label(c)}" for _, _, c in marked)


def profile_names(z: pd.DataFrame, *, aspects: dict | None = None, labels: dict | None = None) -> list[str]:
    """Plain, unique names for profiles from their standardised centroids.

    Parameters
    ----------
    z : pandas.DataFrame
        One row per profile (in the order names are wanted), one column per
        construct: the centroid minus the grand mean, in standard deviations.
    aspects : dict, optional
        Construct -> the readiness aspect it measures (``tool_skills``,
        ``focus``, ``guts``), for constructs named otherwise; the patterns of
        :data:`NAMED_PATTERNS` are stated in aspects. Constructs named like an
        aspect measure it.
    labels : dict, optional
        Construct -> how names write it (default: :func:`construct_label`).

    Returns
    -------
    list of str
        See the module docstring for the rule. A phrase of
        :data:`NAMED_PATTERNS` goes to the profile that meets its conditions
        by the widest margin; duplicate names get a qualifier naming the
        construct on which they differ most.

    Examples
    --------
    >>> z = pd.DataFrame({"tool_skills": [-0.9, -0.4, 1.3], "focus": [-1.0, 1.1, 0.1],
    ...                   "guts": [-1.0, -0.2, 1.2]})
    >>> profile_names(z)
    ['new to the tools', 'focused but tool-shy', 'confident explorers']
    >>> profile_names(pd.DataFrame({"focus": [-1.0, 0.1, 0.9], "guts": [0.6, 0.0, 0.7]}))
    ['low focus, high guts', 'around average', 'high focus, high guts']
    >>> profile_names(pd.DataFrame({"focus": [1.0, 1.4], "guts": [0.0, 0.2]}))
    ['high focus (lower)', 'high focus (higher)']
    >>> profile_names(pd.DataFrame({"focus": [1.0, 1.4], "guts": [0.0, 0.7]}))
    ['high focus', 'high focus, high guts']
    """
    labels = labels or {}
    aspects = {c: a for c, a in (aspects or {}).items() if a} | {c: c for c in z.columns if c in CONSTRUCT_LABELS}
    by_aspect = z.rename(columns={c: aspects[c] for c in z.columns if c in aspects})
    names: list[str | None] = [None] * len(z)
    for phrase, conditions in NAMED_PATTERNS.items():
        if not set(conditions) <= set(by_aspect.columns):
            continue
        margins = [min(_condition_margin(float(row[c]), cond) for c, cond in conditions.items())
                   for _, row in by_aspect.iterrows()]
        candidates = [i for i, m in enumerate(margins) if m >= 0 and names[i] is None]
        if candidates:
            best = max(candidates, key=lambda i: (margins[i], -i))
            names[best] = phrase
    names = [n if n is not None else _generic_name(z.iloc[i], labels) for i, n in enumerate(names)]
    for name in dict.fromkeys(names):
        group = [i for i, n in enumerate(names) if n == name]
        if len(group) < 2:
            continue
        sub = z.iloc[group]
        construct = (sub.max() - sub.min()).idxmax()
        ranks = sub[construct].rank(method="first").astype(int).tolist()
        label = labels.get(construct) or construct_label(construct)
        for i, r in zip(group, ranks):
            word = "" if label in name else f" {label}"
            if len(group) == 2:
                names[i] = f"{name} ({'lower' if r == 1 else 'higher'}{word})"
            else:
                names[i] = f"{name} ({label}: {r} of {len(group)})"
    seen: dict[str, int] = {}
    for i, n in enumerate(names):  # identical centroids: number them
        seen[n] = seen.get(n, 0) + 1
        if seen[n] > 1:
            names[i] = f"{n} #{seen[n]}"
    return names


# --- the result ------------------------------------------------------------------

@dataclass
class ProfileResult:
    """A fitted latent profile analysis (see the module docstring).

    Attributes
    ----------
    fit : pandas.DataFrame
        One row per covariance structure (``model``) and k; columns
        :data:`FIT_COLUMNS`. ``chosen`` marks the chosen row, ``decision``
        says why each row was or was not chosen.
    scores : pandas.DataFrame
        The construct scores used (participants with every score).
    constructs : list of str
    k, covariance_type :
        The chosen solution.
    model : sklearn.mixture.GaussianMixture
        The chosen fitted mixture (components in its own order; see ``order``).
    order : list of int
        Mixture component of each named profile, in profile order.
    names : list of str
        Profile names, in profile order.
    centroids : pandas.DataFrame
        Profile (index) x construct mixture means on the score scale.
    posterior : pandas.DataFrame
        Indexed by ``participant``, one column per profile name, rows sum to 1.
    label : pandas.Series
        Most likely profile per participant (ordered categorical of names).
    excluded : int
        Participants left out for lack of a score.
    comparison : pandas.DataFrame
        ``method`` (k-means, Ward), ``k``, ``n``, ``ari_vs_mixture``.
    models : dict
        Every fitted mixture, keyed by ``(model, k)``.
    """

    fit: pd.DataFrame
    scores: pd.DataFrame
    constructs: list
    k: int
    covariance_type: str
    model: GaussianMixture
    order: list
    names: list
    centroids: pd.DataFrame
    posterior: pd.DataFrame
    label: pd.Series
    excluded: int
    comparison: pd.DataFrame
    models: dict = field(repr=False)
    seed: int = SEED
    n_init: int = 10
    reg_covar: float = 0.01
    #: How profiles are named: :func:`profile_names`' ``aspects`` and ``labels``.
    naming: dict = field(default_factory=dict)
    #: Stability of the chosen solution as judged in the choice (None: not judged).
    stability: Stability | None = field(default=None, repr=False)
    #: Every solution judged in the choice: ``(model, k)`` -> :class:`Stability`.
    checked: dict = field(default_factory=dict, repr=False)
    #: The fit measure that ordered the solutions.
    criterion: str = "bic"

    def profiles_table(self) -> pd.DataFrame:
        """What ``profiles.csv`` holds: ``participant``, ``profile``, ``posterior: <name>`` per profile."""
        out = self.posterior.rename(columns=lambda c: POSTERIOR_PREFIX + c)
        out.insert(0, "profile", self.label.astype(str))
        return out.reset_index()


def _named_solution(gm: GaussianMixture, x: pd.DataFrame, naming: dict | None = None) -> tuple[list, list, pd.DataFrame]:
    """Order the components by mean z and name them (``naming``: :func:`profile_names`' keywords)."""
    grand, sd = x.mean(), x.std(ddof=1).replace(0, 1.0)
    z = (pd.DataFrame(gm.means_, columns=x.columns) - grand) / sd
    order = sorted(range(gm.n_components), key=lambda j: (float(z.iloc[j].mean()), tuple(z.iloc[j])))
    if gm.n_components == 1:
        names = ["all participants"]
    else:
        names = profile_names(z.iloc[order].reset_index(drop=True), **(naming or {}))
    centroids = pd.DataFrame(gm.means_[order], index=pd.Index(names, name="profile"), columns=x.columns)
    return order, names, centroids


def _closest(gm: GaussianMixture, x: pd.DataFrame, naming: dict) -> dict:
    """The fit table's ``separation_min`` and ``closest`` (the two profiles' names) of one solution."""
    d, pair = separation(gm)
    if pair is None:
        return {"separation_min": float("nan"), "closest": ""}
    order, names, _ = _named_solution(gm, x, naming)
    a, b = sorted(order.index(j) for j in pair)
    return {"separation_min": d, "closest": f"{names[a]!r} and {names[b]!r}"}


class NoAdmissibleSolution(ValueError):
    """Every solution from ``k_min`` to ``k_max`` has a too small profile or did not converge.

    Examples
    --------
    >>> print(NoAdmissibleSolution(4, 5, 0.05, 10))
    no solution with 4 to 5 profiles converged with every profile holding >= 5% and >= 10 participants; \
try fewer profiles (k_min = 1 always has one)
    """

    def __init__(self, k_min: int, k_max: int, min_share: float, min_n: int):
        self.k_min, self.k_max, self.min_share, self.min_n = k_min, k_max, min_share, min_n
        super().__init__(f"no solution with {k_min} to {k_max} profiles converged with every profile holding "
                         f">= {min_share:.0%} and >= {min_n} participants; try fewer profiles (k_min = 1 always "
                         "has one)")


def _admissible(fit: pd.DataFrame, min_share: float, min_n: int) -> pd.Series:
    fit["small_profile"] = (fit["smallest_share"] < min_share) | (fit["smallest_n"] < min_n)
    fit.loc[fit["k"] == 1, "small_profile"] = False
    return fit["converged"] & ~fit["small_profile"]


def _decide(fit: pd.DataFrame, min_share: float, min_n: int, *, check=None, k: int | None = None,
            criterion: str = "bic") -> pd.DataFrame:
    """Mark the chosen solution, the rule's choice and the runner-up; say why for every row.

    ``check(row) -> Stability`` judges a solution's stability; ``None``: the
    rule is the lowest ``criterion`` alone. ``k``: the number of profiles the researcher fixed.
    """
    fit = fit.copy()
    admissible = _admissible(fit, min_share, min_n)
    fit["jaccard_min"] = np.nan
    fit["least_stable"] = ""
    if "separation_min" not in fit:
        fit["separation_min"], fit["closest"] = np.nan, ""
    checked: dict = {}

    def judge(i) -> bool:
        if i not in checked:
            per = check(fit.loc[i]).per_profile
            checked[i] = per
            worst = per["jaccard"].idxmin()
            fit.at[i, "jaccard_min"] = float(per.at[worst, "jaccard"])
            fit.at[i, "least_stable"] = str(per.at[worst, "profile"])
        return bool(checked[i]["stable"].all())

    ranked = fit.loc[admissible].sort_values([criterion, "k"]).index
    if ranked.empty:  # only with k_min > 1: every solution tried has a too small profile or did not converge
        raise NoAdmissibleSolution(int(fit["k"].min()), int(fit["k"].max()), min_share, min_n)
    rejected_above: int | None = None  # an unstable solution had this many profiles
    unstable, above, close = set(), set(), set()
    rule = ranked[0]
    if check is not None:
        rule = None
        for i in ranked:
            if rejected_above is not None and fit.at[i, "k"] > rejected_above:
                above.add(i)
                continue
            if fit.at[i, "separation_min"] < MIN_SEPARATION:  # two profiles overlap: a split, not two profiles
                close.add(i)
            elif judge(i):
                rule = i
                break
            else:
                unstable.add(i)
            rejected_above = int(fit.at[i, "k"]) - 1 if rejected_above is None else min(rejected_above,
                                                                                      int(fit.at[i, "k"]) - 1)
        if rule is None:  # k_min > 1 and nothing held together: fall back to the lowest criterion
            rule = ranked[0]
    chosen = rule
    if k is not None:
        at_k = fit[fit["k"] == k]
        pool = at_k[admissible[at_k.index]] if admissible[at_k.index].any() else at_k
        chosen = pool.sort_values(criterion).index[0]
    others = [i for i in ranked if fit.at[i, "k"] != fit.at[chosen, "k"]]
    runner = others[0] if others else None
    if check is not None:
        for i in (chosen, runner):
            if i is not None:
                judge(i)
    fit["rule_choice"] = fit.index == rule
    fit["runner_up"] = fit.index == runner
    fit["chosen"] = fit.index == chosen
    crit = criterion.upper()
    text = (STABLE_RULE if check is not None else SELECTION_RULE).format(share=min_share, n=min_n,
                                                                        jaccard=STABLE_JACCARD, crit=crit,
                                                                        separation=MIN_SEPARATION)
    rule_row = fit.loc[rule]

    def jac(i) -> str:
        return f"profile {fit.at[i, 'least_stable']!r} Jaccard {fit.at[i, 'jaccard_min']:.2f}"

    decisions = []
    for i, row in fit.iterrows():
        if i == chosen and k is not None:
            same = "the same solution" if i == rule else f"{int(rule_row['k'])} ({rule_row['model']})"
            decisions.append(f"chosen: k = {k} fixed by the researcher; the rule would choose {same}")
        elif i == chosen:
            note = f"; least stable {jac(i)}" if check is not None else ""
            if check is not None and not checked[i]["stable"].all():
                note = f"; no admissible solution had every profile stable, so lowest {crit} ({jac(i)})"
            decisions.append(f"chosen: {text} ({int(admissible.sum())} admissible{note})")
        elif i == rule:
            decisions.append(f"rule's choice, not used: k = {k} was fixed")
        elif row["small_profile"]:
            decisions.append(f"not admissible: smallest profile {row['smallest_n']} participants "
                             f"({row['smallest_share']:.0%})")
        elif not row["converged"]:
            decisions.append("not admissible: did not converge")
        elif i in unstable:
            decisions.append(f"not stable: {jac(i)} (< {STABLE_JACCARD}), {crit} "
                             f"{row[criterion] - rule_row[criterion]:+.1f} "
                             "against the rule's choice")
        elif i in close:
            decisions.append(f"not distinct: profiles {row['closest']} overlap (Bhattacharyya distance "
                             f"{row['separation_min']:.2f} < {MIN_SEPARATION}), {crit} "
                             f"{row[criterion] - rule_row[criterion]:+.1f} against the rule's choice")
        elif i in above:
            decisions.append(f"not stable: as many or more profiles than a rejected solution, {crit} "
                             f"{row[criterion] - rule_row[criterion]:+.1f} against the rule's choice")
        else:
            stable = f"; every profile stable ({jac(i)})" if i in checked and checked[i]["stable"].all() else ""
            if i in checked and not checked[i]["stable"].all():
                stable = f"; not stable ({jac(i)})"
            decisions.append(f"{crit} {row[criterion] - rule_row[criterion]:.1f} higher than the rule's choice{stable}")
        if i == runner:
            decisions[-1] = "runner-up: " + decisions[-1]
    fit["decision"] = decisions
    return fit


#: What :func:`k_verdict` can say of the number of profiles.
K_VERDICTS = ("clear", "unclear", "none")


def k_verdict(fit: pd.DataFrame) -> str:
    """How sure the number of profiles is, from the fit table's chosen solution.

    ``"none"``: one profile was chosen, so no distinct profiles were found
    (the participants may form one group, or their profiles are too close to
    tell apart at this sample size: the data cannot say which).
    ``"unclear"``: the profiles overlap (entropy below :data:`ENTROPY_CAUTION`)
    or one of them is not stable (bootstrap Jaccard below
    :data:`STABLE_JACCARD`): neither who belongs where nor how many profiles
    there are is clear. ``"clear"`` otherwise.

    Why entropy: in ``bench/bench_profile_recovery.py`` every chosen solution
    at weak separation had entropy below 0.8 (a wrong number of profiles or
    not) and none where separation is good, so a low entropy tells a weak
    structure apart from a clear one; ICL's penalty rests on the same
    quantity (Biernacki, Celeux & Govaert 2000).

    Examples
    --------
    >>> fit = pd.DataFrame({"k": [1, 2, 3], "entropy": [1.0, 0.93, 0.66], "jaccard_min": [1.0, 0.97, 0.81],
    ...                     "chosen": [False, True, False]})
    >>> k_verdict(fit)
    'clear'
    >>> k_verdict(fit.assign(chosen=[False, False, True]))
    'unclear'
    >>> k_verdict(fit.assign(chosen=[True, False, False]))
    'none'
    """
    chosen = fit[fit["chosen"]].iloc[0]
    if int(chosen["k"]) == 1:
        return "none"
    if chosen.get("entropy", np.nan) < ENTROPY_CAUTION or chosen.get("jaccard_min", np.nan) < STABLE_JACCARD:
        return "unclear"
    return "clear"


def _compare(x: np.ndarray, labels: np.ndarray, k: int, seed: int, ward_max_n: int) -> pd.DataFrame:
    rows = []
    if k < 2:
        return pd.DataFrame({"method": ["k-means", "Ward"], "k": k, "n": len(x), "ari_vs_mixture": np.nan})
    km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(x)
    rows.append({"method": "k-means", "k": k, "n": len(x), "ari_vs_mixture": adjusted_rand_score(labels, km)})
    idx = np.arange(len(x))
    if len(x) > ward_max_n:  # Ward needs O(n^2) memory: use a seeded subsample
        idx = np.sort(np.random.default_rng(seed).choice(len(x), ward_max_n, replace=False))
    ward = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(x[idx])
    rows.append({"method": "Ward", "k": k, "n": len(idx), "ari_vs_mixture": adjusted_rand_score(labels[idx], ward)})
    return pd.DataFrame(rows)


def fit_profiles(scores: pd.DataFrame, *, constructs: Sequence[str] | None = None, k_max: int = 6,
                 k_min: int = 1, k: int | None = None, covariance_types: Iterable[str] = COVARIANCE_TYPES,
                 n_init: int = 10, seed: int = SEED, criterion: str = "bic", resamples: int = 50,
                 stability_n_init: int = 3,
                 confidence: float = 0.95, blrt_reps: int = 19, blrt_n_init: int = 2,
                 min_share: float = MIN_SHARE, min_n: int = MIN_N, missing: str = "drop", reg_covar: float = 0.01,
                 ward_max_n: int = 5000, aspects: dict | None = None, labels: dict | None = None,
                 progress: bool | None = None) -> ProfileResult:
    """Latent profile analysis: fit k = k_min..k_max, choose k by fit and stability, name the profiles.

    Parameters
    ----------
    scores : pandas.DataFrame
        Indexed by participant, one column per construct (such as from
        :func:`readiness_scores`; other columns are ignored).
    constructs : sequence of str, optional
        Indicator columns (default: :data:`analysis.scales.READINESS_CONSTRUCTS`).
    k_max, k_min : int
        Largest and smallest number of profiles tried.
    k : int, optional
        A number of profiles fixed by the researcher (from k_min to k_max):
        the admissible solution with k profiles and the lowest ``criterion``
        is used; the fit table still marks the rule's choice.
    covariance_types : iterable of str
        Covariance structures of :class:`~sklearn.mixture.GaussianMixture`.
    n_init : int
        EM starts per model (the best likelihood is kept).
    seed : int
        Seed of every random step.
    criterion : {"bic", "icl"}
        The fit measure that orders the solutions (see the module docstring).
    resamples : int
        Bootstrap resamples of each stability check in the choice (0: choose
        by ``criterion`` alone, no stability computed).
    stability_n_init : int
        EM starts per refit in a stability check.
    confidence : float
        Share of resamples the stored stability range holds.
    blrt_reps : int
        Bootstrap samples per BLRT (0: no test, ``blrt_p`` NaN).
    blrt_n_init : int
        Starts per refit inside the BLRT (kept small to stay cheap).
    min_share, min_n : float, int
        Smallest admissible profile (share of participants, and count).
    missing : {"drop", "raise"}
        Participants without a score on every construct are left out (and
        counted in ``excluded``), or an error.
    reg_covar : float
        Variance floor added to every profile's variances. Scores are means
        of a few Likert items and take few distinct values; without a floor a
        profile can collapse onto one value and fake a large likelihood. 0.01
        (an SD of 0.1 on a 1-5 scale) is far below the spread of a real profile.
    ward_max_n : int
        Ward clustering (comparison only) uses a seeded subsample above this.
    aspects, labels : dict, optional
        How profiles are named (see :func:`profile_names`).
    progress : bool, optional
        Progress bar; default: only for a person at a terminal, never under CI.

    Returns
    -------
    ProfileResult
        ``stability`` holds the chosen solution's :class:`Stability` (the
        same as ``stability(result, resamples=resamples, n_init=stability_n_init,
        confidence=confidence)``), or ``None`` with ``resamples=0``.
    """
    refuse_in_reports("fitting readiness profiles")
    constructs = list(constructs or READINESS_CONSTRUCTS)
    covariance_types = list(covariance_types)
    check_choice("criterion", criterion, CRITERIA)
    for ct in covariance_types:
        check_choice("covariance type", ct, ("spherical", "diag", "full", "tied"))
    if k_min < 1 or k_max < k_min or n_init < 1 or blrt_reps < 0 or resamples < 0:
        raise ValueError("k_min, n_init must be >= 1, k_max >= k_min, blrt_reps and resamples >= 0")
    if k is not None and not k_min <= k <= k_max:
        raise ValueError(f"k must be from k_min to k_max ({k_min}-{k_max}); got {k!r}")
    x, excluded = _indicator_matrix(scores, constructs, missing)
    if len(x) < 2 * len(constructs):
        raise ValueError(f"only {len(x)} participants with every score: too few for a profile analysis")
    xa = x.to_numpy()
    n = len(xa)
    rng = np.random.default_rng(seed)
    models, rows = {}, []
    if k is not None and k > n // 2:
        raise ValueError(f"k = {k} profiles cannot be fitted to {n} participants")
    naming = {"aspects": dict(aspects or {}), "labels": dict(labels or {})}
    jobs = [(ct, j) for ct in covariance_types for j in range(k_min, k_max + 1)]
    for ct, j in tqdm(jobs, desc="profile models", disable=not show_progress(progress), leave=False):
        if j > n // 2:
            continue
        gm = _fit_gmm(xa, j, ct, n_init, seed, reg_covar)
        models[(ct, j)] = gm
        row = {"model": ct, "k": j, **_indices(gm, xa), "blrt_p": float("nan"), "blrt_reps": 0,
               **_closest(gm, x, naming)}
        if j >= 2 and blrt_reps > 0:
            row["blrt_p"] = _blrt_p(xa, gm, models.get((ct, j - 1)), blrt_reps, blrt_n_init, n_init, seed, rng,
                                    reg_covar)
            row["blrt_reps"] = blrt_reps
        rows.append(row)
    judged: dict = {}

    def check(row) -> Stability:
        key = (str(row["model"]), int(row["k"]))
        judged[key] = _stability(models[key], x, naming, reg_covar, resamples=resamples, n_init=stability_n_init,
                                 seed=seed, confidence=confidence, progress=progress)
        return judged[key]

    fit = _decide(pd.DataFrame(rows), min_share, min_n, check=check if resamples else None, k=k,
                  criterion=criterion)[FIT_COLUMNS]
    chosen = fit[fit["chosen"]].iloc[0]
    ct, k = str(chosen["model"]), int(chosen["k"])
    gm = models[(ct, k)]
    order, names, centroids = _named_solution(gm, x, naming)
    tau = gm.predict_proba(xa)[:, order]
    posterior = pd.DataFrame(tau, index=x.index, columns=pd.Index(names, name="profile"))
    hard = tau.argmax(axis=1)
    label = pd.Series(pd.Categorical.from_codes(hard, categories=names, ordered=True), index=x.index, name="profile")
    comparison = _compare(xa, hard, k, seed, ward_max_n)
    return ProfileResult(fit=fit, scores=x, constructs=constructs, k=k, covariance_type=ct, model=gm,
                         order=order, names=names, centroids=centroids, posterior=posterior, label=label,
                         excluded=excluded, comparison=comparison, models=models, seed=seed, n_init=n_init,
                         reg_covar=reg_covar, naming=naming, stability=judged.get((ct, k)), checked=judged,
                         criterion=criterion)


# --- stability -------------------------------------------------------------------

@dataclass
class Stability:
    """Bootstrap stability of one solution (see :func:`stability`).

    Attributes
    ----------
    per_profile : pandas.DataFrame
        ``profile``, ``n``, ``share``, ``jaccard`` (mean over resamples),
        ``jaccard_low`` / ``jaccard_high`` (quantiles holding the middle
        ``confidence`` share of resamples, 95% by default),
        ``dissolved`` (share of resamples with Jaccard < 0.5), ``stable``
        (mean Jaccard >= 0.75, Hennig's rule), ``verdict``: "dissolves"
        (mean < 0.5), "doubtful" (mean < 0.75), "stable, not in every
        resample" (mean >= 0.75 but ``jaccard_low`` < 0.75), "stable".
    ari : numpy.ndarray
        ARI of each resample's assignment of all participants with the
        full-data assignment.
    resamples : int
    resample_n : int
        People drawn (with replacement) per resample: the number of
        participants, or :data:`RESAMPLE_N` when there are more ("stability
        checked on ``resamples`` subsamples of ``resample_n`` people").
    """

    per_profile: pd.DataFrame
    ari: np.ndarray
    resamples: int
    #: People drawn per resample: everyone, or :data:`RESAMPLE_N` of a larger study.
    resample_n: int | None = None

    @property
    def ari_mean(self) -> float:
        return float(np.mean(self.ari)) if len(self.ari) else float("nan")

    @property
    def mean_jaccard(self) -> float:
        """Mean Jaccard over profiles, weighted equally."""
        return float(self.per_profile["jaccard"].mean())

    @property
    def all_stable(self) -> bool:
        return bool(self.per_profile["stable"].all())


def stability(result: ProfileResult, *, resamples: int = 100, k: int | None = None,
              covariance_type: str | None = None, n_init: int = 3, seed: int | None = None,
              confidence: float = 0.95, progress: bool | None = None) -> Stability:
    """Bootstrap stability of a solution, clusterboot style (Hennig 2007).

    Parameters
    ----------
    result : ProfileResult
    resamples : int
        Bootstrap resamples of the participants.
    k, covariance_type : optional
        Judge another fitted solution than the chosen one (it must be in
        ``result.models``); its profiles are named by the same rule.
    n_init : int
        EM starts per refit.
    seed : int, optional
        Default: the seed of ``result``.
    confidence : float
        Share of resamples the ``jaccard_low``-``jaccard_high`` range holds.
    progress : bool, optional
        Progress bar; default: only for a person at a terminal, never under CI.

    Returns
    -------
    Stability
        With k = 1 every Jaccard and ARI is 1 by construction: there is
        nothing to be unstable.
    """
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1; got {resamples!r}")
    k = result.k if k is None else k
    ct = result.covariance_type if covariance_type is None else covariance_type
    if (ct, k) not in result.models:
        raise KeyError(f"no fitted {ct!r} model with k = {k}")
    return _stability(result.models[(ct, k)], result.scores, result.naming, result.reg_covar, resamples=resamples,
                      n_init=n_init, seed=result.seed if seed is None else seed, confidence=confidence,
                      progress=progress)


def _stability(gm: GaussianMixture, x: pd.DataFrame, naming: dict, reg_covar: float, *, resamples: int,
               n_init: int, seed: int, confidence: float, progress: bool | None) -> Stability:
    k, ct = gm.n_components, gm.covariance_type
    xa = x.to_numpy()
    n = len(xa)
    order, names, _ = _named_solution(gm, x, naming)
    full = np.argsort(order)[gm.predict(xa)]  # profile index in named order
    rng = np.random.default_rng(seed)
    jac = np.zeros((resamples, k))
    ari = np.zeros(resamples)
    per_resample = min(n, RESAMPLE_N)  # people drawn per resample
    draws = []
    for _ in range(resamples):  # every draw and seed first, in order: the same stream however many workers
        idx = rng.integers(0, n, per_resample)
        draws.append((idx, int(rng.integers(2**31 - 1))))
    with tqdm(total=resamples, desc="stability", disable=not show_progress(progress), leave=False) as bar:
        preds = _spread(_workers(n), _resample_labels, [(xa, idx, k, ct, n_init, seed, reg_covar)
                                                        for idx, seed in draws], progress=bar)
    for b, ((idx, _), pred_all) in enumerate(zip(draws, preds)):
        ari[b] = adjusted_rand_score(full, pred_all) if k > 1 else 1.0
        drawn = np.unique(idx)  # clusterboot: compare on the distinct participants drawn
        a, bb = full[drawn], pred_all[drawn]
        for j in range(k):
            in_a = a == j
            if not in_a.any():
                jac[b, j] = np.nan
                continue
            best = 0.0
            for m in range(k):
                in_b = bb == m
                union = np.sum(in_a | in_b)
                best = max(best, np.sum(in_a & in_b) / union if union else 0.0)
            jac[b, j] = best
    counts = np.bincount(full, minlength=k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        per = pd.DataFrame({"profile": names, "n": counts, "share": counts / n,
                            "jaccard": np.nanmean(jac, axis=0),
                            "jaccard_low": np.nanquantile(jac, (1 - confidence) / 2, axis=0),
                            "jaccard_high": np.nanquantile(jac, (1 + confidence) / 2, axis=0),
                            "dissolved": np.nanmean(jac < DISSOLVED_JACCARD, axis=0)})
    per["stable"] = per["jaccard"] >= STABLE_JACCARD
    per["verdict"] = np.select(
        [per["jaccard"] < DISSOLVED_JACCARD, per["jaccard"] < STABLE_JACCARD, per["jaccard_low"] < STABLE_JACCARD],
        ["dissolves", "doubtful", "stable, not in every resample"], default="stable")
    return Stability(per, ari, resamples, per_resample)


def _resample_labels(xa: np.ndarray, idx: np.ndarray, k: int, ct: str, n_init: int, seed: int,
                     reg_covar: float) -> np.ndarray:
    """Everyone's profile under the solution refitted on one resample (the people ``idx``)."""
    return _fit_gmm(xa[idx], k, ct, n_init, seed, reg_covar).predict(xa)


# --- summaries for reports -------------------------------------------------------

def profile_means(result: ProfileResult, *, confidence: float = 0.95) -> pd.DataFrame:
    """Mean construct score per profile with a t interval (hard assignment).

    The interval treats the assignment as known, so it is somewhat too narrow
    when assignment is uncertain (see :func:`assignment_certainty`).

    Returns
    -------
    pandas.DataFrame
        ``profile``, ``construct``, ``n``, ``mean``, ``ci_low``, ``ci_high``
        in profile order, then construct order.
    """
    rows = []
    for name in result.names:
        sel = result.scores[result.label == name]
        for c in result.constructs:
            v = sel[c].to_numpy()
            m = float(v.mean()) if len(v) else float("nan")
            if len(v) > 1:
                half = stats.t.ppf((1 + confidence) / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
            else:
                half = float("nan")
            rows.append({"profile": name, "construct": c, "n": len(v), "mean": m, "ci_low": m - half,
                         "ci_high": m + half})
    return pd.DataFrame(rows)


def assignment_certainty(result: ProfileResult, *, threshold: float = SURE_POSTERIOR) -> pd.DataFrame:
    """How sure the assignment is, per profile and overall.

    Returns
    -------
    pandas.DataFrame
        ``profile`` (plus a last row ``all``), ``n``, ``mean_max_posterior``
        (average probability of the assigned profile), ``share_sure`` (share
        of participants whose assigned profile has probability >= threshold).
    """
    top = result.posterior.max(axis=1)
    rows = [{"profile": name, "n": int((result.label == name).sum()),
             "mean_max_posterior": float(top[result.label == name].mean()),
             "share_sure": float((top[result.label == name] >= threshold).mean())} for name in result.names]
    rows.append({"profile": "all", "n": len(top), "mean_max_posterior": float(top.mean()),
                 "share_sure": float((top >= threshold).mean())})
    return pd.DataFrame(rows)
