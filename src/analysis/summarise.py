"""Summarise stage: plain-language findings and display tables, made from stored results.

Statistics modules compute; this module words and arranges what they
computed, for notebooks and reports: data-quality tables, reliability and fit
tables, the comparison's plain summary and display tables, the profiles'
cautions, and what a study lacks when a stage could not run. Every sentence
that depends on a setting or on the study is made from them, never typed.

Most functions take :class:`analysis.results.Results` (``res``); the table
builders underneath take plain frames and are tested on their own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from analysis.compare import (ADJUSTMENT, ARMS, CI_METHOD, CONTRAST, EFFECT_TYPES, P_METHOD, PROFILE_METHOD,
                              TOO_FEW)
from analysis.profiles import (CLOSE_CALL, DISSOLVED_JACCARD, ENTROPY_CAUTION, MARKED_Z, MIN_N as MIN_PROFILE_N,
                               MIN_SHARE, NAMED_PATTERNS, STABLE_JACCARD, SURE_POSTERIOR, SURE_SHARE_CAUTION)
from analysis.scales import default_min_items


class Text(str):
    """Markdown that a notebook shows as formatted text (and prints as itself)."""

    def _repr_markdown_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return str(self)


def _pct(x: float) -> str:
    """A share as a percentage without needless decimals.

    Examples
    --------
    >>> _pct(0.95), _pct(0.9), _pct(0.975)
    ('95%', '90%', '97.5%')
    """
    value = round(100 * x, 1)
    return f"{value:g}%"


def _count(n: int, one: str, many: str | None = None) -> str:
    """``n`` with its noun: "1 session", "3 sessions"."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _join(words: list[str]) -> str:
    """Words joined as a sentence: "a", "a and b", "a, b and c".

    Examples
    --------
    >>> _join(["tool skills"]), _join(["focus", "guts"]), _join(["a", "b", "c"])
    ('tool skills', 'focus and guts', 'a, b and c')
    """
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1] if words else ""


# --- what a study lacks ---------------------------------------------------------------

#: Per stage: what a report needs, and what to add to the study's files.
_HOW_TO_FIX = {
    "no_readiness": "Name the constructs that describe readiness in the study file, for example "
                    "`analysis: {{readiness: [tool_skills, focus, guts]}}`, using construct names of the codebook "
                    "whose items are asked in the baseline wave ({baseline}).",
    "no_constructs": "Give the items that measure one thing a shared `construct:` in the codebook "
                     "(for example `construct: tool_skills` on each tool-skills statement).",
    "too_few_scores": "Only {n} participants have a score on every readiness construct; a profile analysis needs "
                      "at least {needed}. Check that the readiness items are matched to the right columns, or "
                      "collect more responses.",
    "no_profiles": "Readiness profiles could not be made for this study (see the readiness profiles report).",
    "no_outcomes": "Declare what the workshop should change in the codebook's `outcomes:` section: per outcome "
                   "its items, asked after the workshop, and optionally its baseline items asked before "
                   "(see docs/codebook.md).",
    "no_entry_point": "Say which entry point each session used in the study file: `groups: {{entry_point: "
                      "{{from: workshop, map: {{\"<session as answered>\": strategy-first, ...}}}}}}`.",
    "no_sessions": "Name the variable that says which workshop session a person attended (`groups: {{workshop: "
                   "<variable>}}`): entry points are assigned per session, so the comparison needs the sessions.",
    "no_entry_point_data": "No participant has both a session and a mapped entry point: check that the entry-point "
                           "map lists the sessions as participants answered them (the change log lists answers "
                           "not in the map).",
    "mixed_sessions": "Session {session!r} has participants with different entry points. Each session must have "
                      "one entry point: check the entry-point question and the map.",
    "no_free_text": "Give the open questions of the exports `role: text` in the codebook (for example "
                    "`reflection: {{role: text, waves: [post], match: {{text: [\"What will you take away?\"]}}}}`); "
                    "their scrubbed answers are then coded.",
}
_LACKS = {
    "no_readiness": "This study declares no readiness constructs.",
    "no_constructs": "No item of this study's codebook is assigned to a construct.",
    "too_few_scores": "Too few participants have every readiness score.",
    "no_profiles": "This study has no readiness profiles.",
    "no_outcomes": "This study's codebook declares no outcomes to compare.",
    "no_entry_point": "This study does not say which entry point each session used.",
    "no_sessions": "This study does not say which session each participant attended.",
    "no_entry_point_data": "No participant could be linked to a session with an entry point.",
    "mixed_sessions": "A session has more than one entry point.",
    "no_free_text": "This study has no free-text answers to code.",
}


def why_not(why: str | None, detail: dict | None = None, *, baseline: str | None = None) -> Text:
    """What a study lacks for a stage, and how to add it, in two plain sentences.

    Examples
    --------
    >>> print(why_not("no_entry_point"))  # doctest: +ELLIPSIS
    This study does not say which entry point each session used. Say which entry point ...
    """
    import html

    # values come from the data (a session's name): escaped, as the text is shown as Markdown
    detail = {k: html.escape(v) if isinstance(v, str) else v for k, v in (detail or {}).items()}
    detail.setdefault("baseline", html.escape(baseline or "the first wave"))
    if why not in _LACKS:
        return Text("These results have not been made yet: run the pipeline on the study.")
    return Text(f"{_LACKS[why]} {_HOW_TO_FIX[why].format(**detail)}")


def stage_note(res, stage: str) -> Text:
    """Empty when ``stage`` ran; else what the study lacks (:func:`why_not`)."""
    if res.available(stage):
        return Text("")
    why, detail = res.why_not(stage)
    return why_not(why, detail, baseline=res.wave("baseline"))


# --- data quality ------------------------------------------------------------------

def overview(res) -> Text:
    """The study's title, how many people and responses were kept, and the waves with their roles."""
    summary = res.summary
    roles = {wave: role for role, wave in res.study["roles"].items() if wave}
    names = {"baseline": "before the workshop", "after": "right after it", "followup": "some weeks later"}
    waves = ", ".join(f"**{w}**" + (f" ({names[roles[w]]})" if w in roles else "") for w in res.study["waves"])
    kept = sum(s["rows_clean"] for s in summary["sources"])
    return Text(f"**{res.study['title']}**\n\n{summary['participants']} participants, {kept} survey responses "
                f"kept from {_count(len(summary['sources']), 'export')}. Waves: {waves}.")


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


def linking_text(res) -> Text:
    """How surveys are linked per person, in words that fit the study."""
    if not res.study["participant_key"]:
        return Text("This study names no identifier that links the surveys (`participant_key`), so every "
                    "response counts as its own participant and no one is linked across surveys.")
    first = res.study["waves"][0]
    return Text("Surveys are linked per person through their identifier (pseudonymised; capitals and spaces "
                f"ignored). *Linked to first wave* counts the people in a survey who also answered the first "
                f"one ({first}), so their answers can be compared.")


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


