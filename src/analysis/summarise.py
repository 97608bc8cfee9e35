"""Summarise stage: plain-language findings and display tables, made from stored results.

Statistics modules compute; this module words and arranges what they
computed, for notebooks and reports: data-quality tables, the comparison's
plain summary and display tables, the profiles' cautions. Every sentence that
depends on a setting or on the study is made from them, never typed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from analysis.codebook import Study
from analysis.compare import (ADJUSTMENT, ARMS, CI_METHOD, COLUMNS, CONFIDENCE, CONTRAST, EFFECT_TYPES, MIN_N,
                              MIN_SESSIONS, P_METHOD, PROFILE_METHOD, TOO_FEW)
from analysis.profiles import ENTROPY_CAUTION, SURE_POSTERIOR, SURE_SHARE_CAUTION, assignment_certainty


# --- data quality ------------------------------------------------------------------


def source_table(summary: dict) -> pd.DataFrame:
    """One row per source: wave, format, rows in/clean/quarantined, by reason.

    Examples
    --------
    >>> source_table({"sources": [{"source": "a.csv", "wave": "pre", "format": "csv", "rows_in": 3,
    ...     "rows_clean": 2, "rows_quarantined": 1, "quarantined_by_reason": {"empty": 1}}]})
      source wave format  rows_in  rows_clean  rows_quarantined  empty
    0  a.csv  pre    csv        3           2                 1      1
    """
    rows = [{k: v for k, v in s.items() if k != "quarantined_by_reason"} | s["quarantined_by_reason"]
            for s in summary["sources"]]
    return pd.DataFrame(rows).fillna(0).astype({c: int for c in pd.DataFrame(rows).columns
                                                if c not in ("source", "wave", "format")})


def wave_table(data: pd.DataFrame, *, participant: str = "participant", wave: str = "wave") -> pd.DataFrame:
    """Participants per wave and how many of them also answered the first wave.

    Returns
    -------
    pandas.DataFrame
        ``wave``, ``participants``, ``linked_to_first_wave``, ``share_linked``.

    Examples
    --------
    >>> d = pd.DataFrame({"participant": ["a", "b", "a", "c"], "wave": ["pre", "pre", "post", "post"]})
    >>> wave_table(d)
       wave  participants  linked_to_first_wave  share_linked
    0   pre             2                     2           1.0
    1  post             2                     1           0.5
    """
    column = data[wave]
    waves = list(column.cat.categories) if isinstance(column.dtype, pd.CategoricalDtype) else list(dict.fromkeys(column))
    first = set(data.loc[column == waves[0], participant])
    rows = []
    for w in waves:
        ids = set(data.loc[column == w, participant])
        rows.append({"wave": w, "participants": len(ids), "linked_to_first_wave": len(ids & first),
                     "share_linked": round(len(ids & first) / len(ids), 3) if ids else np.nan})
    return pd.DataFrame(rows)


def missingness(data: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Share of missing answers per item and wave, split by why.

    Returns
    -------
    pandas.DataFrame
        One row per (wave, variable) asked in that wave: ``n`` rows, then the
        share of ``answered``, ``blank``, each missing code, ``invalid``.
    """
    rows = []
    for var in study.codebook.by_role("item"):
        for wave in var.waves:
            sel = data.loc[data["wave"] == wave, f"{var.name}_missing"]
            if sel.empty:
                continue
            counts = sel.astype("object").fillna("answered").value_counts()
            rows.append({"wave": wave, "variable": var.name, "n": len(sel)}
                        | {k: round(v / len(sel), 4) for k, v in counts.items()})
    table = pd.DataFrame(rows).fillna(0.0)
    # blank and invalid are always reported, and every missing code of the scales, answered or not
    reasons = {"blank", "invalid"} | {r for v in study.codebook.by_role("item") for r in v.scale.missing}
    reasons |= {c for c in table.columns if c not in ("wave", "variable", "n", "answered")}
    for reason in reasons - set(table.columns):
        table[reason] = 0.0
    if "answered" not in table:
        table["answered"] = 0.0
    return table[["wave", "variable", "n", "answered"] + sorted(reasons)]


# --- the entry-point comparison -------------------------------------------------------

def methods_text(effects: pd.DataFrame) -> str:
    """The methods behind an effects table, in a few plain lines.

    Examples
    --------
    >>> print(methods_text(pd.DataFrame(columns=COLUMNS)).splitlines()[0])
    Every effect is tool-first minus strategy-first: above 0 means tool-first scored higher.
    """
    a = effects.attrs
    return "\n".join([
        f"Every effect is {CONTRAST}: above 0 means tool-first scored higher.",
        f"Intervals: {a.get('interval', f'{CONFIDENCE:.0%} {CI_METHOD}')}.",
        f"p-values: {P_METHOD}; adjusted with {a.get('adjustment', ADJUSTMENT + ' within family')}.",
        f"Profiles: every person weighted by their posterior probability of the profile ({PROFILE_METHOD}).",
        f"Cells with fewer than {a.get('min_n', MIN_N)} people or {a.get('min_sessions', MIN_SESSIONS)} "
        f"sessions in an arm are '{TOO_FEW}' and show no p-value.",
    ])


