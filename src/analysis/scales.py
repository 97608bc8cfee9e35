"""Scales stage: construct scores and their reliability.

A *construct* (tool skills, focus, guts, ...) is measured by several Likert
items; the codebook says which (``construct:``). Item codes arrive from
:mod:`analysis.clean` already reverse-keyed, so a higher code always means
more of the construct.

Scores
    :func:`construct_scores`: the mean of the items a participant answered,
    given that they answered at least ``min_items`` of them (default: half
    the construct's items, rounded up), with the number of items used.

Reliability
    :func:`reliability`, per construct:

    * Cronbach's alpha, ``k / (k - 1) * (1 - trace(C) / sum(C))`` for the item
      covariance matrix ``C``, with the Feldt (1965) F-based 95% interval
      (``df1 = n - 1``, ``df2 = (n - 1)(k - 1)``), as pingouin and psych do;
    * McDonald's omega (total) from a one-factor model,
      ``(sum(loadings))**2 / ((sum(loadings))**2 + sum(uniquenesses))``. The
      model is fitted by maximum likelihood to the item covariance matrix
      (:func:`one_factor_ml`: the ML discrepancy minimised with L-BFGS-B and
      its analytic gradient; it agrees with
      :class:`sklearn.decomposition.FactorAnalysis`, see the tests). Its 95%
      interval is a percentile bootstrap over participants. Omega needs at
      least three items (a one-factor model on two items is not identified).

    :func:`item_statistics`, per item: item-rest correlation, alpha if the item
    is dropped, the standardised loading and the n used.

Missing answers: ``missing="listwise"`` (default) uses participants who
answered every item of the construct; ``missing="pairwise"`` uses every pair
of answers for the covariance matrix (as ``psych::alpha(use="pairwise")``);
the Feldt interval then takes n as the participants who answered at least one
of the construct's items.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from scipy import optimize, stats

# Reliability is computed on one BLAS thread, within the call only: for these tiny matrices a
# thread pool costs more than it saves.
from threadpoolctl import threadpool_limits

#: The readiness constructs measured on the pre-survey.
READINESS_CONSTRUCTS = ("tool_skills", "focus", "guts")
SCORE_MISSING = ("available", "complete")
RELIABILITY_MISSING = ("listwise", "pairwise")
CODE_SUFFIX = "_code"


def check_choice(name: str, value, allowed) -> None:
    """Check a keyword argument against its allowed values, up front, with a clear message."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")


def construct_items(codebook, constructs: Iterable[str] | None = None, *, wave: str | None = None) -> dict:
    """Item variables of each construct, in codebook order.

    Parameters
    ----------
    codebook : analysis.codebook.Codebook
    constructs : iterable of str, optional
        Constructs to keep, in this order (default: every construct that has
        items). A construct without items is an error.
    wave : str, optional
        Keep only items measured in this wave.

    Returns
    -------
    dict
        construct -> list of variable names.

    Examples
    --------
    >>> from analysis.codebook import load_codebook
    >>> from analysis.paths import SAMPLE_DIR
    >>> cb = load_codebook(SAMPLE_DIR / "codebook.yaml")
    >>> items = construct_items(cb, READINESS_CONSTRUCTS, wave="pre")
    >>> {c: len(v) for c, v in items.items()}
    {'tool_skills': 5, 'focus': 4, 'guts': 4}
    """
    found: dict[str, list[str]] = {}
    for var in codebook.variables.values():
        if var.role == "item" and var.construct and (wave is None or wave in var.waves):
            found.setdefault(var.construct, []).append(var.name)
    if constructs is None:
        return found
    constructs = list(constructs)
    absent = [c for c in constructs if c not in found]
    if absent:
        raise ValueError(f"no items{' in wave ' + repr(wave) if wave else ''} for construct(s) "
                         f"{', '.join(map(repr, absent))}; the codebook has {', '.join(map(repr, found)) or 'none'}")
    return {c: found[c] for c in constructs}