def missingness(data: pd.DataFrame, codebook) -> pd.DataFrame:
    """Share of missing answers per item and wave, split by why.

    Returns
    -------
    pandas.DataFrame
        One row per (wave, variable) asked in that wave: ``n`` rows, then the
        share of ``answered``, ``blank``, ``invalid`` and each missing code of
        the items' scales (such as ``dont_know``), answered or not.

    Examples
    --------
    >>> from analysis.codebook import Codebook, Scale, Variable
    >>> yn = Scale("yn", ((0, {"en": "No"}), (1, {"en": "Yes"})))
    >>> cb = Codebook(None, {"q": Variable("q", "item", ("pre",), scale=yn)}, {"yn": yn})
    >>> d = pd.DataFrame({"wave": ["pre"] * 4, "q_missing": [None, "blank", None, None]})
    >>> missingness(d, cb)
      wave variable  n  answered  blank  invalid
    0  pre        q  4      0.75   0.25      0.0
    """
    items = [v for v in codebook.variables.values() if v.role == "item"]
    rows = []
    for var in items:
        for wave in var.waves:
            if f"{var.name}_missing" not in data:
                continue
            sel = data.loc[data["wave"] == wave, f"{var.name}_missing"]
            if sel.empty:
                continue
            counts = sel.astype("object").fillna("answered").value_counts()
            rows.append({"wave": wave, "variable": var.name, "n": len(sel)}
                        | {k: round(v / len(sel), 4) for k, v in counts.items()})
    table = pd.DataFrame(rows, columns=["wave", "variable", "n"] if not rows else None).fillna(0.0)
    # blank and invalid are always reported, and every missing code of the scales, answered or not
    reasons = ["blank", "invalid"] + sorted({r for v in items for r in v.scale.missing} - {"blank", "invalid"})
    reasons += sorted({c for c in table.columns if c not in ("wave", "variable", "n", "answered")} - set(reasons))
    for column in ["answered"] + reasons:
        if column not in table:
            table[column] = 0.0
    return table[["wave", "variable", "n", "answered"] + reasons]


def missing_text(res) -> Text:
    """Why an answer can be missing, naming exactly the reasons this study's scales have."""
    scales = {v.scale.name: v.scale for v in res.codebook.variables.values() if v.role == "item" and v.scale}
    codes = sorted({r for s in scales.values() for r in s.missing})
    text = ("An answer can be missing because it was left **blank**, or because it was not on the answer scale "
            "(**invalid**, for example a 6 on a five-point scale).")
    if codes:
        shown = _join([f"**{c}** ({', '.join(dict.fromkeys(l for s in scales.values() for l in s.missing.get(c, ())))})"
                       for c in codes])
        text += (f" This study's scales also let people answer {shown}; such an answer is kept apart from the "
                 "scale: it is an answer, a blank is not.")
    return Text(text)


def missing_summary(res) -> pd.DataFrame:
    """Share of answers missing per wave and reason (percent of every answer asked in that wave)."""
    table = missingness(res.responses, res.codebook)
    reasons = [c for c in table.columns if c not in ("wave", "variable", "n", "answered")]
    out = (100 * table.groupby("wave", sort=False)[reasons].mean()).round(2)
    out.columns = [f"% {c.replace('_', ' ')}" for c in out.columns]
    return out


def changes_table(res) -> pd.DataFrame:
    """How many values the cleaning altered, per rule."""
    return pd.DataFrame({"values changed": res.summary["changes_by_rule"]})


def scrubbed_table(res) -> pd.DataFrame:
    """How many personal details were replaced in free text, per kind."""
    return pd.DataFrame({"replaced in free text": res.summary["scrubbed"]})


# --- reliability and readiness profiles -----------------------------------------------------

def construct_labels(res) -> dict[str, str]:
    """Construct name -> its plain label."""
    return {name: res.codebook.construct(name).shown(res.language) for name in res.codebook.constructs}


def readiness_text(res) -> Text:
    """Which constructs define readiness in this study, in plain words."""
    labels = construct_labels(res)
    names = [f"**{labels.get(c, c)}**" for c in res.settings.readiness]
    if not names:
        return Text("This study declares no readiness constructs.")
    return Text(f"Participants are described by {_join(names)}, as they answered on the "
                f"{res.wave('baseline')} survey.")


def reliability_text(res) -> Text:
    """How scores are made and what alpha and omega say, with the study's confidence level."""
    level = _pct(res.settings.confidence)
    rel = res.reliability
    items = sorted(set(rel["n_items"]))
    need = sorted({default_min_items(k) for k in items})
    return Text("Each score is the average of a few statements (statements worded the other way round are turned "
                f"around first). A score is only given when a person answered at least half of its statements "
                f"({_join([str(n) for n in need])} of {_join([str(k) for k in items])}).\n\n"
                "*Alpha* and *omega* say how consistently the statements of one score agree (0 to 1; above 0.7 is "
                f"usually taken as good enough for comparing groups). The {level} interval shows how sure that number "
                "is: Feldt's method for alpha, resampling participants for omega.")


def reliability_table(res, *, readiness_only: bool = True) -> pd.DataFrame:
    """Reliability per construct (the readiness constructs in the baseline wave by default), rounded."""
    rel = res.reliability
    if readiness_only and res.settings.readiness:
        rel = rel[(rel["wave"] == res.wave("baseline")) & rel["construct"].isin(res.settings.readiness)]
    return rel.round(2).reset_index(drop=True)


def item_table(res, *, readiness_only: bool = True) -> pd.DataFrame:
    stats = res.item_statistics
    if readiness_only and res.settings.readiness:
        stats = stats[(stats["wave"] == res.wave("baseline")) & stats["construct"].isin(res.settings.readiness)]
    return stats.round(2).reset_index(drop=True)


def _solution(row) -> str:
    return f"{_count(int(row['k']), 'profile')} ({row['model']})"


def _stable_words(row) -> str:
    if pd.isna(row.get("jaccard_min", np.nan)):
        return ""
    if row["jaccard_min"] >= STABLE_JACCARD:
        return f"every profile is stable (the least stable, {row['least_stable']!r}, has Jaccard {row['jaccard_min']:.2f})"
    return f"profile {row['least_stable']!r} is not stable (Jaccard {row['jaccard_min']:.2f})"


def k_choice_reason(fit: pd.DataFrame, *, k_fixed: int | None = None, criterion: str = "bic") -> str:
    """Why this number of profiles, and what the runner-up was, in plain words.

    Parameters
    ----------
    fit : pandas.DataFrame
        The fit table (:data:`analysis.profiles.FIT_COLUMNS`).
    k_fixed : int, optional
        The number of profiles the researcher fixed, if any.
    criterion : {"bic", "icl"}
        The fit measure that ordered the solutions.

    Examples
    --------
    >>> fit = pd.DataFrame({"model": ["diag", "diag", "diag"], "k": [2, 3, 4], "bic": [120.0, 100.0, 90.0],
    ...                     "converged": True, "small_profile": False, "jaccard_min": [0.95, 0.97, 0.41],
    ...                     "least_stable": ["a", "b", "c"], "rule_choice": [False, True, False],
    ...                     "runner_up": [False, False, True], "chosen": [False, True, False]})
    >>> print(k_choice_reason(fit))  # doctest: +NORMALIZE_WHITESPACE
    BIC alone would pick 4 profiles (diag), but profile 'c' is not stable (Jaccard 0.41), so the analysis
    stepped down to 3 profiles (diag): every profile is stable (the least stable, 'b', has Jaccard 0.97).
    The runner-up is that 4 profiles (diag) solution.
    """
    crit = criterion.upper()
    rule = fit[fit["rule_choice"]].iloc[0]
    admissible = fit[fit["converged"] & ~fit["small_profile"]].sort_values([criterion, "k"])
    top = admissible.iloc[0]
    runner = fit[fit["runner_up"]]
    stable = _stable_words(rule)
    if top.name != rule.name:
        between = fit[(fit["k"] < top["k"]) & (fit["k"] > rule["k"]) & (fit["jaccard_min"] < STABLE_JACCARD)]
        between = between.sort_values("k", ascending=False).drop_duplicates("k")
        either = "; ".join(f"{_solution(r)}: {_stable_words(r)}" for _, r in between.iterrows())
        out = (f"{crit} alone would pick {_solution(top)}, but {_stable_words(top) or 'it is not stable'}, so the "
               f"analysis stepped down to {_solution(rule)}" + (f": {stable}." if stable else ".")
               + (f" Fewer profiles did not hold together either ({either})." if either else ""))
    else:
        out = f"{_solution(rule)} fit best by {crit}" + (f", and {stable}." if stable else ".")
    if len(runner):
        r = runner.iloc[0]
        diff = float(r[criterion] - rule[criterion])
        if r.name == top.name and top.name != rule.name:
            out += f" The runner-up is that {_solution(r)} solution."
        else:
            out += f" The runner-up is {_solution(r)}, with a {crit} {abs(diff):.1f} {'higher' if diff > 0 else 'lower'}"
            out += f"; {_stable_words(r)}." if _stable_words(r) else "."
            if abs(diff) < CLOSE_CALL:
                out += f" That is a close call: a {crit} difference below {CLOSE_CALL:g} is weak evidence either way."
    if k_fixed is not None:
        chosen = fit[fit["chosen"]].iloc[0]
        if int(chosen["k"]) == int(rule["k"]) and chosen.name == rule.name:
            out += (f" The number of profiles was fixed at {k_fixed} by the researcher, which is what the rule "
                    "chooses too.")
        else:
            diff = float(chosen[criterion] - rule[criterion])
            words = _stable_words(chosen)
            out += (f" The number of profiles was fixed at {k_fixed} by the researcher, and the results use "
                    f"{_solution(chosen)}: its {crit} is {abs(diff):.1f} {'higher' if diff > 0 else 'lower'} than the "
                    f"rule's choice" + (f", and {words}." if words else "."))
    return out