_UNITS = {"mean difference": "points", "risk difference": "percentage points", "Cliff's delta": "",
          "Hedges' g": "standard deviations"}


def _fmt(value: float, scale: float) -> str:
    return f"{scale * value:+.{0 if scale >= 100 else 2}f}"


def _interval(row, scale: float) -> str:
    digits = 0 if scale >= 100 else 2
    return f"{scale * row['ci_low']:.{digits}f} to {scale * row['ci_high']:.{digits}f}"


def _verdict(row, positive: str = "tool-first ahead", negative: str = "strategy-first ahead") -> str:
    if row["interpretable"] != "yes":
        return TOO_FEW
    if row["ci_low"] > 0:
        return positive
    if row["ci_high"] < 0:
        return negative
    return "no clear difference (the interval includes 0)"


def plain_summary(effects: pd.DataFrame, outcome: str = "confidence", *, label: str | None = None,
                  unit: str | None = None, scale: float | None = None) -> str:
    """A short plain-language summary of one outcome, generated from the numbers.

    Parameters
    ----------
    effects : pandas.DataFrame
        From :func:`entry_point_effects`.
    outcome : str
        Which outcome to summarise.
    label : str, optional
        How to name the outcome in the text (default: its name).
    unit, scale : optional
        Unit of the effect in words and the factor to show it in (default:
        "points" for a mean difference; "percentage points" and 100 for a
        risk difference). For a share, ``unit="percentage points",
        scale=100``.

    Examples
    --------
    >>> e = pd.DataFrame([{"outcome": "y", "profile": "all", "effect_type": "mean difference",
    ...                    "estimate": 0.3, "ci_low": 0.1, "ci_high": 0.5, "p": 0.05, "p_adjusted": 0.05,
    ...                    "n_strategy_first": 60, "n_tool_first": 58, "sessions_strategy_first": 3,
    ...                    "sessions_tool_first": 3, "interpretable": "yes", "comparison": "overall",
    ...                    "kind": "interval", "family": "f", "p_min": 0.05, "note": ""}])
    >>> print(plain_summary(e, "y"))  # doctest: +NORMALIZE_WHITESPACE
    y, tool-first minus strategy-first (95% intervals; 3 + 3 sessions):
    - Everyone (58 tool-first, 60 strategy-first): +0.30 points (0.10 to 0.50): tool-first ahead.
    With 3 sessions per arm the smallest possible p-value is 0.05, so read the intervals, not the p-values.
    Each interval stands on its own: with this many comparisons, one that just excludes zero can be chance;
    the adjusted p-values in the tables take the number of comparisons into account.
    """
    sel = effects[(effects["outcome"] == outcome)]
    if sel.empty:
        raise ValueError(f"no effects for outcome {outcome!r}")
    primary = EFFECT_TYPES[sel["kind"].iloc[0]][0]
    sel = sel[sel["effect_type"] == primary]
    if unit is None:
        unit = _UNITS[primary]
    if scale is None:
        scale = 100 if primary == "risk difference" else 1
    overall = sel[sel["comparison"] == "overall"].iloc[0]
    lines = [f"{label or outcome}, {CONTRAST} ({CONFIDENCE:.0%} intervals; "
             f"{overall['sessions_tool_first']} + {overall['sessions_strategy_first']} sessions):"]

    def effect_line(name, row):
        return (f"- {name} ({row['n_tool_first']} tool-first, {row['n_strategy_first']} strategy-first): "
                f"{_fmt(row['estimate'], scale)}{' ' + unit if unit else ''} ({_interval(row, scale)}): "
                f"{_verdict(row)}.")

    lines.append(effect_line("Everyone", overall))
    for _, row in sel[sel["comparison"] == "profile"].iterrows():
        lines.append(effect_line(f"'{row['profile']}'", row))
    inter = sel[sel["comparison"] == "interaction"]
    if len(inter):
        lines.append("Does the better entry point depend on the profile? Difference between profiles in the effect:")
        for _, row in inter.iterrows():
            a, b = row["profile"].split(" minus ")
            verdict = _verdict(row, f"tool-first suits '{a}' better than '{b}'",
                               f"tool-first suits '{b}' better than '{a}'")
            lines.append(f"- '{a}' vs '{b}': {_fmt(row['estimate'], scale)}{' ' + unit if unit else ''} "
                         f"({_interval(row, scale)}): {verdict}.")
    p_min = float(overall["p_min"])
    if not math.isnan(p_min) and p_min >= 0.01:
        lines.append(f"With {min(overall['sessions_tool_first'], overall['sessions_strategy_first'])} sessions "
                     f"per arm the smallest possible p-value is {p_min:.2g}, so read the intervals, "
                     "not the p-values.")
    lines.append("Each interval stands on its own: with this many comparisons, one that just excludes zero "
                 "can be chance; the adjusted p-values in the tables take the number of comparisons into account.")
    return "\n".join(lines)


