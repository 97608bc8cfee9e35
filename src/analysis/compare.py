"""Compare stage: strategy-first versus tool-first, overall and per readiness profile.

Every effect is **tool-first minus strategy-first** (:data:`CONTRAST`): a
positive number means tool-first participants scored higher.

Outcomes and effect sizes
-------------------------
Outcomes are declared in the codebook's ``outcomes:`` section
(:func:`find_outcomes`): a composite of several items (the mean of a
person's answered items), each of its items on its own, a single item, and
the gain (after minus before) of an outcome with baseline items. Effect size
by outcome kind:

* ``interval`` (composites, gains): mean difference and Hedges' g;
* ``ordinal`` (one Likert item): Cliff's delta, P(T > S) - P(T < S);
* ``binary`` (one yes/no item): risk difference.

Resampling that respects the design
-----------------------------------
Entry point is assigned per workshop *session*, and people in one session are
not independent, so no method here resamples people:

* **p-values**: exact permutation of the entry-point labels over the
  sessions (``scipy.stats.permutation_test``; 3 + 3 sessions give 20
  assignments, all enumerated). Two-sided: the share of assignments whose
  absolute effect is at least the observed one. With 3 sessions per arm no
  p-value can be below 2/20 = 0.1 (column ``p_min``): a design this small
  cannot show "significance" however large the effect, and the report says so.
  Column ``p_jackknife`` is the test that matches the interval (jackknife t,
  ``sessions - 2`` df); it rests on the normal approximation whose
  false-positive rate the benchmark measures.
* **95% intervals**: delete-one-session jackknife within each arm
  (the CV3 estimator of MacKinnon, Nielsen and Webb 2023) with a t quantile on
  ``sessions - 2`` degrees of freedom. For a difference in means this is the
  classic two-sample t interval on session means (Donner and Klar 2000), which
  is exact for normal data however few the sessions; the jackknife extends it
  to Hedges' g, Cliff's delta, posterior-weighted profile effects and
  interactions. A session bootstrap was not used: with 3 sessions per arm it
  has 10 distinct resamples per arm and intervals that are too narrow.
  ``bench/bench_compare_coverage.py`` measures the coverage on simulated
  studies.

Profiles
--------
Per-profile effects take the profile posteriors as an argument (a frame
indexed by participant, one column per profile, rows summing to 1) and
**weight** every person by their posterior probability of the profile. The
estimate is then the effect in the profile as the model sees it: uncertain
members count partly, in every profile they might belong to. ``n`` per arm is
the sum of the weights, rounded. The interaction between two profiles is the
difference of their entry-point effects; since both are measured in the same
sessions, a session's general luck cancels from it.

Posterior weights alone blend profiles: a person counted 30% in the wrong
profile carries that profile's effect into this one, pulling every
per-profile effect toward the overall one. By default (``correction="bch"``)
the weights are corrected for this classification error with the BCH method
(Bolck, Croon and Hagenaars 2004; Vermunt 2010; Bakk, Tekle and Vermunt
2013): ``D[s, t] = P(assigned t | true s)`` is estimated from the posteriors
(:func:`classification_error`) and each person's weights become their
posteriors times ``D``'s inverse (:func:`bch_weights`), so weighted means
target the means of the true profiles. Weights may then be negative; the
people counted (``n``) and the small-cell rule still use the posteriors. The
classification error is re-estimated in every jackknife replicate, so the
interval carries its uncertainty too. The uncorrected (posterior-weighted)
estimate and interval stay in the columns ``estimate_uncorrected``,
``ci_low_uncorrected`` and ``ci_high_uncorrected``.

Multiplicity and small cells
----------------------------
p-values are Holm-adjusted (``statsmodels.stats.multitest.multipletests``)
within a *family* (column ``family``): the five strategy items of one
question for one profile; the summary outcomes for one profile; and the
interactions of one family. A profile-arm cell with fewer than
:data:`MIN_N` people or :data:`MIN_SESSIONS` sessions is marked "too few to
interpret": it keeps its estimate and interval but shows no p-value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from analysis.codebook import ENTRY_POINTS
from analysis.profiles import POSTERIOR_PREFIX
from analysis.settings import CORRECTIONS

CONTRAST = "tool-first minus strategy-first"
ARMS = ENTRY_POINTS
#: Fewest people (posterior-weighted) per arm for a cell to be interpreted.
MIN_N = 10
#: Fewest sessions per arm for a cell to be interpreted (the jackknife needs 2).
MIN_SESSIONS = 2
#: Fewest answered items for a composite score.
MIN_ITEMS = 3
CONFIDENCE = 0.95
ADJUSTMENT = "holm"
TOO_FEW = "too few to interpret"
CI_METHOD = "delete-one-session jackknife within arm, t on sessions - 2 df"
P_METHOD = "exact permutation of entry point over sessions, two-sided"
PROFILE_METHOD = "posterior-weighted"
#: Corrections of per-profile effects for classification error (the first is the default).
CORRECTION = CORRECTIONS[0]
CORRECTION_METHOD = {"bch": "BCH correction for classification error (Bolck, Croon and Hagenaars 2004; "
                            "Vermunt 2010)",
                     "none": "no correction for classification error"}

#: Effect type per outcome kind (the first is the one tested and adjusted).
EFFECT_TYPES = {"interval": ("mean difference", "Hedges' g"), "ordinal": ("Cliff's delta",),
                "binary": ("risk difference",)}

#: Columns of :func:`entry_point_effects`, in order.
COLUMNS = ["outcome", "profile", "effect_type", "estimate", "ci_low", "ci_high", "p", "p_adjusted",
           "n_strategy_first", "n_tool_first", "sessions_strategy_first", "sessions_tool_first",
           "interpretable", "comparison", "kind", "family", "p_min", "p_jackknife", "note",
           "estimate_uncorrected", "ci_low_uncorrected", "ci_high_uncorrected", "correction"]


# --- outcomes from the codebook ---------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """One outcome the comparison reports.

    ``items`` are the codebook variables it is made of (one for a single
    item); ``baseline`` the items asked before the workshop, subtracted for a
    gain. ``family`` groups outcomes for the multiplicity adjustment;
    ``measure`` says what it measures (the codebook's ``family``:
    confidence, intention, adoption, satisfaction or other).
    """

    name: str
    kind: str  # "interval", "ordinal" or "binary"
    family: str
    label: str
    items: tuple
    baseline: tuple = ()
    measure: str = "other"


def find_outcomes(codebook, *, gains: bool = True) -> list[Outcome]:
    """The outcomes a codebook declares (its ``outcomes:`` section), ready to compare.

    An outcome of several items is a composite (``interval``: the mean of a
    person's answered items) and each of its items is also compared on its
    own (family ``<outcome> items``); with ``baseline`` items it also gets
    ``<outcome>_gain`` (after minus before). An outcome of one item is
    ``binary`` on a two-level scale and ``ordinal`` otherwise.

    Parameters
    ----------
    codebook : analysis.codebook.Codebook
    gains : bool
        Add the gains of outcomes that have baseline items.

    Returns
    -------
    list of Outcome
        Composites first, then gains, single-item outcomes, and the items of
        composites grouped by outcome.

    Examples
    --------
    >>> from analysis.codebook import load_codebook
    >>> from analysis.paths import SAMPLE_DIR
    >>> out = find_outcomes(load_codebook(SAMPLE_DIR / "codebook.yaml"))
    >>> [(o.name, o.kind) for o in out[:5]]  # doctest: +NORMALIZE_WHITESPACE
    [('confidence', 'interval'), ('intention', 'interval'), ('adoption', 'interval'),
     ('confidence_gain', 'interval'), ('satisfaction', 'ordinal')]
    >>> [o.name for o in out if o.kind == "binary"][:2]
    ['adopt_cooperation', 'adopt_branding']
    """
    composites, gain_list, singles, item_rows = [], [], [], []
    variables = codebook.variables
    for spec in codebook.outcomes.values():
        scale = variables[spec.items[0]].scale
        binary = len(scale.levels) == 2
        lo, hi = scale.min_code, scale.max_code
        label = spec.shown("en")
        if len(spec.items) > 1:
            composites.append(Outcome(spec.name, "interval", "summary outcomes", label, spec.items,
                                      measure=spec.family))
            for item in spec.items:
                item_rows.append(Outcome(item, "binary" if binary else "ordinal", f"{spec.name} items",
                                         variables[item].shown("en"), (item,), measure=spec.family))
        else:
            singles.append(Outcome(spec.name, "binary" if binary else "ordinal", "summary outcomes", label,
                                   spec.items, measure=spec.family))
        if spec.baseline and gains:
            gain_list.append(Outcome(f"{spec.name}_gain", "interval", "summary outcomes",
                                     f"{label} gain: after minus before ({lo}-{hi} scale)", spec.items,
                                     spec.baseline, measure=spec.family))
    return composites + gain_list + singles + item_rows


def outcome_scores(data: pd.DataFrame, outcomes: Iterable[Outcome], *,
                   min_items: int = MIN_ITEMS) -> pd.DataFrame:
    """One row per participant: session, entry point and every outcome's score.

    Answers missing for any reason (blank, "don't know", N/A, invalid) are
    left out. A composite is the mean of the answered items and is missing
    when fewer than ``min_items`` were answered; a gain needs both.

    Parameters
    ----------
    data : pandas.DataFrame
        :attr:`analysis.protect.ProcessedStudy.data` (``participant``,
        ``workshop``, ``entry_point``, ``<item>_code``).
    outcomes : iterable of Outcome
        From :func:`find_outcomes`.
    min_items : int
        Fewest answered items for a composite.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``participant``; columns ``workshop``, ``entry_point``,
        then one float column per outcome (NaN when missing).

    Examples
    --------
    >>> d = pd.DataFrame({"participant": ["a", "a", "b"], "wave": ["pre", "post", "post"],
    ...                   "workshop": ["s1", "s1", "s2"], "entry_point": ["tool-first"] * 2 + ["strategy-first"],
    ...                   "q_code": pd.array([None, 4, 2], dtype="Int64")})
    >>> outcome_scores(d, [Outcome("q", "ordinal", "f", "q", ("q",))])
                workshop     entry_point    q
    participant
    a                 s1      tool-first  4.0
    b                 s2  strategy-first  2.0
    """
    outcomes = list(outcomes)
    if min_items < 1:
        raise ValueError(f"min_items must be at least 1, got {min_items}")
    missing = {"participant", "workshop", "entry_point"} - set(data.columns)
    if missing:
        raise ValueError(f"data needs the columns {sorted(missing)}")
    people = (data.dropna(subset=["workshop", "entry_point"]).groupby("participant", sort=True)
              [["workshop", "entry_point"]].first())
    out = people.copy()
    for o in outcomes:
        codes = _item_frame(data, o.items)
        if len(o.items) == 1:
            score = codes.iloc[:, 0]
        else:
            score = codes.mean(axis=1).where(codes.notna().sum(axis=1) >= min(min_items, len(o.items)))
        if o.baseline:
            before = _item_frame(data, o.baseline)
            before = before.mean(axis=1).where(before.notna().sum(axis=1) >= min(min_items, len(o.baseline)))
            score = score - before
        out[o.name] = score.reindex(out.index).astype(float)
    out.index.name = "participant"
    return out


def _item_frame(data: pd.DataFrame, items: tuple) -> pd.DataFrame:
    cols = [f"{v}_code" for v in items]
    absent = [c for c in cols if c not in data.columns]
    if absent:
        raise ValueError(f"data has no column {absent[0]!r} (is the codebook the study's?)")
    frame = data[["participant"] + cols].copy()
    for c in cols:
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
    return frame.groupby("participant", sort=True)[cols].first()


# --- posteriors -------------------------------------------------------------------

def posteriors_from_labels(labels: pd.Series) -> pd.DataFrame:
    """One-hot posteriors from hard profile labels (a Series indexed by participant).

    Examples
    --------
    >>> posteriors_from_labels(pd.Series({"a": "x", "b": "y"}))
                   x    y
    participant
    a            1.0  0.0
    b            0.0  1.0
    """
    post = pd.crosstab(labels.index, labels.to_numpy()).astype(float)
    post.index.name = "participant"
    post.columns.name = None
    return post


def check_posteriors(posteriors: pd.DataFrame, *, tol: float = 1e-6) -> pd.DataFrame:
    """Validate profile posteriors and return them as floats indexed by participant.

    Accepts the contract (indexed by ``participant``, one column per profile)
    or the layout of ``profiles.csv`` (a ``participant`` column and text
    columns such as the modal profile, which are dropped).

    Raises
    ------
    ValueError
        Probabilities outside [0, 1], rows not summing to 1, duplicate
        participants, or no profile column.

    Examples
    --------
    >>> check_posteriors(pd.DataFrame({"participant": ["a"], "profile": ["x"], "x": [0.75], "y": [0.25]}))
                    x     y
    participant
    a            0.75  0.25
    """
    post = posteriors.copy()
    if "participant" in post.columns:
        post = post.set_index("participant")
    post = post.select_dtypes("number").astype(float)
    prefix = POSTERIOR_PREFIX  # profiles.csv names its columns "posterior: <profile>"
    if len(post.columns) and all(str(c).startswith(prefix) for c in post.columns):
        post.columns = [str(c)[len(prefix):] for c in post.columns]
    post.columns.name = None
    post.index.name = "participant"
    if post.shape[1] == 0:
        raise ValueError("posteriors need one numeric column per profile")
    if post.index.duplicated().any():
        raise ValueError(f"posteriors list participant {post.index[post.index.duplicated()][0]!r} twice")
    values = post.to_numpy()
    if np.isnan(values).any() or (values < -tol).any() or (values > 1 + tol).any():
        raise ValueError("posterior probabilities must lie in [0, 1] without missing values")
    bad = np.abs(values.sum(axis=1) - 1) > tol
    if bad.any():
        raise ValueError(f"posteriors of participant {post.index[bad][0]!r} sum to "
                         f"{values[bad][0].sum():.4f}, not 1")
    return post


def classification_error(posteriors) -> np.ndarray:
    """Classification-error matrix ``D[s, t] = P(assigned t | true s)`` under soft assignment.

    With posteriors ``p`` (people x profiles) and everyone assigned to every
    profile in proportion to their posterior,
    ``D[s, t] = sum_i p_is p_it / sum_i p_is`` (Vermunt 2010, eq. 6; Bakk,
    Tekle and Vermunt 2013; StepMix ``corrections.compute_bch_matrix``). Rows
    sum to 1; the identity means no classification error. People whose
    posteriors are all 0 (not in the profiles) do not count.

    Parameters
    ----------
    posteriors : pandas.DataFrame or numpy.ndarray
        One column per profile, rows summing to 1 (or all 0).

    Returns
    -------
    numpy.ndarray
        Profiles x profiles; NaN rows for a profile nobody belongs to.

    Examples
    --------
    >>> p = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.0, 1.0]])
    >>> classification_error(p).round(3)
    array([[0.811, 0.189],
           [0.155, 0.845]])
    """
    p = np.asarray(posteriors, float)
    size = p.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (p.T @ p) / size[:, None]


def bch_weights(posteriors):
    """Posterior weights corrected for classification error (BCH): ``p @ inverse(D)``.

    A weighted mean of an outcome with these weights estimates the mean of
    the true profile rather than the blend the posteriors make (Bolck, Croon
    and Hagenaars 2004, the empirical version of Vermunt 2010; as StepMix's
    three-step ``correction="BCH"`` with ``assignment="soft"``). ``D`` is
    :func:`classification_error`, inverted with the pseudo-inverse (as
    StepMix). Each profile's weights still sum to its posterior size, and
    a person's weights still sum to 1, but single weights may be negative.

    Parameters
    ----------
    posteriors : pandas.DataFrame or numpy.ndarray
        One column per profile, rows summing to 1 (or all 0).

    Returns
    -------
    Same type and shape as ``posteriors``; all NaN when a profile is empty.

    Examples
    --------
    >>> p = pd.DataFrame({"x": [0.9, 0.8, 0.1, 0.0], "y": [0.1, 0.2, 0.9, 1.0]})
    >>> w = bch_weights(p)
    >>> w.round(3)
           x      y
    0  1.135 -0.135
    1  0.983  0.017
    2 -0.083  1.083
    3 -0.235  1.235
    >>> np.allclose(w.sum(), p.sum()), np.allclose(w.sum(axis=1), 1)
    (True, True)
    """
    p = np.asarray(posteriors, float)
    d = classification_error(p)
    if not np.isfinite(d).all():
        out = np.full_like(p, np.nan)
    else:
        out = p @ np.linalg.pinv(d)
    if isinstance(posteriors, pd.DataFrame):
        return pd.DataFrame(out, index=posteriors.index, columns=posteriors.columns)
    return out


def correction_sentence(correction: str = CORRECTION) -> str:
    """One plain sentence for researchers on how per-profile effects handle misclassification.

    Examples
    --------
    >>> correction_sentence("bch")[:62]
    'Per-profile effects are corrected for people counted partly in'
    """
    _check_correction(correction)
    if correction == "bch":
        return ("Per-profile effects are corrected for people counted partly in the wrong profile "
                "(the BCH correction), so they estimate each profile's own effect rather than a blend "
                "of neighbouring profiles.")
    return ("Per-profile effects weight each person by their probability of the profile, without a "
            "correction for misclassification, so they are pulled toward the overall effect.")


def _check_correction(correction: str) -> None:
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}; got {correction!r}")


# --- effect-size statistics (weighted; weights 1 give the textbook formulas) ---------

def mean_difference(y: np.ndarray, w_tool: np.ndarray, w_strategy: np.ndarray) -> float:
    """Weighted mean of tool-first minus weighted mean of strategy-first.

    Examples
    --------
    >>> y = np.array([1.0, 2, 3, 5])
    >>> mean_difference(y, np.array([0, 0, 1, 1]), np.array([1, 1, 0, 0]))
    2.5
    """
    return float(np.average(y, weights=w_tool) - np.average(y, weights=w_strategy))


def hedges_g(y: np.ndarray, w_tool: np.ndarray, w_strategy: np.ndarray) -> float:
    """Hedges' g: mean difference over the pooled SD, small-sample corrected.

    Weights act as frequency weights: ``n = sum(w)``; pooled variance
    ``(SS_t + SS_s) / (n_t + n_s - 2)``; correction ``J = 1 - 3 / (4 df - 1)``
    (Hedges and Olkin 1985).

    Examples
    --------
    Lakens (2013, Frontiers in Psychology 4:863), Table 1: movie ratings,
    g_s = 1.08.

    >>> m1 = [9, 7, 8, 9, 8, 9, 9, 10, 9, 9]; m2 = [9, 6, 7, 8, 7, 9, 8, 8, 7, 8]
    >>> round(hedges_g(np.array(m1 + m2, float), np.repeat([1.0, 0], 10), np.repeat([0.0, 1], 10)), 2)
    1.08
    """
    nt, ns = w_tool.sum(), w_strategy.sum()
    mt, ms = np.average(y, weights=w_tool), np.average(y, weights=w_strategy)
    df = nt + ns - 2
    if df <= 0:
        return math.nan
    var = (np.sum(w_tool * (y - mt) ** 2) + np.sum(w_strategy * (y - ms) ** 2)) / df
    if not var > 0:  # corrected (BCH) weights may be negative
        return math.nan
    sp = math.sqrt(var)
    return float((mt - ms) / sp * (1 - 3 / (4 * df - 1)))


def cliffs_delta(y: np.ndarray, w_tool: np.ndarray, w_strategy: np.ndarray) -> float:
    """Cliff's delta: P(tool-first > strategy-first) - P(tool-first < strategy-first).

    Every pair of a tool-first and a strategy-first person counts with the
    product of their weights.

    Examples
    --------
    >>> y = np.array([3.0, 4, 5, 1, 2, 3])
    >>> round(cliffs_delta(y, np.r_[1.0, 1, 1, 0, 0, 0], np.r_[0.0, 0, 0, 1, 1, 1]), 4)
    0.8889
    """
    levels, codes = np.unique(y, return_inverse=True)
    return _cliffs_delta_coded(codes, len(levels), w_tool, w_strategy)


def _cliffs_delta_coded(codes: np.ndarray, n_levels: int, w_tool: np.ndarray, w_strategy: np.ndarray) -> float:
    """:func:`cliffs_delta` of answers given as indices into their sorted distinct values."""
    wt = np.bincount(codes, weights=w_tool, minlength=n_levels)
    ws = np.bincount(codes, weights=w_strategy, minlength=n_levels)
    total = wt.sum() * ws.sum()
    if total == 0:
        return math.nan
    below = np.cumsum(ws) - ws  # strategy-first weight strictly below each level
    above = ws.sum() - np.cumsum(ws)
    return float((np.sum(wt * below) - np.sum(wt * above)) / total)


def risk_difference(y: np.ndarray, w_tool: np.ndarray, w_strategy: np.ndarray) -> float:
    """Share answering yes (1) in tool-first minus in strategy-first.

    Examples
    --------
    >>> risk_difference(np.array([1.0, 1, 0, 1, 0, 0]), np.r_[1.0, 1, 1, 0, 0, 0], np.r_[0.0, 0, 0, 1, 1, 1])
    0.3333333333333333
    """
    return mean_difference(y, w_tool, w_strategy)


STATISTICS: dict[str, Callable] = {"mean difference": mean_difference, "Hedges' g": hedges_g,
                                   "Cliff's delta": cliffs_delta, "risk difference": risk_difference}
_BOUNDED = {"Cliff's delta": (-1.0, 1.0), "risk difference": (-1.0, 1.0)}


# --- cluster-aware interval and p-value ---------------------------------------------

@dataclass
class _Cell:
    """One outcome's answers with what the resampling needs."""

    y: np.ndarray
    session: np.ndarray  # per person, index into sessions
    tool: np.ndarray  # per session: assigned tool-first?
    posteriors: np.ndarray | None = None  # people x profiles, for the BCH correction
    _bch: dict | None = None

    @cached_property
    def levels(self) -> tuple[np.ndarray, int]:
        """The answers as indices into their sorted distinct values, and how many there are (Cliff's delta)."""
        levels, codes = np.unique(self.y, return_inverse=True)
        return codes, len(levels)

    def corrected(self, keep: np.ndarray) -> np.ndarray:
        """BCH weights estimated from the people in the kept sessions (cached per session set)."""
        key = keep.tobytes()
        if self._bch is None:
            self._bch = {}
        if key not in self._bch:
            self._bch[key] = bch_weights(self.posteriors * keep[self.session][:, None])
        return self._bch[key]