def k_choice_text(res) -> Text:
    """How the number of profiles was chosen, with this study's range and rules, and why this k."""
    fit = res.fit
    ks = sorted(fit["k"].unique())
    models = list(dict.fromkeys(fit["model"]))
    described = {"spherical": "*spherical*: the same spread on every score",
                 "diag": "*diag*: its own spread per score",
                 "full": "*full*: scores may also move together within a profile",
                 "tied": "*tied*: one shared shape for every profile"}
    checked = "jaccard_min" in fit and fit["jaccard_min"].notna().any()
    info = res.profile_info
    criterion = info.get("criterion", "bic")
    measure = {"bic": "BIC (a fit measure that punishes complexity)",
               "icl": "ICL (BIC plus a penalty for profiles that overlap)"}[criterion]
    rule = (f"It keeps the solution with the lowest {measure} among solutions in "
            f"which every profile holds at least {_pct(MIN_SHARE)} and at least {MIN_PROFILE_N} participants")
    if checked:
        rule += (f" and every profile is found again when the data are resampled (Jaccard at least {STABLE_JACCARD}); "
                 "when a profile does not hold together, it tries fewer profiles. ")
    else:
        rule += ". "
    why = k_choice_reason(fit, k_fixed=info.get("k_fixed"), criterion=criterion) if "rule_choice" in fit else ""
    return Text(f"The analysis tries {ks[0]} to {ks[-1]} profiles, each with {_count(len(models), 'way')} of "
                f"describing how spread out a profile is ({'; '.join(described.get(m, m) for m in models)}). "
                + rule + "*Entropy* near 1 means people fall clearly into one profile; *blrt_p* tests whether one "
                "profile more fits better than one fewer." + (f"\n\n{why}" if why else ""))


def fit_summary(res) -> Text:
    """The chosen solution and the smallest p-value the likelihood-ratio test can give."""
    info = res.profile_info
    reps = info["blrt_reps"]
    lines = [f"{info['n']} participants with every score, {info['excluded']} left out.",
             f"Chosen: {_count(info['k'], 'profile')} ({info['covariance_type']})."]
    if reps:
        lines.append(f"Smallest possible BLRT p with {reps} resamples: {1 / (reps + 1):.2f}.")
    return Text("\n\n".join(lines))


def fit_table(res) -> pd.DataFrame:
    columns = ["model", "k", "bic", "sabic", "icl", "entropy", "smallest_n", "blrt_p", "jaccard_min", "runner_up",
               "chosen"]
    return res.fit[[c for c in columns if c in res.fit]].round(2)


def names_text(res) -> Text:
    """How profiles are named, with the study's own construct labels and the confidence level."""
    labels = construct_labels(res)
    aspects = {res.codebook.construct(c).aspect for c in res.settings.readiness}
    level = _pct(res.settings.confidence)
    text = (f"Each profile's average on every score, with a {level} interval. Names describe each profile against "
            f"the average participant: a score at least {MARKED_Z} standard deviations above (below) the average is "
            f"*high* (*low*).")
    if {"tool_skills", "focus", "guts"} <= aspects:
        text += (" Patterns trainers know get their own names: " + _join(
            [f"*{name}* ({_pattern_words(conditions, res, labels)})" for name, conditions in NAMED_PATTERNS.items()])
                 + ".")
    return Text(text)


def _pattern_words(conditions: dict, res, labels: dict) -> str:
    by_aspect = {res.codebook.construct(c).aspect: labels.get(c, c) for c in res.settings.readiness}
    words = {"high": "high", "low": "low", "above": "above average", "below": "below average"}
    return ", ".join(f"{by_aspect.get(a, a.replace('_', ' '))} {words[c]}" for a, c in conditions.items())


def profile_means_table(res) -> pd.DataFrame:
    return res.profile_means.round(2)


def stability_text(res) -> Text:
    info = res.profile_info
    drawn = info.get("resample_n") or info["n"]
    of = (f"{info['resamples']} subsamples of {drawn} people (of the {info['n']} participants; the profiles "
          "themselves are fitted on everyone)" if drawn < info["n"] else f"{info['resamples']} resampled versions "
          "of the data")
    return Text(f"The analysis is repeated on {of}. For each profile, "
                "the *Jaccard* value says how much of it is found again (1 = exactly the same people). From "
                f"{STABLE_JACCARD} a profile counts as stable; below {DISSOLVED_JACCARD} it dissolves. The range holds "
                f"the middle {_pct(res.settings.confidence)} of the resamples. The adjusted Rand index (ARI) compares "
                "the whole grouping with the original one.")


def stability_table(res) -> pd.DataFrame:
    columns = ["profile", "n", "share", "jaccard", "jaccard_low", "jaccard_high", "verdict"]
    return res.stability[columns].round(2)


def stability_summary(res) -> Text:
    info = res.profile_info
    return Text(f"ARI with the original grouping, mean over {info['resamples']} resamples: {info['ari_mean']:.2f}.")


def certainty_text(res) -> Text:
    return Text("Every participant has a probability for each profile; they are counted in the most likely one. "
                f"*share_sure* is the share whose profile has a probability of at least {SURE_POSTERIOR}.")


def certainty_table(res) -> pd.DataFrame:
    return res.certainty.round(2)


_VERDICT_PHRASES = {"dissolves": "dissolves when the data are resampled", "doubtful": "is doubtful",
                    "stable, not in every resample": "is stable on average but not in every resample"}


def cautions(fit: pd.DataFrame, stability: pd.DataFrame, certainty: pd.DataFrame, *,
             confidence: float = 0.95) -> list[str]:
    """Plain-language warnings about a profile solution; empty when nothing calls for care.

    Warns when no profiles were found (k = 1), when a solution with more
    profiles had a lower BIC but a too small profile, when a profile is not
    stable in every resample (mean Jaccard < 0.75, or the low end of its range
    below 0.75), when the entropy is below 0.8, and when fewer than 80% of
    participants have a profile probability of at least 0.8.

    Parameters
    ----------
    fit, stability, certainty : pandas.DataFrame
        As stored by the profiles stage (``fit.csv``, ``stability.csv``,
        ``certainty.csv``).
    confidence : float
        The level of the stability range.
    """
    out = []
    chosen = fit[fit["chosen"]].iloc[0]
    k = int(chosen["k"])
    if k == 1:
        out.append("No distinct profiles: one group describes these participants best.")
    better = fit[(fit["bic"] < chosen["bic"]) & fit["small_profile"]]
    if len(better):
        row = better.sort_values("bic").iloc[0]
        out.append(f"A {row['k']}-profile solution ({row['model']}) fitted better but had a profile of only "
                   f"{row['smallest_n']} participants; it was not chosen.")
    if k > 1:
        resamples = int(stability["resamples"].iloc[0])
        for _, row in stability.iterrows():
            if row["verdict"] != "stable":
                out.append(f"Profile {row['profile']!r} {_VERDICT_PHRASES[row['verdict']]} (mean Jaccard "
                           f"{row['jaccard']:.2f}, low end of its {_pct(confidence)} range {row['jaccard_low']:.2f}, "
                           f"over {resamples} resamples).")
    entropy = chosen["entropy"]
    if k > 1 and entropy < ENTROPY_CAUTION:
        out.append(f"Profiles overlap: entropy {entropy:.2f} is below {ENTROPY_CAUTION}.")
    sure = float(certainty["share_sure"].iloc[-1])
    if k > 1 and sure < SURE_SHARE_CAUTION:
        out.append(f"Only {sure:.0%} of participants belong to their profile with probability >= {SURE_POSTERIOR}.")
    return out