def display_table(effects: pd.DataFrame, *, comparison: str | None = None, outcomes: Iterable[str] | None = None,
                  family: str | None = None, primary_only: bool = True, digits: int = 2) -> pd.DataFrame:
    """A rounded, readable selection of an effects table (for notebooks and reports).

    Parameters
    ----------
    effects : pandas.DataFrame
        From :func:`entry_point_effects`.
    comparison : {"overall", "profile", "interaction"}, optional
    outcomes : iterable of str, optional
        Keep these outcomes, in this order.
    family : str, optional
        Keep rows whose family starts with this (e.g. ``"confidence items"``).
    primary_only : bool
        Only the tested effect type of each outcome (drops Hedges' g).
    digits : int

    Returns
    -------
    pandas.DataFrame
        Columns ``outcome``, ``profile``, ``effect``, ``estimate``, ``95% CI``,
        ``p``, ``p adjusted``, ``n tool-first``, ``n strategy-first``,
        ``sessions (tool + strategy)``, ``interpretable``.

    Examples
    --------
    >>> e = pd.DataFrame([{"outcome": "y", "profile": "all", "effect_type": "mean difference",
    ...                    "estimate": 0.31234, "ci_low": 0.1, "ci_high": 0.5, "p": 0.1, "p_adjusted": 0.3,
    ...                    "n_strategy_first": 60, "n_tool_first": 58, "sessions_strategy_first": 3,
    ...                    "sessions_tool_first": 3, "interpretable": "yes", "comparison": "overall",
    ...                    "kind": "interval", "family": "f | all", "p_min": 0.1, "p_jackknife": 0.02, "note": ""}])
    >>> display_table(e).iloc[0].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'outcome': 'y', 'profile': 'all', 'effect': 'mean difference', 'estimate': 0.31, '95% CI': '[0.10, 0.50]',
     'p': 0.1, 'p adjusted': 0.3, 'n tool-first': 58, 'n strategy-first': 60, 'sessions (tool + strategy)': '3 + 3',
     'interpretable': 'yes'}
    """
    sel = effects
    if comparison is not None:
        sel = sel[sel["comparison"] == comparison]
    if family is not None:
        sel = sel[sel["family"].str.startswith(family)]
    if primary_only:
        sel = sel[[t == EFFECT_TYPES[k][0] for t, k in zip(sel["effect_type"], sel["kind"])]]
    if outcomes is not None:
        order = {o: i for i, o in enumerate(outcomes)}
        sel = sel[sel["outcome"].isin(order)]
        sel = sel.iloc[np.argsort([order[o] for o in sel["outcome"]], kind="stable")]
    return pd.DataFrame({
        "outcome": sel["outcome"].to_numpy(), "profile": sel["profile"].to_numpy(),
        "effect": sel["effect_type"].to_numpy(), "estimate": sel["estimate"].round(digits).to_numpy(),
        "95% CI": [f"[{lo:.{digits}f}, {hi:.{digits}f}]" for lo, hi in zip(sel["ci_low"], sel["ci_high"])],
        "p": sel["p"].round(digits).to_numpy(), "p adjusted": sel["p_adjusted"].round(digits).to_numpy(),
        "n tool-first": sel["n_tool_first"].to_numpy(), "n strategy-first": sel["n_strategy_first"].to_numpy(),
        "sessions (tool + strategy)": [f"{t} + {s}" for t, s in zip(sel["sessions_tool_first"], sel["sessions_strategy_first"])],
        "interpretable": sel["interpretable"].to_numpy()})


# --- tables behind the figures -----------------------------------------------------------