def _effect(stat: Callable, cell: _Cell, weights: list, keep: np.ndarray, tool: np.ndarray,
            columns: list | None = None) -> float:
    """The statistic for one weight vector, or the difference of two (interaction).

    With ``columns`` (profile indices into ``cell.posteriors``) the weights are
    the BCH-corrected ones, re-estimated from the kept sessions.
    """
    on = keep[cell.session]
    t = tool[cell.session]
    if columns is not None:
        corrected = cell.corrected(keep)
        weights = [corrected[:, j] for j in columns]
    values = []
    for w in weights:
        wt, ws = w * (on & t), w * (on & ~t)
        if not (wt.sum() > 0 and ws.sum() > 0):
            return math.nan
        # Cliff's delta from the cell's coded answers: the same sums, without sorting the answers each time
        values.append(_cliffs_delta_coded(*cell.levels, wt, ws) if stat is cliffs_delta else stat(cell.y, wt, ws))
    return values[0] if len(values) == 1 else values[0] - values[1]


def jackknife_interval(func: Callable[[np.ndarray], float], tool: np.ndarray, contributing: np.ndarray,
                       estimate: float, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """Delete-one-session jackknife interval, sessions resampled within their arm.

    ``var = sum over arms of (G_a - 1) / G_a * sum_k (theta_(k) - mean_a)^2``
    over the ``G_a`` contributing sessions of arm ``a``, and the interval is
    ``estimate +- t(G - 2) * sqrt(var)``. For a mean difference with sessions
    of equal size this is exactly the unequal-variance t interval on session
    means.

    Parameters
    ----------
    func : callable
        ``func(keep)`` -> the statistic computed without the sessions where
        ``keep`` is False.
    tool, contributing : numpy.ndarray of bool
        Per session: tool-first arm; has data for this statistic.
    estimate : float
    confidence : float

    Returns
    -------
    (low, high, standard error, degrees of freedom); NaN when an arm has
    fewer than 2 sessions.

    Examples
    --------
    Each "session" a single value: the standard error is Welch's.

    >>> x = np.array([5.0, 7, 9, 1, 2, 6])
    >>> tool = np.array([True, True, True, False, False, False])
    >>> func = lambda keep: x[keep & tool].mean() - x[keep & ~tool].mean()
    >>> lo, hi, se, df = jackknife_interval(func, tool, np.ones(6, bool), func(np.ones(6, bool)))
    >>> round(se, 4), round(math.sqrt(x[:3].var(ddof=1) / 3 + x[3:].var(ddof=1) / 3), 4)
    (1.9149, 1.9149)
    """
    var = 0.0
    for arm in (True, False):
        idx = np.flatnonzero(contributing & (tool == arm))
        if len(idx) < 2:
            return math.nan, math.nan, math.nan, 0
        reps = []
        for k in idx:
            keep = np.ones(len(tool), bool)
            keep[k] = False
            reps.append(func(keep))
        reps = np.asarray(reps)
        if np.isnan(reps).any():
            return math.nan, math.nan, math.nan, 0
        var += (len(idx) - 1) / len(idx) * np.sum((reps - reps.mean()) ** 2)
    df = int(contributing.sum()) - 2
    se = math.sqrt(var)
    half = stats.t.ppf(0.5 + confidence / 2, df) * se
    return estimate - half, estimate + half, se, df


def session_permutation_p(func: Callable[[np.ndarray], float], tool: np.ndarray, *,
                          n_resamples: int = 9999, seed=None) -> tuple[float, float]:
    """Two-sided permutation p-value of a statistic, entry point permuted over sessions.

    Uses :func:`scipy.stats.permutation_test` on the session labels; all
    assignments are enumerated when there are at most ``n_resamples``.
    Returns ``(p, smallest attainable p)``: with 3 + 3 sessions there are 20
    assignments and each has a mirror (arms swapped, effect negated), so no
    two-sided p can be below 2/20 = 0.1.

    Parameters
    ----------
    func : callable
        ``func(tool)`` -> statistic when the sessions flagged in ``tool`` are
        tool-first.
    tool : numpy.ndarray of bool
        The assignment that happened.

    Examples
    --------
    >>> x = np.array([5.0, 7, 9, 1, 2, 3])
    >>> session_permutation_p(lambda t: x[t].mean() - x[~t].mean(), np.arange(6) < 3)
    (0.1, 0.1)
    """
    ids = np.arange(len(tool))

    def statistic(a, b):
        assign = np.zeros(len(tool), bool)
        assign[np.asarray(a, dtype=int)] = True
        value = func(assign)
        return abs(value) if not math.isnan(value) else -math.inf

    res = stats.permutation_test((ids[tool], ids[~tool]), statistic, permutation_type="independent",
                                 vectorized=False, n_resamples=n_resamples, alternative="greater", rng=seed)
    null = np.asarray(res.null_distribution)
    exact = math.comb(len(tool), int(tool.sum())) <= n_resamples
    # the p-value of an observation beyond every assignment: ties with the mirror
    # assignment (arms swapped negates the effect) keep it at 2/20 for 3 + 3 sessions
    p_min = float(np.mean(null >= null.max())) if exact else 1 / (n_resamples + 1)
    return float(res.pvalue), p_min


# --- the comparison -----------------------------------------------------------------

def _profile_weights(scores: pd.DataFrame, posteriors: pd.DataFrame | None) -> dict[str, np.ndarray]:
    weights = {"all": np.ones(len(scores))}
    if posteriors is None:
        return weights
    post = check_posteriors(posteriors)
    if not post.index.isin(scores.index).any():
        raise ValueError("no participant of the posteriors is in the data (are they from this study?)")
    aligned = post.reindex(scores.index).fillna(0.0)
    for name in post.columns:
        weights[str(name)] = aligned[name].to_numpy(float)
    return weights


def entry_point_effects(scores: pd.DataFrame, *, outcomes: Iterable[Outcome],
                        posteriors: pd.DataFrame | None = None, confidence: float = CONFIDENCE,
                        min_n: int = MIN_N, min_sessions: int = MIN_SESSIONS,
                        n_resamples: int = 9999, seed: int | None = 0,
                        adjust: str = ADJUSTMENT, correction: str = CORRECTION) -> pd.DataFrame:
    """Entry-point effects with intervals and p-values: overall, per profile, interactions.

    Parameters
    ----------
    scores : pandas.DataFrame
        From :func:`outcome_scores`.
    outcomes : iterable of Outcome
        From :func:`find_outcomes` (their names are columns of ``scores``).
    posteriors : pandas.DataFrame, optional
        Profile posteriors (see :func:`check_posteriors`). Without them only
        the overall rows are made. Participants absent from the posteriors
        count in the overall rows only.
    confidence : float
        Interval level.
    min_n, min_sessions : int
        A cell (profile x arm) with fewer people or sessions is "too few to
        interpret": no p-value.
    n_resamples, seed :
        Random permutations and their seed, used only when the sessions allow
        more assignments than ``n_resamples``; otherwise the test is exact.
    adjust : str
        A ``statsmodels`` ``multipletests`` method, applied within each family.
    correction : {"bch", "none"}
        Per-profile and interaction estimates corrected for classification
        error (BCH, :func:`bch_weights`) or plain posterior-weighted. The
        other one's estimate and interval are kept in the ``*_uncorrected``
        columns (equal to the main ones with ``"none"`` and overall).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`: ``outcome``, ``profile`` ("all", a profile,
        or "A minus B" for an interaction), ``effect_type``, ``estimate``,
        ``ci_low``, ``ci_high``, ``p``, ``p_adjusted``, ``n_strategy_first``,
        ``n_tool_first``, ``sessions_strategy_first``,
        ``sessions_tool_first``, ``interpretable`` ("yes"/"no"),
        ``comparison`` ("overall", "profile", "interaction"), ``kind``,
        ``family``, ``p_min`` (smallest p the design allows), ``note``,
        ``estimate_uncorrected``, ``ci_low_uncorrected``,
        ``ci_high_uncorrected`` and ``correction``.
        The contrast, methods and adjustment are in ``.attrs``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> s = pd.DataFrame({"workshop": np.repeat(list("abcdef"), 20),
    ...                   "entry_point": np.repeat(["tool-first", "strategy-first"] * 3, 20)})
    >>> s["y"] = rng.normal(size=120) + (s["entry_point"] == "tool-first")
    >>> e = entry_point_effects(s, outcomes=[Outcome("y", "interval", "f", "y", ("y",))])
    >>> e[["profile", "effect_type", "n_tool_first", "sessions_tool_first", "p"]]
      profile      effect_type  n_tool_first  sessions_tool_first    p
    0     all  mean difference            60                    3  0.1
    1     all        Hedges' g            60                    3  0.1
    >>> bool(e.loc[0, "ci_low"] < e.loc[0, "estimate"] < e.loc[0, "ci_high"])
    True
    """
    outcomes = list(outcomes)
    _check_correction(correction)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie between 0 and 1, got {confidence}")
    for col in ("workshop", "entry_point"):
        if col not in scores.columns:
            raise ValueError(f"scores need a {col!r} column (from outcome_scores)")
    unknown = set(scores["entry_point"].dropna()) - set(ARMS)
    if unknown:
        raise ValueError(f"entry_point must be one of {ARMS}, found {sorted(unknown)}")
    sessions = pd.Index(sorted(scores["workshop"].dropna().unique()))
    arm_of = scores.groupby("workshop")["entry_point"].agg(lambda a: set(a))
    mixed = [s for s, a in arm_of.items() if len(a) > 1]
    if mixed:
        raise ValueError(f"session {mixed[0]!r} has more than one entry point; the design needs one per session")
    tool = np.array([next(iter(arm_of[s])) == "tool-first" for s in sessions])
    weights = _profile_weights(scores, posteriors)
    profiles = [k for k in weights if k != "all"]
    post = np.column_stack([weights[k] for k in profiles]) if profiles else None
    fix = correction == "bch"
    rows = []
    for o in outcomes:
        if o.name not in scores.columns:
            raise ValueError(f"scores have no column for outcome {o.name!r}")
        answered = scores[o.name].notna().to_numpy() & scores["workshop"].notna().to_numpy()
        cell = _Cell(scores[o.name].to_numpy(float)[answered],
                     sessions.get_indexer(scores["workshop"][answered]), tool,
                     None if post is None else post[answered])
        w = {k: v[answered] for k, v in weights.items()}
        for name in ["all"] + profiles:
            rows += _rows(o, cell, [w[name]], name, "overall" if name == "all" else "profile",
                          confidence, min_n, min_sessions, n_resamples, seed,
                          [profiles.index(name)] if fix and name != "all" else None, correction)
        for i, a in enumerate(profiles):
            for j in range(i + 1, len(profiles)):
                b = profiles[j]
                rows += _rows(o, cell, [w[a], w[b]], f"{a} minus {b}", "interaction",
                              confidence, min_n, min_sessions, n_resamples, seed, [i, j] if fix else None,
                              correction)
    out = _adjust(pd.DataFrame(rows, columns=COLUMNS + ["_tested"]), adjust)
    out.attrs.update({"contrast": CONTRAST, "interval": f"{confidence:.0%} {CI_METHOD}",
                      "p": P_METHOD, "adjustment": f"{adjust} within family",
                      "profiles": f"{PROFILE_METHOD}, {CORRECTION_METHOD[correction]}",
                      "correction": correction, "min_n": min_n, "min_sessions": min_sessions})
    return out


def _rows(o: Outcome, cell: _Cell, weights: list, profile: str, comparison: str, confidence: float,
          min_n: int, min_sessions: int, n_resamples: int, seed, columns: list | None = None,
          correction: str = CORRECTION) -> list[dict]:
    n_sessions = len(cell.tool)
    # per session and weight vector: weighted people with an answer
    per_session = np.array([np.bincount(cell.session, weights=w, minlength=n_sessions) for w in weights])
    contributing = (per_session >= 1).all(axis=0)
    n_tool = per_session[:, cell.tool].sum(axis=1)
    n_strategy = per_session[:, ~cell.tool].sum(axis=1)
    s_tool, s_strategy = int((contributing & cell.tool).sum()), int((contributing & ~cell.tool).sum())
    ok = bool(min(n_tool.min(), n_strategy.min()) >= min_n and min(s_tool, s_strategy) >= min_sessions)
    family = f"{o.family} | {'interaction' if comparison == 'interaction' else profile}"
    out = []
    p = p_min = math.nan
    types = EFFECT_TYPES[o.kind][:1] if comparison == "interaction" else EFFECT_TYPES[o.kind]
    for k, effect_type in enumerate(types):
        stat = STATISTICS[effect_type]
        everyone = np.ones(n_sessions, bool)
        estimate = _effect(stat, cell, weights, everyone, cell.tool, columns)
        low, high, se, df = jackknife_interval(lambda keep: _effect(stat, cell, weights, keep, cell.tool, columns),
                                               cell.tool, contributing, estimate, confidence)
        p_jack = float(2 * stats.t.sf(abs(estimate / se), df)) if se > 0 else math.nan
        if columns is None:  # uncorrected: the main row is the comparison row
            raw, raw_low, raw_high = estimate, low, high
        else:
            raw = _effect(stat, cell, weights, everyone, cell.tool)
            raw_low, raw_high, _, _ = jackknife_interval(
                lambda keep: _effect(stat, cell, weights, keep, cell.tool), cell.tool, contributing, raw, confidence)
        if effect_type in _BOUNDED and comparison != "interaction":
            lo_b, hi_b = _BOUNDED[effect_type]
            low, high = max(low, lo_b), min(high, hi_b)
            raw_low, raw_high = max(raw_low, lo_b), min(raw_high, hi_b)
        if k == 0:
            p, p_min = session_permutation_p(lambda t: _effect(stat, cell, weights, everyone, t, columns),
                                             cell.tool, n_resamples=n_resamples, seed=seed)
        note = "" if ok else TOO_FEW
        if ok and k > 0:
            note = f"p of the {EFFECT_TYPES[o.kind][0]}"
        out.append({"outcome": o.name, "profile": profile, "effect_type": effect_type, "estimate": estimate,
                    "ci_low": low, "ci_high": high, "p": p if ok else math.nan, "p_adjusted": math.nan,
                    "n_strategy_first": int(round(n_strategy.min() if len(weights) == 1 else n_strategy.sum())),
                    "n_tool_first": int(round(n_tool.min() if len(weights) == 1 else n_tool.sum())),
                    "sessions_strategy_first": s_strategy, "sessions_tool_first": s_tool,
                    "interpretable": "yes" if ok else "no", "comparison": comparison, "kind": o.kind,
                    "family": family, "p_min": p_min,
                    "p_jackknife": p_jack if ok else math.nan, "note": note,
                    "estimate_uncorrected": raw, "ci_low_uncorrected": raw_low, "ci_high_uncorrected": raw_high,
                    "correction": correction if comparison != "overall" else "none", "_tested": k == 0})
    return out


def _adjust(effects: pd.DataFrame, method: str) -> pd.DataFrame:
    out = effects.copy()
    tested = out["_tested"] & out["p"].notna()
    for _, idx in out[tested].groupby("family").groups.items():
        out.loc[idx, "p_adjusted"] = _multipletests(out.loc[idx, "p"].to_numpy(float), method)
    # a secondary effect type (Hedges' g) shares the test of its primary row
    primary = out[tested].set_index(["outcome", "profile"])["p_adjusted"]
    secondary = ~out["_tested"] & out["p"].notna()
    keys = pd.MultiIndex.from_arrays([out.loc[secondary, "outcome"], out.loc[secondary, "profile"]])
    out.loc[secondary, "p_adjusted"] = primary.reindex(keys).to_numpy()
    return out.drop(columns="_tested")


def holm(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values (step-down, capped at 1), as ``multipletests(p, method="holm")[1]``.

    ``statsmodels`` runs a full garbage collection on every call of its Holm method, which costs
    seconds per study when a large study's responses are in memory; this is the same arithmetic
    (checked against ``statsmodels`` in the tests).

    Examples
    --------
    >>> holm(np.array([0.01, 0.04, 0.03, 0.2])).round(2).tolist()
    [0.04, 0.09, 0.09, 0.2]
    """
    p = np.asarray(p, float)
    order = np.argsort(p)
    adjusted = np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1))
    adjusted[adjusted > 1] = 1
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return out


def _multipletests(p: np.ndarray, method: str) -> np.ndarray:
    return holm(p) if method.lower() in ("h", "holm") else multipletests(p, method=method)[1]


# --- a whole study ---------------------------------------------------------------------------

def compare_study(processed, posteriors: pd.DataFrame | None = None, **options) -> pd.DataFrame:
    """:func:`entry_point_effects` of a processed study, outcomes from its codebook.

    Parameters
    ----------
    processed : analysis.protect.ProcessedStudy
    posteriors : pandas.DataFrame, optional
        Profile posteriors (e.g. from the profiles stage).
    **options
        Passed to :func:`entry_point_effects`.
    """
    outcomes = find_outcomes(processed.study.codebook)
    scores = outcome_scores(processed.data, outcomes)
    return entry_point_effects(scores, outcomes=outcomes, posteriors=posteriors, **options)