def cautions_text(res) -> Text:
    notes = cautions(res.fit, res.stability, res.certainty, confidence=res.settings.confidence)
    return Text("\n".join(f"- {n}" for n in notes) if notes else "No cautions: the profiles are clear and stable.")


# --- the entry-point comparison -------------------------------------------------------

def how_to_read_effects(res) -> Text:
    """How to read the comparison, with the study's confidence level."""
    level = _pct(res.settings.confidence)
    return Text("How to read the numbers:\n\n"
                f"- Every effect is **{CONTRAST}**. Above 0: people in tool-first sessions scored higher; below 0: "
                "strategy-first scored higher.\n"
                f"- Every effect comes with a **{level} interval**: the range of effects the data are compatible with. "
                "If the interval includes 0, the data cannot tell which entry point did better.\n"
                "- The entry point was chosen per **session**, not per person. People in one session share a trainer, "
                "a room and a day, so the comparison is really between a handful of sessions. The intervals take "
                "that into account, which is why they are wide.\n"
                "- Every number comes with **how many people and sessions** it rests on.")


def sessions_table(res) -> pd.DataFrame:
    """People per session and entry point (everyone whose answers are linked to a session with an entry point)."""
    data = res.responses.dropna(subset=["workshop", "entry_point"])
    table = (data.groupby(["entry_point", "workshop"], observed=True)["participant"].nunique()
             .rename("participants").reset_index())
    return table


def profile_weights_text(res) -> Text:
    if not res.available("profiles"):
        return Text("This study has no readiness profiles, so the comparison is made for everyone together only. "
                    + stage_note(res, "profiles"))
    return Text("The profile analysis (report 02) groups participants into readiness profiles from the "
                f"{res.wave('baseline')} survey. Nobody belongs to a profile with certainty: each person has a "
                "probability for each profile. Here every person counts in each profile **in proportion to that "
                "probability**, so an uncertain member counts partly; the numbers of people per profile below are "
                "sums of these probabilities.")


def profile_sizes(res) -> pd.DataFrame:
    """People per profile as sums of probabilities."""
    if not res.available("profiles"):
        return pd.DataFrame(columns=["profile", "people (sum of probabilities)"])
    sums = res.posteriors.sum().round(0).astype(int)
    return pd.DataFrame({"profile": sums.index, "people (sum of probabilities)": sums.to_numpy()})


def methods_text(res) -> Text:
    """The methods behind the effects, in a few plain lines, with the study's settings."""
    s = res.settings
    lines = [f"Every effect is {CONTRAST}: above 0 means tool-first scored higher.",
             f"Intervals: {_pct(s.confidence)} {CI_METHOD}.",
             f"p-values: {P_METHOD}; adjusted with {ADJUSTMENT} within family.",
             f"Cells with fewer than {s.min_n} people or {s.min_sessions} sessions in an arm are '{TOO_FEW}' and "
             "show no p-value."]
    if res.available("profiles"):
        lines.insert(3, "Profiles: every person weighted by their posterior probability of the profile "
                        f"({PROFILE_METHOD}).")
    return Text("\n".join(f"- {line}" for line in lines))


def outcome_labels(res) -> dict[str, str]:
    """Outcome (or item) name -> how reports name it."""
    labels = {}
    for name, spec in res.codebook.outcomes.items():
        labels[name] = spec.shown(res.language)
        if spec.baseline:
            labels[f"{name}_gain"] = f"{spec.shown(res.language)} gain"
        for item in spec.items:
            if len(spec.items) > 1:
                labels[item] = res.codebook.variables[item].shown(res.language)
    return labels


def summary_outcomes(res) -> list[str]:
    """The outcomes tested as a family of their own: composites, gains and single items."""
    outcomes = res.outcomes
    return list(outcomes.loc[outcomes["family"] == "summary outcomes", "outcome"])


def outcomes_text(res) -> Text:
    """What each summary outcome is, from the codebook."""
    outcomes = res.outcomes.set_index("outcome")
    labels = outcome_labels(res)
    parts = []
    for name in summary_outcomes(res):
        row = outcomes.loc[name]
        items = row["items"].split()
        scale = res.codebook.variables[items[0]].scale
        lo, hi = scale.min_code, scale.max_code
        wave = _join(sorted({w for i in items for w in res.codebook.variables[i].waves}))
        if name.endswith("_gain") and isinstance(row["baseline"], str) and row["baseline"]:
            what = f"after minus before ({lo}-{hi})"
        elif row["kind"] == "interval" and len(scale.levels) == 2:
            what = f"share of its {len(items)} yes/no items answered yes ({wave} survey)"
        elif row["kind"] == "interval":
            what = f"mean of {len(items)} items, {lo}-{hi} ({wave} survey)"
        elif row["kind"] == "binary":
            what = f"one yes/no question ({wave} survey); risk difference"
        else:
            what = (f"one question, {lo}-{hi} ({wave} survey); Cliff's delta: the chance that a tool-first "
                    "participant answered higher than a strategy-first one, minus the reverse, from -1 to 1")
        parts.append(f"**{labels.get(name, name)}** ({what})")
    sessions = res.effects[res.effects["profile"] == "all"].iloc[0]
    p_min = sessions["p_min"]
    text = "The summary outcomes: " + "; ".join(parts) + "."
    if isinstance(p_min, float) and not math.isnan(p_min) and p_min >= 0.01:
        per_arm = int(min(sessions["sessions_tool_first"], sessions["sessions_strategy_first"]))
        text += (f"\n\n`p` is the permutation p-value over sessions. With {per_arm} sessions per arm no p-value can "
                 f"be below {p_min:.2g}: **read the intervals, not the p-values**. `p adjusted` corrects for "
                 f"testing several outcomes ({ADJUSTMENT.capitalize()}).")
    return Text(text)


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
                  unit: str | None = None, scale: float | None = None, confidence: float = 0.95) -> str:
    """A short plain-language summary of one outcome, generated from the numbers.

    Parameters
    ----------
    effects : pandas.DataFrame
        From :func:`analysis.compare.entry_point_effects`.
    outcome : str
        Which outcome to summarise.
    label : str, optional
        How to name the outcome in the text (default: its name).
    unit, scale : optional
        Unit of the effect in words and the factor to show it in (default:
        "points" for a mean difference; "percentage points" and 100 for a
        risk difference). For a share, ``unit="percentage points",
        scale=100``.
    confidence : float
        The level of the intervals.

    Examples
    --------
    >>> e = pd.DataFrame([{"outcome": "y", "profile": "all", "effect_type": "mean difference",
    ...                    "estimate": 0.3, "ci_low": 0.1, "ci_high": 0.5, "p": 0.05, "p_adjusted": 0.05,
    ...                    "n_strategy_first": 60, "n_tool_first": 58, "sessions_strategy_first": 3,
    ...                    "sessions_tool_first": 3, "interpretable": "yes", "comparison": "overall",
    ...                    "kind": "interval", "family": "f", "p_min": 0.05, "note": ""}])
    >>> print(plain_summary(e, "y", confidence=0.9))  # doctest: +NORMALIZE_WHITESPACE
    y, tool-first minus strategy-first (90% intervals; 3 + 3 sessions):
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
    lines = [f"{label or outcome}, {CONTRAST} ({_pct(confidence)} intervals; "
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


def plain_summaries(res) -> Text:
    """:func:`plain_summary` of every composite outcome of the study, as shown in the report."""
    outcomes = res.outcomes.set_index("outcome")
    labels = outcome_labels(res)
    parts = []
    for name in summary_outcomes(res):
        if outcomes.loc[name, "kind"] != "interval" or name.endswith("_gain"):
            continue
        items = outcomes.loc[name, "items"].split()
        binary = len(res.codebook.variables[items[0]].scale.levels) == 2
        text = plain_summary(res.effects, name, label=labels.get(name, name), confidence=res.settings.confidence,
                             **({"unit": "percentage points", "scale": 100} if binary else {}))
        parts.append("```\n" + text + "\n```")
    return Text("\n\n".join(parts))


def display_table(effects: pd.DataFrame, *, comparison: str | None = None, outcomes: Iterable[str] | None = None,
                  family: str | None = None, primary_only: bool = True, digits: int = 2,
                  confidence: float = 0.95) -> pd.DataFrame:
    """A rounded, readable selection of an effects table (for notebooks and reports).

    Parameters
    ----------
    effects : pandas.DataFrame
        From :func:`analysis.compare.entry_point_effects`.
    comparison : {"overall", "profile", "interaction"}, optional
    outcomes : iterable of str, optional
        Keep these outcomes, in this order.
    family : str, optional
        Keep rows whose family starts with this (e.g. ``"confidence items"``).
    primary_only : bool
        Only the tested effect type of each outcome (drops Hedges' g).
    digits : int
    confidence : float
        The intervals' level (names the interval column).

    Returns
    -------
    pandas.DataFrame
        Columns ``outcome``, ``profile``, ``effect``, ``estimate``, ``95% CI``
        (named by the level), ``p``, ``p adjusted``, ``n tool-first``,
        ``n strategy-first``, ``sessions (tool + strategy)``, ``interpretable``.

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
        f"{_pct(confidence)} CI": [f"[{lo:.{digits}f}, {hi:.{digits}f}]" for lo, hi in zip(sel["ci_low"], sel["ci_high"])],
        "p": sel["p"].round(digits).to_numpy(), "p adjusted": sel["p_adjusted"].round(digits).to_numpy(),
        "n tool-first": sel["n_tool_first"].to_numpy(), "n strategy-first": sel["n_strategy_first"].to_numpy(),
        "sessions (tool + strategy)": [f"{t} + {s}" for t, s in zip(sel["sessions_tool_first"], sel["sessions_strategy_first"])],
        "interpretable": sel["interpretable"].to_numpy()})