def likert_counts(data: pd.DataFrame, variables: Iterable[str], *, codebook) -> pd.DataFrame:
    """Answers per level, "don't know" and N/A, per item and entry point.

    Blanks and invalid answers are not counted. ``n`` is the number of
    answers on the scale (the base of the percentages in
    :func:`analysis.plots.likert_bars`).

    Parameters
    ----------
    data : pandas.DataFrame
        Processed data (``entry_point``, ``<var>_code``, ``<var>_missing``).
    variables : iterable of str
        Likert items sharing one scale.
    codebook : analysis.codebook.Codebook

    Returns
    -------
    pandas.DataFrame
        Columns ``variable``, ``entry_point``, one column per scale label
        (counts), ``dont_know``, ``not_applicable``, ``n``.

    Examples
    --------
    >>> from analysis.codebook import load_codebook
    >>> from analysis.paths import SAMPLE_DIR
    >>> cb = load_codebook(SAMPLE_DIR / "codebook.yaml")
    >>> d = pd.DataFrame({"entry_point": ["tool-first", "tool-first", "strategy-first"],
    ...                   "satisfaction_code": pd.array([5, None, 2], dtype="Int64"),
    ...                   "satisfaction_missing": [None, "dont_know", None]})
    >>> likert_counts(d, ["satisfaction"], codebook=cb).iloc[:, [0, 1, 3, 6, 7, 9]]
           variable     entry_point  Dissatisfied  Very satisfied  dont_know  n
    0  satisfaction  strategy-first             1               0          0  1
    1  satisfaction      tool-first             0               1          1  1
    """
    variables = list(variables)
    scales = {codebook.variables[v].scale.name for v in variables}
    if len(scales) != 1:
        raise ValueError(f"the items must share one scale, found {sorted(scales)}")
    scale = codebook.variables[variables[0]].scale
    rows = []
    for v in variables:
        for arm in ARMS:
            sel = data[data["entry_point"] == arm]
            codes = pd.to_numeric(sel[f"{v}_code"], errors="coerce")
            reasons = sel[f"{v}_missing"].astype("object") if f"{v}_missing" in sel else pd.Series(dtype=object)
            row = {"variable": v, "entry_point": arm}
            for (code, _), label in zip(scale.levels, scale.labels):
                row[label] = int((codes == code).sum())
            row["dont_know"] = int((reasons == "dont_know").sum())
            row["not_applicable"] = int((reasons == "not_applicable").sum())
            row["n"] = int(codes.notna().sum())
            rows.append(row)
    return pd.DataFrame(rows)


_STRATEGY_WORDS = re.compile(r"^(post_conf|post_int|adopt|pre_conf)_")


def item_label(variable: str) -> str:
    """Short label of an outcome item for figures.

    Examples
    --------
    >>> item_label("post_conf_networking")
    'networking'
    """
    return _STRATEGY_WORDS.sub("", variable).replace("_", " ")


# --- readiness profiles ------------------------------------------------------------------

_VERDICT_PHRASES = {"dissolves": "dissolves when the data are resampled", "doubtful": "is doubtful",
                    "stable, not in every resample": "is stable on average but not in every resample"}


def cautions(result: ProfileResult, stab: Stability | None = None) -> list[str]:
    """Plain-language warnings about a solution; empty when nothing calls for care.

    Warns when no profiles were found (k = 1), when a solution with more
    profiles had a lower BIC but a too small profile, when a profile is not
    stable in every resample (mean Jaccard < 0.75, or its 2.5% quantile below
    0.75), when the entropy is below 0.8, and when fewer than 80% of
    participants have a profile probability of at least 0.8.
    """
    out = []
    fit = result.fit
    chosen = fit[fit["chosen"]].iloc[0]
    if result.k == 1:
        out.append("No distinct profiles: one group describes these participants best.")
    better = fit[(fit["bic"] < chosen["bic"]) & fit["small_profile"]]
    if len(better):
        row = better.sort_values("bic").iloc[0]
        out.append(f"A {row['k']}-profile solution ({row['model']}) fitted better but had a profile of only "
                   f"{row['smallest_n']} participants; it was not chosen.")
    if stab is not None and result.k > 1:
        for _, row in stab.per_profile.iterrows():
            if row["verdict"] != "stable":
                out.append(f"Profile {row['profile']!r} {_VERDICT_PHRASES[row['verdict']]} (mean Jaccard "
                           f"{row['jaccard']:.2f}, lowest 2.5% {row['jaccard_low']:.2f}, "
                           f"over {stab.resamples} resamples).")
    entropy = chosen["entropy"]
    if result.k > 1 and entropy < ENTROPY_CAUTION:
        out.append(f"Profiles overlap: entropy {entropy:.2f} is below {ENTROPY_CAUTION}.")
    certainty = assignment_certainty(result)
    sure = float(certainty["share_sure"].iloc[-1])
    if result.k > 1 and sure < SURE_SHARE_CAUTION:
        out.append(f"Only {sure:.0%} of participants belong to their profile with probability >= {SURE_POSTERIOR}.")
    return out