def default_min_items(n_items: int) -> int:
    """Half the items, rounded up (at least one).

    Examples
    --------
    >>> [default_min_items(k) for k in (1, 2, 3, 4, 5)]
    [1, 1, 2, 2, 3]
    """
    return max(1, math.ceil(n_items / 2))


def _item_matrix(data: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise KeyError(f"column(s) not in data: {', '.join(missing)}")
    return data[columns].apply(pd.to_numeric, errors="coerce").astype(float)


def construct_scores(data: pd.DataFrame, items: Mapping[str, list[str]], *, participant: str = "participant",
                     suffix: str = CODE_SUFFIX, min_items: int | None = None,
                     missing: str = "available") -> pd.DataFrame:
    """Score each construct as the mean of its (reverse-keyed) item codes.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per participant (select one wave first), with a column
        ``<item><suffix>`` per item.
    items : mapping
        construct -> item variable names (see :func:`construct_items`).
    participant : str
        Column identifying participants; becomes the index.
    suffix : str
        Suffix of the numeric code columns.
    min_items : int, optional
        With ``missing="available"``, the fewest answered items that still
        give a score; fewer gives NA. Default: half the construct's items,
        rounded up (:func:`default_min_items`). Capped at the number of items.
    missing : {"available", "complete"}
        ``"available"``: mean of the answered items (subject to
        ``min_items``). ``"complete"``: a score only when every item is
        answered.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``participant``; per construct a column ``<construct>``
        (Float64 score, NA when too few items) and ``<construct>_items``
        (Int64, items answered). The input is not modified.

    Examples
    --------
    >>> d = pd.DataFrame({"participant": ["a", "b", "c"], "x1_code": [4, 2, None],
    ...                   "x2_code": [5, None, None], "x3_code": [3, 3, 1]})
    >>> construct_scores(d, {"x": ["x1", "x2", "x3"]})
                    x  x_items
    participant
    a             4.0        3
    b             2.5        2
    c            <NA>        1
    >>> construct_scores(d, {"x": ["x1", "x2", "x3"]}, missing="complete")["x"].tolist()
    [4.0, <NA>, <NA>]
    """
    check_choice("missing", missing, SCORE_MISSING)
    if min_items is not None:
        if missing == "complete":
            raise ValueError("min_items applies only with missing='available'; missing='complete' "
                             "already requires every item")
        if not isinstance(min_items, (int, np.integer)) or isinstance(min_items, bool) or min_items < 1:
            raise ValueError(f"min_items must be a positive integer; got {min_items!r}")
    if participant not in data.columns:
        raise KeyError(f"participant column {participant!r} not in data")
    if data[participant].duplicated().any():
        raise ValueError(f"{participant!r} repeats: pass one row per participant (select one wave first)")
    out = {}
    for construct, names in items.items():
        if not names:
            raise ValueError(f"construct {construct!r} has no items")
        block = _item_matrix(data, [f"{n}{suffix}" for n in names]).to_numpy()
        answered = np.sum(~np.isnan(block), axis=1)
        need = len(names) if missing == "complete" else min(min_items or default_min_items(len(names)), len(names))
        total = np.nansum(block, axis=1)
        mean = np.where(answered >= need, total / np.maximum(answered, 1), np.nan)
        out[construct] = pd.array(mean, dtype="Float64")
        out[f"{construct}_items"] = pd.array(answered, dtype="Int64")
    return pd.DataFrame(out, index=pd.Index(data[participant].to_numpy(), name=participant))


# --- reliability -----------------------------------------------------------------

def cronbach_alpha(cov: np.ndarray) -> float:
    """Cronbach's alpha from an item covariance matrix.

    ``k / (k - 1) * (1 - trace(C) / sum(C))``: the same as the mean
    inter-item covariance form ``k**2 * mean(offdiag(C)) / sum(C)``.

    Examples
    --------
    >>> round(cronbach_alpha(np.array([[1.0, 0.5], [0.5, 1.0]])), 4)
    0.6667
    """
    cov = np.asarray(cov, dtype=float)
    k = cov.shape[0]
    if k < 2:
        return float("nan")
    total = cov.sum()
    if not total > 0:
        return float("nan")
    return float(k / (k - 1) * (1 - np.trace(cov) / total))


def feldt_interval(alpha: float, n: int, k: int, confidence: float = 0.95) -> tuple[float, float]:
    """Feldt (1965) confidence interval for alpha (n participants, k items).

    Examples
    --------
    >>> lo, hi = feldt_interval(0.8, 100, 5)
    >>> round(lo, 3), round(hi, 3)
    (0.731, 0.856)
    """
    if not np.isfinite(alpha) or n < 2 or k < 2:
        return float("nan"), float("nan")
    df1, df2 = n - 1, (n - 1) * (k - 1)
    lower = 1 - (1 - alpha) * stats.f.isf((1 - confidence) / 2, df1, df2)
    upper = 1 - (1 - alpha) * stats.f.isf((1 + confidence) / 2, df1, df2)
    return float(lower), float(upper)


def one_factor_ml(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fit a one-factor model to a covariance matrix by maximum likelihood.

    Minimises the ML discrepancy ``log|S| + tr(C S^-1)`` over
    ``S = l l' + diag(u)`` (L-BFGS-B with the analytic gradient; uniquenesses
    bounded below by 0.1% of each item's variance, which keeps Heywood cases
    finite). The loadings' sign is chosen so that their sum is positive.

    Returns
    -------
    loadings, uniquenesses : numpy.ndarray

    Examples
    --------
    >>> lam = np.array([0.8, 0.7, 0.6])
    >>> cov = np.outer(lam, lam) + np.diag(1 - lam**2)
    >>> loadings, unique = one_factor_ml(cov)
    >>> np.round(loadings, 3).tolist(), np.round(unique, 3).tolist()
    ([0.8, 0.7, 0.6], [0.36, 0.51, 0.64])
    """
    cov = np.asarray(cov, dtype=float)
    p = cov.shape[0]
    d = np.clip(np.diag(cov), 1e-12, None)
    values, vectors = np.linalg.eigh(cov)
    lam0 = vectors[:, -1] * math.sqrt(max(values[-1], 1e-12))
    lam0 = lam0 if lam0.sum() >= 0 else -lam0
    psi0 = np.clip(d - lam0**2, 0.05 * d, None)

    def objective(theta):
        lam, psi = theta[:p], theta[p:]
        sigma = np.outer(lam, lam) + np.diag(psi)
        sign, logdet = np.linalg.slogdet(sigma)
        if sign <= 0:
            return 1e10, np.zeros_like(theta)
        inv = np.linalg.inv(sigma)
        f = logdet + np.trace(cov @ inv)
        g = inv - inv @ cov @ inv
        return f, np.concatenate([2 * g @ lam, np.diag(g)])

    bounds = [(None, None)] * p + [(1e-3 * v, None) for v in d]
    res = optimize.minimize(objective, np.concatenate([lam0, psi0]), jac=True, method="L-BFGS-B", bounds=bounds,
                            options={"maxiter": 500, "ftol": 1e-12, "gtol": 1e-9})
    lam, psi = res.x[:p], res.x[p:]
    if lam.sum() < 0:
        lam = -lam
    return lam, psi


def mcdonald_omega(cov: np.ndarray) -> float:
    """McDonald's omega (total) from a one-factor ML fit (:func:`one_factor_ml`).

    NaN for fewer than three items.

    Examples
    --------
    >>> lam = np.array([0.8, 0.7, 0.6])
    >>> cov = np.outer(lam, lam) + np.diag(1 - lam**2)
    >>> round(mcdonald_omega(cov), 4)  # 2.1**2 / (2.1**2 + 1.51)
    0.7449
    """
    cov = np.asarray(cov, dtype=float)
    if cov.shape[0] < 3 or not np.all(np.isfinite(cov)):
        return float("nan")
    lam, psi = one_factor_ml(cov)
    common = lam.sum() ** 2
    return float(common / (common + psi.sum()))


def _cov(block: np.ndarray, missing: str) -> np.ndarray:
    if missing == "listwise":
        return np.cov(block, rowvar=False, ddof=1)
    return pd.DataFrame(block).cov().to_numpy()


def _construct_block(data, names, suffix, missing):
    block = _item_matrix(data, [f"{n}{suffix}" for n in names]).to_numpy()
    if missing == "listwise":
        block = block[~np.isnan(block).any(axis=1)]
        n = len(block)
    else:
        block = block[~np.isnan(block).all(axis=1)]
        n = len(block)
    return block, n


def reliability(data: pd.DataFrame, items: Mapping[str, list[str]], *, suffix: str = CODE_SUFFIX,
                missing: str = "listwise", confidence: float = 0.95, n_boot: int = 1000,
                seed: int = 20260301) -> pd.DataFrame:
    """Cronbach's alpha and McDonald's omega per construct, with intervals.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per participant with ``<item><suffix>`` columns.
    items : mapping
        construct -> item variable names.
    suffix : str
        Suffix of the numeric code columns.
    missing : {"listwise", "pairwise"}
        See the module docstring.
    confidence : float
        Level of both intervals.
    n_boot : int
        Bootstrap resamples of participants for omega's percentile interval
        (0: no interval).
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    pandas.DataFrame
        One row per construct: ``construct``, ``n_items``, ``n`` (participants
        used), ``alpha``, ``alpha_ci_low``, ``alpha_ci_high`` (Feldt),
        ``omega``, ``omega_ci_low``, ``omega_ci_high`` (percentile bootstrap).
        NaN where a coefficient needs more items (alpha 2, omega 3).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=200)
    >>> d = pd.DataFrame({f"q{i}_code": f + rng.normal(size=200) for i in range(4)})
    >>> r = reliability(d, {"c": ["q0", "q1", "q2", "q3"]}, n_boot=50)
    >>> r[["construct", "n_items", "n"]].to_dict("records")
    [{'construct': 'c', 'n_items': 4, 'n': 200}]
    >>> bool(r.at[0, "alpha_ci_low"] < r.at[0, "alpha"] < r.at[0, "alpha_ci_high"])
    True
    """
    check_choice("missing", missing, RELIABILITY_MISSING)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1; got {confidence!r}")
    if n_boot < 0:
        raise ValueError(f"n_boot must be 0 or more; got {n_boot!r}")
    rng = np.random.default_rng(seed)
    rows = []
    with threadpool_limits(1):
        for construct, names in items.items():
            rows.append(_reliability_row(construct, data, names, suffix, missing, confidence, n_boot, rng))
    return pd.DataFrame(rows, columns=["construct", "n_items", "n", "alpha", "alpha_ci_low", "alpha_ci_high",
                                       "omega", "omega_ci_low", "omega_ci_high"])


#: Above this many participants omega's bootstrap draws answer patterns, not rows (:class:`_PatternResampler`).
PATTERN_BOOT_N = 5000


class _PatternResampler:
    """Bootstrap covariances of a complete item block, drawn over its distinct answer patterns.

    Drawing n rows with replacement is drawing multinomial counts over the rows, and rows with the
    same answers can share one count: ``multinomial(n, pattern shares)``. The resample's covariance
    is the count-weighted covariance of the patterns. Likert items take few patterns (at most 5^k),
    so a resample costs the number of patterns, not n. The same bootstrap distribution as
    ``np.cov(block[rng.integers(0, n, n)])`` (tests/test_scales.py checks both intervals agree).
    """

    def __init__(self, block: np.ndarray):
        self.patterns, counts = np.unique(block, axis=0, return_counts=True)
        self.n = len(block)
        self.shares = counts / self.n

    def cov(self, rng: np.random.Generator) -> np.ndarray:
        w = rng.multinomial(self.n, self.shares).astype(float)
        mean = w @ self.patterns / self.n
        return ((self.patterns * w[:, None]).T @ self.patterns - self.n * np.outer(mean, mean)) / (self.n - 1)


def _reliability_row(construct, data, names, suffix, missing, confidence, n_boot, rng) -> dict:
    block, n = _construct_block(data, names, suffix, missing)
    k = len(names)
    if n >= 2 and k >= 2:
        cov = _cov(block, missing)
        alpha = cronbach_alpha(cov)
        omega = mcdonald_omega(cov) if k >= 3 else float("nan")
    else:
        alpha = omega = float("nan")
    lo, hi = feldt_interval(alpha, n, k, confidence)
    olo = ohi = float("nan")
    if np.isfinite(omega) and n_boot > 0:
        boots = []
        patterns = _PatternResampler(block) if missing == "listwise" and n > PATTERN_BOOT_N else None
        for _ in range(n_boot):
            c = patterns.cov(rng) if patterns else _cov(block[rng.integers(0, n, n)], missing)
            if np.all(np.isfinite(c)) and np.all(np.diag(c) > 0):
                boots.append(mcdonald_omega(c))
        if boots:
            olo, ohi = np.quantile(boots, [(1 - confidence) / 2, (1 + confidence) / 2])
    return {"construct": construct, "n_items": k, "n": n, "alpha": alpha, "alpha_ci_low": lo,
            "alpha_ci_high": hi, "omega": omega, "omega_ci_low": float(olo), "omega_ci_high": float(ohi)}


def item_statistics(data: pd.DataFrame, items: Mapping[str, list[str]], *, suffix: str = CODE_SUFFIX,
                    missing: str = "listwise") -> pd.DataFrame:
    """Per item: mean, sd, item-rest correlation, alpha if dropped, loading.

    Parameters
    ----------
    data, items, suffix, missing
        As for :func:`reliability`.

    Returns
    -------
    pandas.DataFrame
        ``construct``, ``item``, ``n`` (participants used for the construct),
        ``mean``, ``sd``, ``item_rest_r`` (correlation of the item with the
        sum of the construct's other items), ``alpha_if_dropped``,
        ``loading`` (standardised one-factor loading; NaN below three items).

    Examples
    --------
    >>> d = pd.DataFrame({"a_code": [1, 2, 3, 4, 5], "b_code": [2, 2, 3, 5, 4], "c_code": [1, 3, 2, 4, 5]})
    >>> item_statistics(d, {"x": ["a", "b", "c"]})[["item", "item_rest_r", "alpha_if_dropped"]].round(3)
      item  item_rest_r  alpha_if_dropped
    0    a        0.943             0.833
    1    b        0.809             0.947
    2    c        0.855             0.909
    """
    check_choice("missing", missing, RELIABILITY_MISSING)
    rows = []
    for construct, names in items.items():
        block, n = _construct_block(data, names, suffix, missing)
        k = len(names)
        cov = _cov(block, missing) if n >= 2 else np.full((k, k), np.nan)
        loadings = np.full(k, np.nan)
        if k >= 3 and np.all(np.isfinite(cov)):
            lam, _ = one_factor_ml(cov)
            loadings = lam / np.sqrt(np.diag(cov))
        for j, name in enumerate(names):
            others = [i for i in range(k) if i != j]
            if k >= 2 and n >= 2:
                rest_var = cov[np.ix_(others, others)].sum()
                rest_cov = cov[j, others].sum()
                r = rest_cov / math.sqrt(cov[j, j] * rest_var) if cov[j, j] > 0 and rest_var > 0 else float("nan")
                dropped = cronbach_alpha(cov[np.ix_(others, others)]) if k >= 3 else float("nan")
            else:
                r = dropped = float("nan")
            column = block[:, j]
            rows.append({"construct": construct, "item": name, "n": n, "mean": float(np.nanmean(column)) if n else np.nan,
                         "sd": float(np.nanstd(column, ddof=1)) if n > 1 else np.nan,
                         "item_rest_r": float(r), "alpha_if_dropped": float(dropped), "loading": float(loadings[j])})
    return pd.DataFrame(rows, columns=["construct", "item", "n", "mean", "sd", "item_rest_r", "alpha_if_dropped",
                                       "loading"])