def effects_table(res, comparison: str, *, summary: bool = True, family: str | None = None) -> pd.DataFrame:
    """:func:`display_table` of the study's effects at its confidence level."""
    outcomes = summary_outcomes(res) if summary else None
    return display_table(res.effects, comparison=comparison, outcomes=outcomes, family=family,
                         confidence=res.settings.confidence)


def item_outcome(res) -> str | None:
    """The composite outcome whose items a report shows answer by answer: the first on a scale of 3+ levels."""
    outcomes = res.outcomes
    for name in outcomes.loc[(outcomes["family"] == "summary outcomes") & (outcomes["kind"] == "interval"), "outcome"]:
        items = outcomes.set_index("outcome").loc[name, "items"].split()
        if len(items) > 1 and len(res.codebook.variables[items[0]].scale.levels) > 2:
            return name
    return None


def item_question(res, outcome: str) -> str:
    """The question a composite's items were asked under (their shared start), or the outcome's label."""
    items = res.outcomes.set_index("outcome").loc[outcome, "items"].split()
    texts = [res.codebook.variables[i].text[0] for i in items if res.codebook.variables[i].text]
    if len(texts) == len(items) and len(texts) > 1:
        import os

        common = os.path.commonprefix(texts).rstrip(" -[([")
        if len(common) >= 10:
            return common
    return outcome_labels(res).get(outcome, outcome)


def likert_counts(data: pd.DataFrame, variables: Iterable[str], *, codebook) -> pd.DataFrame:
    """Answers per level and per missing code of the scale, per item and entry point.

    Blanks and invalid answers are not counted. ``n`` is the number of
    answers on the scale (the base of the percentages in
    :func:`analysis.plots.likert_bars`). Each missing code of the scale (such
    as ``dont_know``) gets a column of its own, listed in
    ``.attrs["apart"]``; the scale's labels are in ``.attrs["levels"]``.

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
        (counts), one per missing code, ``n``.

    Examples
    --------
    >>> from analysis.codebook import load_codebook
    >>> from analysis.paths import SAMPLE_DIR
    >>> cb = load_codebook(SAMPLE_DIR / "codebook.yaml")
    >>> d = pd.DataFrame({"entry_point": ["tool-first", "tool-first", "strategy-first"],
    ...                   "satisfaction_code": pd.array([5, None, 2], dtype="Int64"),
    ...                   "satisfaction_missing": [None, "dont_know", None]})
    >>> likert_counts(d, ["satisfaction"], codebook=cb).iloc[:, [0, 1, 3, 6, 7, 8]]
           variable     entry_point  Dissatisfied  Very satisfied  dont_know  n
    0  satisfaction  strategy-first             1               0          0  1
    1  satisfaction      tool-first             0               1          1  1
    """
    variables = list(variables)
    scales = {codebook.variables[v].scale.name for v in variables}
    if len(scales) != 1:
        raise ValueError(f"the items must share one scale, found {sorted(scales)}")
    scale = codebook.variables[variables[0]].scale
    apart = list(scale.missing)
    rows = []
    for v in variables:
        for arm in ARMS:
            sel = data[data["entry_point"] == arm]
            codes = pd.to_numeric(sel[f"{v}_code"], errors="coerce")
            reasons = sel[f"{v}_missing"].astype("object") if f"{v}_missing" in sel else pd.Series(dtype=object)
            row = {"variable": v, "entry_point": arm}
            for (code, _), label in zip(scale.levels, scale.labels):
                row[label] = int((codes == code).sum())
            for reason in apart:
                row[reason] = int((reasons == reason).sum())
            row["n"] = int(codes.notna().sum())
            rows.append(row)
    out = pd.DataFrame(rows, columns=["variable", "entry_point", *scale.labels, *apart, "n"])
    out.attrs.update(levels=list(scale.labels), apart=apart)
    return out


def item_counts(res, outcome: str) -> pd.DataFrame:
    """:func:`likert_counts` of a composite outcome's items in their wave."""
    items = res.outcomes.set_index("outcome").loc[outcome, "items"].split()
    waves = res.codebook.variables[items[0]].waves
    data = res.responses[res.responses["wave"].isin(waves)]
    return likert_counts(data, items, codebook=res.codebook)


def forest_outcomes(res) -> list[str]:
    """The composites drawn in the forest plot (not gains)."""
    outcomes = res.outcomes
    sel = outcomes[(outcomes["family"] == "summary outcomes") & (outcomes["kind"] == "interval")]
    return [o for o in sel["outcome"] if not o.endswith("_gain")]


def caveats_text(res) -> Text:
    """What the comparison does and does not say, with this study's number of sessions."""
    overall = res.effects[res.effects["profile"] == "all"]
    sessions = int(overall["sessions_tool_first"].max() + overall["sessions_strategy_first"].max())
    lines = [f"The comparison rests on **{_count(sessions, 'session')}**. A session that went unusually well or badly "
             "weighs heavily; that is why the intervals are wide and why no p-value can be small. A difference that "
             "holds across profiles and across the items of an outcome is more convincing than one number."]
    if res.available("profiles"):
        lines.append("Profiles come from a statistical model; people near the border of two profiles count partly in "
                     "both, which pulls profile effects a little towards each other.")
    lines.append("If trainers chose which sessions got which entry point (rather than by lot), other differences "
                 "between the sessions may explain part of an effect.")
    return Text("\n".join(f"- {line}" for line in lines))


def item_figure(res):
    """The answers to the items of :func:`item_outcome`, per entry point (a figure), or why there is none."""
    from analysis import plots

    outcome = item_outcome(res)
    if outcome is None:
        return Text("No outcome of this study has several items on an answer scale of three or more levels.")
    fig = plots.likert_bars(item_counts(res, outcome), res.effects, title=item_question(res, outcome),
                            labels=outcome_labels(res), confidence=res.settings.confidence)
    labels = outcome_labels(res)
    rows = res.effects[res.effects["family"].str.startswith(f"{outcome} items")
                       & (res.effects["comparison"] == "overall")]
    rows = rows[[t == EFFECT_TYPES[k][0] for t, k in zip(rows["effect_type"], rows["kind"])]]
    effects = "; ".join(f"{labels.get(r.outcome, r.outcome)} {r.estimate:+.2f} ({r.ci_low:.2f} to {r.ci_high:.2f})"
                        for r in rows.itertuples())
    return plots.Described(fig, f"Bars of how the answers to each statement of '{item_question(res, outcome)}' "
                                f"were spread, for tool-first and strategy-first sessions. Effect per statement, "
                                f"{CONTRAST}, with {_pct(res.settings.confidence)} intervals: {effects}.")


def item_effects_table(res) -> pd.DataFrame:
    """The effects of the items of :func:`item_outcome`, one per item."""
    outcome = item_outcome(res)
    if outcome is None:
        return pd.DataFrame()
    return effects_table(res, "overall", summary=False, family=f"{outcome} items")


def forest_figure(res):
    """Effects of the composite outcomes for everyone, each profile and between profiles (a figure)."""
    from analysis import plots

    outcomes = forest_outcomes(res)
    if not outcomes:
        return Text("No outcome of this study is a composite of several items.")
    fig = plots.effect_forest(res.effects, outcomes, labels=outcome_labels(res), confidence=res.settings.confidence)
    return plots.Described(fig, _forest_alt(res, outcomes))


def _forest_alt(res, outcomes: list[str]) -> str:
    """The forest plot's numbers in words: per outcome, every group's effect and interval."""
    labels = outcome_labels(res)
    effects = res.effects
    parts = []
    for outcome in outcomes:
        rows = effects[(effects["outcome"] == outcome) & (effects["comparison"] != "interaction")]
        rows = rows[[t == EFFECT_TYPES[k][0] for t, k in zip(rows["effect_type"], rows["kind"])]]
        groups = ", ".join(f"{'everyone' if r.profile == 'all' else r.profile} {r.estimate:+.2f} "
                           f"({r.ci_low:.2f} to {r.ci_high:.2f})" for r in rows.itertuples())
        parts.append(f"{labels.get(outcome, outcome)}: {groups}")
    return (f"Dots with interval lines: {CONTRAST} for everyone and each profile, "
            f"{_pct(res.settings.confidence)} intervals. " + "; ".join(parts) + ".")


def missing_figure(res):
    """Share of missing answers per item and reason (a figure), or why there is none."""
    from analysis import plots

    table = missingness(res.responses, res.codebook)
    if table.empty:
        return Text("This study has no items on an answer scale, so there are no missing answers to show.")
    answered = table.groupby("variable", sort=False)["answered"].min().sort_values()
    worst = ", ".join(f"{res.codebook.variables[v].shown(res.language) if v in res.codebook.variables else v} "
                      f"{_pct(round(1 - a, 3))}" for v, a in answered.head(3).items())
    return plots.Described(plots.missing_answers(table),
                           f"Bars of the share of missing answers per item and reason, for {len(answered)} items; "
                           f"most missing: {worst}.")


def sources_figure(res):
    """Each export's rows, kept or set aside by reason (a figure)."""
    from analysis import plots

    table = source_table(res.summary)
    fixed = {"source", "wave", "format", "rows_in", "rows_complete", "rows_clean", "rows_quarantined"}
    parts = []
    for row in table.to_dict("records"):
        aside = ", ".join(f"{row[c]} {c}" for c in table.columns if c not in fixed and row[c])
        parts.append(f"{row['wave']} survey: {row['rows_clean']} of {row['rows_in']} rows kept"
                     + (f", set aside {aside}" if aside else ""))
    return plots.Described(plots.rows_by_source(table), "Bars of the rows of each export, kept or set aside: "
                           + "; ".join(parts) + ".")


def fit_figure(res):
    """How well each number of profiles fits (a figure)."""
    from analysis import plots

    fit = res.fit
    chosen = fit[fit["chosen"].astype(str) == "True"].iloc[0]
    return plots.Described(plots.profile_fit(fit),
                           f"Lines of BIC (lower fits better) for {int(fit['k'].min())} to {int(fit['k'].max())} "
                           f"profiles and each covariance model; chosen: {int(chosen['k'])} profiles "
                           f"({chosen['model']}), BIC {chosen['bic']:.0f}.")


def profiles_figure(res):
    """Mean readiness scores per profile (a figure)."""
    from analysis import plots

    labels = construct_labels(res)
    means = res.profile_means
    fig = plots.readiness_profiles(means, confidence=res.settings.confidence, labels=labels)
    parts = []
    for name, group in means.groupby("profile", sort=False):
        parts.append(f"{name}: " + ", ".join(f"{labels.get(r.construct, r.construct)} {r.mean:.1f}"
                                             for r in group.itertuples()))
    return plots.Described(fig, "Mean readiness scores of each profile with "
                           f"{_pct(res.settings.confidence)} intervals: " + "; ".join(parts) + ".")


def stability_figure(res):
    """How often each profile comes back when the data are resampled (a figure)."""
    from analysis import plots

    st = res.stability
    fig = plots.profile_stability(st, confidence=res.settings.confidence)
    parts = ", ".join(f"{r.profile} {r.jaccard:.2f} ({r.verdict})" for r in st.itertuples())
    return plots.Described(fig, f"Bars of each profile's stability over {int(st['resamples'].iloc[0])} resamples "
                                f"(Jaccard, 1 = always found again; {STABLE_JACCARD:g} or more is stable): {parts}.")


def certainty_figure(res):
    """How sure each person's profile is (a figure)."""
    from analysis import plots

    posterior = res.posteriors
    sure = float((posterior.max(axis=1) >= SURE_POSTERIOR).mean())
    return plots.Described(plots.profile_certainty(posterior, sure=SURE_POSTERIOR),
                           f"Histogram of each person's largest profile probability; {_pct(round(sure, 3))} of "
                           f"{len(posterior)} people belong to their profile with probability "
                           f"{SURE_POSTERIOR:g} or more.")


# --- the trainer's summary ---------------------------------------------------------

#: The measures a trainer's summary reports per profile, in this order.
SUMMARY_MEASURES = ("confidence", "intention", "adoption", "satisfaction")
#: An interval that includes 0 "leans" one way when its point estimate is at least this share of
#: the interval's half-width away from 0.
LEANING = 0.5


def sureness(row) -> tuple[str, int]:
    """How sure one effect is, in words fixed by a rule on its interval, and its direction.

    Returns a word ("clear", "leaning", "unclear", "too few") and +1 (tool-first
    ahead), -1 (strategy-first ahead) or 0.

    Examples
    --------
    >>> row = {"interpretable": "yes", "estimate": 0.4, "ci_low": 0.1, "ci_high": 0.7}
    >>> sureness(row)
    ('clear', 1)
    >>> sureness(row | {"ci_low": -0.2})  # 0.4 is more than half of the half-width 0.45
    ('leaning', 1)
    >>> sureness(row | {"estimate": 0.05, "ci_low": -0.5, "ci_high": 0.6})
    ('unclear', 0)
    """
    if row["interpretable"] != "yes":
        return "too few", 0
    direction = 1 if row["estimate"] > 0 else -1
    if row["ci_low"] > 0 or row["ci_high"] < 0:
        return "clear", direction
    half = (row["ci_high"] - row["ci_low"]) / 2
    if half > 0 and abs(row["estimate"]) >= LEANING * half:
        return "leaning", direction
    return "unclear", 0


def sureness_rule(res) -> Text:
    """The rule behind the words of the summary, with the study's confidence level."""
    level = _pct(res.settings.confidence)
    s = res.settings
    return Text(f"How sure each statement is follows one rule on the {level} interval of the difference: "
                f"**did better** when the whole interval lies on one side of zero; **may have done better** when "
                f"the interval includes zero but the estimate lies at least {LEANING:g} times the interval's "
                f"half-width away from it; **no clear difference** otherwise; **too few to say** when an entry "
                f"point has fewer than {s.min_n} people or {s.min_sessions} sessions in that group.")


def _summary_outcomes_by_measure(res) -> dict[str, str]:
    """Measure -> the summary outcome that stands for it (the first composite that is not a gain)."""
    chosen = {}
    outcomes = res.outcomes
    for row in outcomes[outcomes["family"] == "summary outcomes"].itertuples():
        if row.outcome.endswith("_gain") or row.measure in chosen:
            continue
        chosen[row.measure] = row.outcome
    return {m: chosen[m] for m in SUMMARY_MEASURES if m in chosen} | \
        {m: o for m, o in chosen.items() if m not in SUMMARY_MEASURES and m != "other"}


def study_facts(res) -> Text:
    """The study in two lines: title, people per wave, sessions per entry point."""
    waves = wave_table(res.responses)
    per_wave = ", ".join(f"{int(r.participants)} answered the {r.wave} survey" for r in waves.itertuples())
    text = f"**{res.study['title']}**\n\n{summary_participants(res)} took part: {per_wave}."
    if "entry_point" in res.responses and res.responses["entry_point"].notna().any():
        sessions = sessions_table(res).groupby("entry_point")["workshop"].nunique()
        arms = [f"{_count(int(sessions.get(arm, 0)), 'session')} {arm}" for arm in ARMS]
        text += f" The workshop ran as {_join(arms)}."
    return Text(text)


def summary_participants(res) -> str:
    return _count(int(res.summary["participants"]), "participant")


def _profile_portrait(res, name: str) -> str:
    """Who a profile's members are, from their standardised centroid: "high guts, low focus"."""
    labels = construct_labels(res)
    z = res.profile_info["z"][name]
    marked = sorted(((v, c) for c, v in z.items() if abs(v) >= MARKED_Z), key=lambda t: -abs(t[0]))
    if not marked:
        return "close to the average on every readiness score"
    sides = [(word, [labels.get(c, c) for v, c in marked if (v > 0) == (word == "higher")])
             for word in ("higher", "lower")]
    return " and ".join(f"{word} {_join(names)}" for word, names in sides if names) + " than most"


def _finding(res, rows: pd.DataFrame, labels: dict) -> tuple[str, set]:
    """One group's results per measure in words, and the directions that are clear."""
    by_word = {}
    clear = set()
    for measure, outcome in _summary_outcomes_by_measure(res).items():
        sel = rows[rows["outcome"] == outcome]
        if sel.empty:
            continue
        primary = EFFECT_TYPES[sel["kind"].iloc[0]][0]
        row = sel[sel["effect_type"] == primary].iloc[0]
        word, direction = sureness(row)
        arm = ARMS[1] if direction > 0 else ARMS[0]
        key = {"clear": f"**{arm} did better**", "leaning": f"{arm} may have done better",
               "unclear": "no clear difference", "too few": "too few to say"}[word]
        by_word.setdefault(key, []).append(labels.get(outcome, outcome))
        if word == "clear":
            clear.add(direction)
    text = "; ".join(f"on {_join(outs)} {key}" for key, outs in by_word.items())
    return text[:1].upper() + text[1:], clear


def summary_figure(res):
    """The key figure of the summary: the first outcome's effect for everyone and each profile, with intervals."""
    from analysis import plots

    if not res.available("compare"):
        return Text("")
    outcomes = forest_outcomes(res)[:1]
    if not outcomes:
        return Text("")
    fig = plots.effect_forest(res.effects, outcomes, labels=outcome_labels(res), confidence=res.settings.confidence,
                              interactions=False)
    return plots.Described(fig, _forest_alt(res, outcomes))


def summary_caveats(res) -> Text:
    """:func:`caveats_text` when the comparison ran."""
    return caveats_text(res) if res.available("compare") else Text("")


def _most_written(res, profile: str) -> str:
    """" What they wrote most: ..." from the reflections stage (the two largest interpretable shares)."""
    if not res.available("reflect"):
        return ""
    shares = res.reflection_shares
    rows = shares[(shares["kind"] == "code") & (shares["entry_point"] == "all") & (shares["profile"] == profile)
                  & (shares["interpretable"] == "yes")].sort_values("share", ascending=False, kind="stable")
    if rows.empty:
        return ""
    labels = _code_labels(res)
    top = [f"{labels.get(r.code, r.code)} ({_pct(round(r.share, 2))})" for r in rows.head(2).itertuples()]
    return f" Mentioned most often in their reflections (share of those who wrote one): {_join(top)}."


def _advice(clear: set) -> str:
    if clear == {1}:
        return f"Suggested start: **{ARMS[1]}**."
    if clear == {-1}:
        return f"Suggested start: **{ARMS[0]}**."
    if clear:
        return "Neither entry point did better on everything: weigh which outcome matters most."
    return "The data cannot tell which entry point suits this group better."


def profile_findings(res) -> Text:
    """One short paragraph per readiness profile (or for everyone): who they are, which entry point
    did better for them on each measure, how sure that is, and a suggested start."""
    if not res.available("compare"):
        return Text("This summary cannot say which entry point helps whom. " + stage_note(res, "compare"))
    labels = outcome_labels(res)
    effects = res.effects
    paragraphs = []
    if res.available("profiles"):
        sizes = res.posteriors.sum()
        total = sizes.sum()
        for name in res.profile_names:
            rows = effects[(effects["comparison"] == "profile") & (effects["profile"] == name)]
            finding, clear = _finding(res, rows, labels)
            paragraphs.append(f"**{name.capitalize()}** (about {int(round(sizes[name]))} people, "
                              f"{_pct(round(sizes[name] / total, 2))}): {_profile_portrait(res, name)}. "
                              f"{finding}. {_advice(clear)}{_most_written(res, name)}")
    else:
        paragraphs.append("This study has no readiness profiles, so the answer is for everyone together. "
                          + stage_note(res, "profiles"))
    rows = effects[effects["comparison"] == "overall"]
    finding, clear = _finding(res, rows, labels)
    paragraphs.append(f"**Everyone together.** {finding}. {_advice(clear)}")
    return Text("\n\n".join(paragraphs))


# --- reflections ----------------------------------------------------------------------

def _code_labels(res) -> dict:
    info = res.reflection_info
    return {name: (spec["label"].get(res.language) or spec["label"].get("en") or name)
            for name, spec in info["codes"].items()}


def reflections_overview(res) -> Text:
    """How many answers were coded, how many said nothing, in which languages, and who coded them."""
    info = res.reflection_info
    languages = {"nl": "Dutch", "en": "English"}
    langs = _join([f"{n} in {languages.get(k, k)}" for k, n in sorted(info["languages"].items())])
    text = (f"{_count(info['answers'], 'free-text answer')} to {_join([f'`{v}`' for v in info['variables']])} "
            f"from {_count(info['writers'], 'participant')} who wrote something; "
            f"{info['junk']} said nothing (such as \"-\", \"n.v.t.\", \"nothing\") and get no code. "
            f"The others: {langs or 'none'}.\n\n")
    if info["coders"]:
        coders = _join([f"{name} ({_count(n, 'answer')})" for name, n in info["coders"].items()])
        text += (f"Human coders: {coders}. Where a person coded an answer, their codes are used "
                 f"({info['human_coded']} answers; with several coders a code counts when at least half gave it); "
                 "elsewhere the automatic codes.")
    else:
        text += ("Every code here is the automatic coder's: no human has coded these answers yet. The coding sheet "
                 "(`coding_sheet.csv` in the results folder) has a column per code to fill in; name the filled-in "
                 "sheet in the study file (`human_codes: [coder_a.csv]`) and the next build reports the agreement "
                 "and uses the human codes.")
    return Text(text)


def reflection_method_text(res) -> Text:
    """How the answers are coded, in plain words."""
    s = res.settings
    return Text(
        "- Each answer is first checked for saying nothing; then its language is detected (Dutch or English) and "
        "its words are reduced to their dictionary form.\n"
        "- Each code has a short list of cue words and phrases per language (shown in `codes.yaml` and in "
        "`reflections.csv`, which names the cue that matched). A cue with a negation just before it "
        "(\"not\", \"niet\", \"no longer\"...) counts the other way: *not afraid* is courage, *not useful* is "
        "criticism.\n"
        f"- Shares are of participants who wrote something; in a profile every person counts with their profile "
        f"probability. Intervals: {_pct(s.confidence)}, delete-one-session jackknife (people in one session "
        "wrote under the same trainer on the same day).\n"
        f"- Cells with fewer than {s.min_n} writers or {s.min_sessions} sessions are '{TOO_FEW}'; quotes are "
        f"only taken from groups of at least {s.min_n} writers.")


def _share_cell(row) -> str:
    if row["interpretable"] != "yes":
        return TOO_FEW
    text = _pct(round(row["share"], 2))
    if pd.notna(row["ci_low"]):
        text += f" ({_pct(round(row['ci_low'], 2))} to {_pct(round(row['ci_high'], 2))})"
    return text


def reflection_shares_table(res, by: str = "entry_point", kind: str = "code") -> pd.DataFrame | Text:
    """Share of writers with each code (or tool), per entry point or per profile, as readable cells."""
    shares = res.reflection_shares
    shares = shares[shares["kind"] == kind]
    if kind == "tool":  # tools nobody named are left out
        named = shares[(shares["entry_point"] == "all") & (shares["profile"] == "all") & (shares["share"] > 0)]
        shares = shares[shares["code"].isin(named["code"])]
    other = "profile" if by == "entry_point" else "entry_point"
    part = shares[shares[other] == "all"]
    if part.empty:
        return Text("No tool was named in these answers." if kind == "tool" else "No answer could be coded.")
    labels = _code_labels(res) if kind == "code" else {}
    table = part.assign(cell=part.apply(_share_cell, axis=1)).pivot(index="code", columns=by, values="cell")
    order = [c for c in shares["code"].drop_duplicates()]
    cols = ["all"] + [c for c in table.columns if c != "all"]
    table = table.reindex(index=order, columns=cols)
    n = part.drop_duplicates(by).set_index(by)["n"].reindex(cols)
    table.columns = [f"{'everyone' if c == 'all' else c} (n = {round(n[c])})" for c in cols]
    table.index = [labels.get(c, c) for c in table.index]
    table.index.name = "code" if kind == "code" else "tool"
    return table.reset_index()


def reflection_share_numbers(res, by: str = "entry_point") -> pd.DataFrame:
    """The numbers behind the heat map: share per code and group (NaN: too few to interpret)."""
    shares = res.reflection_shares
    other = "profile" if by == "entry_point" else "entry_point"
    part = shares[(shares["kind"] == "code") & (shares[other] == "all")]
    part = part.assign(value=part["share"].where(part["interpretable"] == "yes"))
    table = part.pivot(index="code", columns=by, values="value")
    cols = ["all"] + [c for c in table.columns if c != "all"]
    table = table.reindex(index=part["code"].drop_duplicates(), columns=cols).round(2)
    table.index = [_code_labels(res).get(c, c) for c in table.index]
    table.columns = ["everyone" if c == "all" else c for c in cols]
    return table


def reflection_figure(res, by: str = "entry_point"):
    """Heat map of the share of writers with each code, per entry point or per profile."""
    from analysis import plots

    what = "entry point" if by == "entry_point" else "readiness profile"
    numbers = reflection_share_numbers(res, by)
    top = numbers["everyone"].dropna().sort_values(ascending=False).head(3) if "everyone" in numbers else pd.Series()
    alt = (f"Heat map of the share of writers with each code (rows) per {what} (columns); most written overall: "
           + (", ".join(f"{code} {_pct(round(v, 2))}" for code, v in top.items()) or "nothing") + ".")
    return plots.Described(plots.code_shares(numbers, title=f"What participants wrote, by {what}"), alt)


def reflection_quotes(res) -> Text:
    """A few example quotes per code (scrubbed, HTML-escaped, shortened; from groups of at least min_n writers)."""
    quotes = res.reflection_quotes
    if quotes.empty:
        return Text(f"No quote can be shown: no group has at least {res.settings.min_n} writers.")
    labels = _code_labels(res)
    lines = []
    for code, part in quotes.groupby("code", sort=False):
        lines.append(f"**{labels.get(code, code)}**\n")
        lines += [f"- “{q}”" + (f" ({e})" if isinstance(e, str) and e else "")
                  for q, e in zip(part["quote"], part["entry_point"])]
        lines.append("")
    return Text("\n".join(lines))


def reflection_agreement_table(res) -> pd.DataFrame | Text:
    """Agreement between the automatic coder and human coders per code (Cohen's kappa), and across all
    coders (Krippendorff's alpha); a sentence when no human coded."""
    table = res.reflection_agreement
    if table is None:
        return Text("No human codes yet, so no agreement to report (see above for how to add them).")
    labels = _code_labels(res)
    pairs = table[table["rater_a"] != "all raters"]
    out = pairs.assign(pair=pairs["rater_a"] + " vs " + pairs["rater_b"]).pivot(index="code", columns="pair",
                                                                               values="kappa")
    alpha = table[table["rater_a"] == "all raters"].set_index("code")["alpha"]
    out["alpha, all coders"] = alpha
    order = [c for c in table["code"].drop_duplicates()]
    out = out.reindex(order).round(2)
    out.index = [labels.get(c, "all codes" if c == "all" else c) for c in out.index]
    out.index.name = "code (Cohen's kappa per pair)"
    return out.reset_index()


def reflection_caveats(res) -> Text:
    """What the coding can and cannot tell, in plain words."""
    info = res.reflection_info
    return Text(
        "- The automatic coder looks for words, not meaning. It finds what people say in the usual words, and "
        "misses irony, unusual phrasing and typos in the cue words; a mention can be coded that a reader would "
        "not count. Its figures against codes planted in the simulated sample and against answers coded by hand "
        "are in the project's notes; on real answers, let a person code the sheet and read the agreement.\n"
        "- A share says how many *wrote* about something, not how many think it: people who wrote nothing "
        f"({info['junk']} empty answers here, and everyone who skipped the question) are not counted.\n"
        "- Entry points were chosen per session, so a difference between them rests on a handful of sessions; "
        "the intervals say how much.\n"
        "- Quotes are scrubbed of names, e-mail addresses, handles and numbers, shortened, and taken only from "
        f"groups of at least {info['min_n']} people, so that a quote cannot point to one person.")
