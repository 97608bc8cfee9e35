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
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from analysis import messages
from analysis.compare import ARMS, CONTRAST, CORRECTION, EFFECT_TYPES, TOO_FEW
from analysis.profiles import (CLOSE_CALL, DISSOLVED_JACCARD, ENTROPY_CAUTION, MARKED_Z, MIN_N as MIN_PROFILE_N,
                               MIN_SEPARATION, MIN_SHARE, NAMED_PATTERNS, STABLE_JACCARD, SURE_POSTERIOR, SURE_SHARE_CAUTION,
                               k_verdict)
from analysis.scales import default_min_items


class Text(str):
    """Markdown that a notebook shows as formatted text (and prints as itself)."""

    def _repr_markdown_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return str(self)


def _lang(where) -> str:
    """The report language of ``where``: a :class:`~analysis.results.Results` or a language code."""
    return where if isinstance(where, str) else where.language


def _t(where, key: str, /, **facts) -> str:
    """Message ``key`` of the catalogue (:mod:`analysis.messages`) in the language of ``where``."""
    return messages.text(_lang(where), key, **facts)


def text(res, key: str, /, needs: str | None = None, **facts) -> Text:
    """A message of the catalogue as Markdown, in the study's language: the notebooks' headings and prose.

    With ``needs`` (a stage), empty when the study's results lack that stage: a section's heading is
    not shown above nothing.

    Examples
    --------
    >>> print(text("nl", "list.and", rest="a", last="b"))
    a en b
    """
    if needs is not None and not res.available(needs):
        return Text("")
    return Text(_t(res, key, **facts))


def _pct(x: float, language: str = "en") -> str:
    """A share as a percentage without needless decimals.

    Examples
    --------
    >>> _pct(0.95), _pct(0.9), _pct(0.975), _pct(0.975, "nl")
    ('95%', '90%', '97.5%', '97,5%')
    """
    return messages.percent(language, x)


def _num(x: float, language: str = "en", digits: int = 2, *, signed: bool = False) -> str:
    """A number in the language's notation (decimal comma in Dutch)."""
    return messages.number(language, x, digits, signed=signed)


def _g(x: float, language: str = "en", spec: str = "g") -> str:
    """A constant as Python's ``{:g}`` writes it, in the language's notation.

    Examples
    --------
    >>> _g(0.5), _g(0.75, "nl"), _g(2.0)
    ('0.5', '0,75', '2')
    """
    return _num(x, language, len(format(x, spec).partition(".")[2]))


def _column(language: str, column: str) -> str:
    """A table column's header as :func:`people_table` shows it (to name it in a sentence)."""
    key = f"col.{column}"
    return _t(language, key) if messages.has(language, key) else column.replace("_", " ")


def _count(n: int, one: str, many: str | None = None, language: str | None = None, **facts) -> str:
    """``n`` with its noun: "1 session", "3 sessions"; with ``language``, ``one`` is a catalogue key."""
    if language is not None:
        return messages.plural(language, one, int(n), **facts)
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _join(words: list[str], language: str = "en") -> str:
    """Words joined as a sentence: "a", "a and b", "a, b and c".

    Examples
    --------
    >>> _join(["tool skills"]), _join(["focus", "guts"]), _join(["a", "b", "c"], "nl")
    ('tool skills', 'focus and guts', 'a, b en c')
    """
    return messages.join(language, words)


# --- what a study lacks ---------------------------------------------------------------

#: Reasons a stage could not run (:data:`analysis.pipeline` codes); their words are the catalogue's
#: ``lacks.<code>`` (what is missing, for everyone) and ``fix.<code>`` (how to add it, for the researcher).
WHY_NOT = ("no_readiness", "no_constructs", "too_few_scores", "no_admissible", "no_profiles", "no_outcomes", "no_entry_point",
           "no_sessions", "no_entry_point_data", "mixed_sessions", "no_free_text")


def _escaped(detail: dict | None, baseline: str | None, language: str) -> dict:
    import html

    # values come from the data (a session's name): escaped, as the text is shown as Markdown
    detail = {k: html.escape(v) if isinstance(v, str) else v for k, v in (detail or {}).items()}
    detail.setdefault("baseline", html.escape(baseline or _t(language, "lacks.first_wave")))
    return detail


def why_not(why: str | None, detail: dict | None = None, *, baseline: str | None = None,
            language: str = "en") -> Text:
    """What a study lacks for a stage, and how to add it, in two plain sentences.

    Examples
    --------
    >>> print(why_not("no_entry_point"))  # doctest: +ELLIPSIS
    This study does not say which entry point each session used. Say which entry point ...
    """
    if why not in WHY_NOT:
        return Text(_t(language, "lacks.not_built"))
    detail = _escaped(detail, baseline, language)
    return Text(f"{_t(language, 'lacks.' + why, **detail)} {_t(language, 'fix.' + why, **detail)}")


def stage_note(res, stage: str, *, fix: bool = True) -> Text:
    """Empty when ``stage`` ran; else what the study lacks (:func:`why_not`; without ``fix``: only
    what is missing, with no file or setting to change: the trainer's sentence)."""
    if res.available(stage):
        return Text("")
    why, detail = res.why_not(stage)
    if fix or why not in WHY_NOT:
        return why_not(why, detail, baseline=res.wave("baseline"), language=res.language)
    return Text(_t(res, "lacks." + why, **_escaped(detail, res.wave("baseline"), res.language)))


def stage_fix(res, stage: str) -> Text:
    """How to add what a study lacks for ``stage`` (study file, codebook): for the researcher; empty when it ran."""
    if res.available(stage):
        return Text("")
    why, detail = res.why_not(stage)
    if why not in WHY_NOT:
        return Text(_t(res, "lacks.not_built"))
    return Text(_t(res, "fix." + why, **_escaped(detail, res.wave("baseline"), res.language)))


# --- data quality ------------------------------------------------------------------

def overview(res) -> Text:
    """The study's title, how many people and responses were kept, and the waves with their roles."""
    lang = res.language
    summary = res.summary
    roles = {wave: role for role, wave in res.study["roles"].items() if wave}
    waves = ", ".join(f"**{w}**" + (f" ({_t(lang, 'wave.' + roles[w])})" if w in roles else "")
                      for w in res.study["waves"])
    kept = sum(s["rows_clean"] for s in summary["sources"])
    return text(res, "quality.overview", title=res.study["title"],
                people=_count(summary["participants"], "count.participant", language=lang),
                responses=_count(kept, "count.response", language=lang),
                exports=_count(len(summary["sources"]), "count.export", language=lang), waves=waves)


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
        return text(res, "quality.not_linked")
    return text(res, "quality.linked", first=res.study["waves"][0])


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
    out = _t(res, "quality.missing")
    if codes:
        shown = _join([f"**{_reason(res, c)}** ("
                       + ", ".join(dict.fromkeys(l for s in scales.values() for l in s.missing.get(c, ()))) + ")"
                       for c in codes], res.language)
        out += " " + _t(res, "quality.missing_codes", codes=shown)
    return Text(out)


def _reason(where, code: str) -> str:
    """A reason an answer is missing or a row set aside ("dont_know") in words."""
    key = f"reason.{code.replace(' ', '_')}"
    return _t(where, key) if messages.has(_lang(where), key) else code.replace("_", " ")


def missing_summary(res) -> pd.DataFrame:
    """Share of answers missing per wave and reason (percent of every answer asked in that wave)."""
    table = missingness(res.responses, res.codebook)
    reasons = [c for c in table.columns if c not in ("wave", "variable", "n", "answered")]
    out = (100 * table.groupby("wave", sort=False)[reasons].mean()).round(2)
    out.columns = [f"% {c.replace('_', ' ')}" for c in out.columns]
    return out


def missing_people(res) -> Table:
    """Share of answers missing per survey and reason, as percentages (:func:`missingness`)."""
    table_ = missingness(res.responses, res.codebook)
    reasons = [c for c in table_.columns if c not in ("wave", "variable", "n", "answered")]
    out = table_.groupby("wave", sort=False)[reasons].mean()
    return table(res, out, percent=reasons, labels={c: _reason(res, c) for c in reasons})


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
        return text(res, "lacks.no_readiness")
    return text(res, "profiles.readiness", constructs=_join(names, res.language), baseline=res.wave("baseline"))


def reliability_text(res) -> Text:
    """How scores are made and what alpha and omega say, with the study's confidence level."""
    lang = res.language
    rel = res.reliability
    items = sorted(set(rel["n_items"]))
    need = sorted({default_min_items(k) for k in items})
    return text(res, "research.reliability", need=_join([str(n) for n in need], lang),
                items=_join([str(k) for k in items], lang), level=_pct(res.settings.confidence, lang),
                good=_g(0.7, lang))


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


def _solution(row, language: str = "en") -> str:
    return _t(language, "research.solution", profiles=_count(int(row["k"]), "count.profile", language=language),
              model=row["model"])


def _stable_words(row, language: str = "en") -> str:
    """Whether a solution's every profile is stable, naming the least stable; "" for one group (a
    single profile is everyone in every resample: there is nothing to call stable)."""
    if pd.isna(row.get("jaccard_min", np.nan)) or row.get("k") == 1:
        return ""
    key = "research.all_stable" if row["jaccard_min"] >= STABLE_JACCARD else "research.not_stable"
    return _t(language, key, profile=row["least_stable"],
              jaccard=_num(row["jaccard_min"], language))


def _why_rejected(row, language: str = "en") -> str:
    """Why the stability rule passed a solution over: two profiles overlap, or one is not stable."""
    if row.get("separation_min", np.nan) < MIN_SEPARATION:
        pair = re.fullmatch(r"'(.*)' and '(.*)'", str(row["closest"]))
        words = _join([f"'{name}'" for name in pair.groups()], language) if pair else str(row["closest"])
        return _t(language, "research.too_close", profiles=words,
                  distance=_num(row["separation_min"], language), least=_g(MIN_SEPARATION, language))
    return _stable_words(row, language)


def k_choice_reason(fit: pd.DataFrame, *, k_fixed: int | None = None, criterion: str = "bic",
                    language: str = "en") -> str:
    """Why this number of profiles, and what the runner-up was, in plain words.

    Parameters
    ----------
    fit : pandas.DataFrame
        The fit table (:data:`analysis.profiles.FIT_COLUMNS`).
    k_fixed : int, optional
        The number of profiles the researcher fixed, if any.
    criterion : {"bic", "icl"}
        The fit measure that ordered the solutions.
    language : str
        The report language.

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
    >>> print(k_choice_reason(fit, language="nl"))  # doctest: +NORMALIZE_WHITESPACE
    Op BIC alleen zou de keus vallen op 4 profielen (diag), maar profiel 'c' is niet stabiel (Jaccard 0,41),
    dus is de analyse teruggegaan naar 3 profielen (diag): elk profiel is stabiel (het minst stabiele, 'b',
    heeft Jaccard 0,97). De tweede keus is die oplossing met 4 profielen (diag).
    """
    lang = language
    crit = criterion.upper()
    rule = fit[fit["rule_choice"]].iloc[0]
    admissible = fit[fit["converged"] & ~fit["small_profile"]].sort_values([criterion, "k"])
    top = admissible.iloc[0]
    runner = fit[fit["runner_up"]]
    stable = _stable_words(rule, lang)

    def then(key, words):  # ", and <words>." / ": <words>." or just "."
        return _t(lang, key, words=words) if words else "."

    def direction(diff):
        return _t(lang, "research.higher" if diff > 0 else "research.lower", diff=_num(abs(diff), lang, 1))

    if top.name != rule.name:
        rejected = fit["jaccard_min"] < STABLE_JACCARD
        if "separation_min" in fit:
            rejected |= fit["separation_min"] < MIN_SEPARATION
        between = fit[(fit["k"] < top["k"]) & (fit["k"] > rule["k"]) & rejected]
        between = between.sort_values("k", ascending=False).drop_duplicates("k")
        either = "; ".join(f"{_solution(r, lang)}: {_why_rejected(r, lang)}" for _, r in between.iterrows())
        out = (_t(lang, "research.k_stepped_down", crit=crit, top=_solution(top, lang),
                  why=_why_rejected(top, lang) or _t(lang, "research.it_not_stable"), rule=_solution(rule, lang))
               + then("research.then_colon", stable)
               + (" " + _t(lang, "research.fewer_not_either", either=either) if either else ""))
    else:
        out = _t(lang, "research.k_best", rule=_solution(rule, lang), crit=crit) + then("research.then_and", stable)
    if len(runner):
        r = runner.iloc[0]
        diff = float(r[criterion] - rule[criterion])
        if r.name == top.name and top.name != rule.name:
            out += " " + _t(lang, "research.runner_up_top", solution=_solution(r, lang))
        else:
            out += " " + _t(lang, "research.runner_up", solution=_solution(r, lang), crit=crit,
                            direction=direction(diff))
            out += then("research.then_semicolon", _stable_words(r, lang))
            if abs(diff) < CLOSE_CALL:
                out += " " + _t(lang, "research.close_call", crit=crit, close=_g(CLOSE_CALL, lang))
    if k_fixed is not None:
        chosen = fit[fit["chosen"]].iloc[0]
        if int(chosen["k"]) == int(rule["k"]) and chosen.name == rule.name:
            out += " " + _t(lang, "research.k_fixed_same", k=k_fixed)
        else:
            diff = float(chosen[criterion] - rule[criterion])
            out += " " + _t(lang, "research.k_fixed_other", k=k_fixed, solution=_solution(chosen, lang), crit=crit,
                            direction=direction(diff)) + then("research.then_and", _stable_words(chosen, lang))
    verdict = k_verdict_words(fit, lang)
    return out + (" " + verdict if verdict else "")


def k_verdict_words(fit: pd.DataFrame, language: str = "en") -> str:
    """Why the number of profiles is not clear (:func:`analysis.profiles.k_verdict`); "" when it is.

    Examples
    --------
    >>> fit = pd.DataFrame({"model": ["diag", "diag"], "k": [1, 2], "n": 180, "entropy": [1.0, 0.66],
    ...                     "jaccard_min": [1.0, 0.81], "least_stable": ["all", "b"], "chosen": [False, True]})
    >>> print(k_verdict_words(fit))
    How many profiles there are is not clear: the profiles overlap (entropy 0.66, below 0.8). Read them as a first sketch.
    >>> print(k_verdict_words(fit.assign(chosen=[True, False]), language="nl"))  # doctest: +NORMALIZE_WHITESPACE
    Er zijn geen afzonderlijke profielen gevonden. Misschien vormen de deelnemers één groep, misschien liggen hun
    profielen te dicht bij elkaar om met 180 deelnemers uit elkaar te houden: de gegevens kunnen niet zeggen welke
    van de twee.
    """
    lang = language
    verdict = k_verdict(fit)
    chosen = fit[fit["chosen"]].iloc[0]
    if verdict == "none":
        return _t(lang, "research.k_none", n=int(chosen["n"]))
    if verdict == "clear":
        return ""
    if chosen.get("entropy", np.nan) < ENTROPY_CAUTION:
        reason = _t(lang, "research.unclear_overlap", entropy=_num(chosen["entropy"], lang),
                    limit=_num(ENTROPY_CAUTION, lang, 1))
    else:
        reason = _t(lang, "research.unclear_unstable", profile=_profile(lang, chosen["least_stable"]),
                    jaccard=_num(chosen["jaccard_min"], lang))
    return _t(lang, "research.k_unclear", reason=reason)


def k_choice_text(res) -> Text:
    """How the number of profiles was chosen, with this study's range and rules, and why this k."""
    lang = res.language
    fit = res.fit
    ks = sorted(fit["k"].unique())
    models = list(dict.fromkeys(fit["model"]))
    checked = "jaccard_min" in fit and fit["jaccard_min"].notna().any()
    info = res.profile_info
    criterion = info.get("criterion", "bic")
    rule = _t(lang, "research.k_rule", measure=_t(lang, f"research.measure.{criterion}"),
              share=_pct(MIN_SHARE, lang), n=MIN_PROFILE_N)
    if checked:
        rule += _t(lang, "research.k_rule_stable", jaccard=_g(STABLE_JACCARD, lang),
                   separation=_g(MIN_SEPARATION, lang))
    else:
        rule += ". "
    why = (k_choice_reason(fit, k_fixed=info.get("k_fixed"), criterion=criterion, language=lang)
           if "rule_choice" in fit else "")
    described = "; ".join(_t(lang, f"research.model.{m}") if messages.has(lang, f"research.model.{m}") else m
                          for m in models)
    return Text(_t(lang, "research.k_tries", low=ks[0], high=ks[-1], ways=_count(len(models), "count.way",
                                                                             language=lang), described=described)
                + " " + rule + _t(lang, "research.k_entropy", blrt=_column(lang, "blrt_p")) + (f"\n\n{why}" if why else ""))


def fit_summary(res) -> Text:
    """The chosen solution and the smallest p-value the likelihood-ratio test can give."""
    lang = res.language
    info = res.profile_info
    reps = info["blrt_reps"]
    lines = [_t(lang, "research.fit_people", n=info["n"], excluded=info["excluded"]),
             _t(lang, "research.fit_chosen", profiles=_count(info["k"], "count.profile", language=lang),
                model=info["covariance_type"])]
    if reps:
        lines.append(_t(lang, "research.fit_blrt", reps=reps, p=_num(1 / (reps + 1), lang)))
    return Text("\n\n".join(lines))


def fit_table(res) -> pd.DataFrame:
    columns = ["model", "k", "bic", "sabic", "icl", "entropy", "smallest_n", "blrt_p", "jaccard_min", "runner_up",
               "chosen"]
    return res.fit[[c for c in columns if c in res.fit]].round(2)


def names_text(res) -> Text:
    """How profiles are named, with the study's own construct labels and the confidence level."""
    lang = res.language
    labels = construct_labels(res)
    aspects = {res.codebook.construct(c).aspect for c in res.settings.readiness}
    out = _t(lang, "profiles.names", level=_pct(res.settings.confidence, lang), z=_num(MARKED_Z, lang, 1))
    if {"tool_skills", "focus", "guts"} <= aspects:
        out += " " + _t(lang, "profiles.patterns", patterns=_join(
            [f"*{_profile(lang, name)}* ({_pattern_words(conditions, res, labels)})"
             for name, conditions in NAMED_PATTERNS.items()], lang))
    return Text(out)


def _pattern_words(conditions: dict, res, labels: dict) -> str:
    by_aspect = {res.codebook.construct(c).aspect: labels.get(c, c) for c in res.settings.readiness}
    return ", ".join(f"{by_aspect.get(a, a.replace('_', ' '))} {_t(res, 'pattern.' + c)}" for a, c in conditions.items())


def profile_means_table(res) -> pd.DataFrame:
    return res.profile_means.round(2)


def stability_text(res) -> Text:
    lang = res.language
    info = res.profile_info
    drawn = info.get("resample_n") or info["n"]
    of = (_t(lang, "research.subsamples", resamples=info["resamples"], drawn=drawn, n=info["n"])
          if drawn < info["n"] else _t(lang, "research.resampled", resamples=info["resamples"]))
    return text(res, "research.stability", of=of, stable=_g(STABLE_JACCARD, lang),
                dissolved=_g(DISSOLVED_JACCARD, lang), level=_pct(res.settings.confidence, lang))


def stability_table(res) -> pd.DataFrame:
    columns = ["profile", "n", "share", "jaccard", "jaccard_low", "jaccard_high", "verdict"]
    return res.stability[columns].round(2)


def stability_summary(res) -> Text:
    info = res.profile_info
    return text(res, "research.ari", resamples=info["resamples"], ari=_num(info["ari_mean"], res.language))


def certainty_text(res) -> Text:
    return text(res, "research.certainty", column=_column(res.language, "share_sure"), sure=_g(SURE_POSTERIOR, res.language))


def certainty_table(res) -> pd.DataFrame:
    return res.certainty.round(2)


def cautions(fit: pd.DataFrame, stability: pd.DataFrame, certainty: pd.DataFrame, *,
             confidence: float = 0.95, language: str = "en") -> list[str]:
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
    language : str
        The language of the warnings.
    """
    lang = language
    out = []
    chosen = fit[fit["chosen"]].iloc[0]
    k = int(chosen["k"])
    if k == 1:
        out.append(_t(lang, "cautions.one_group", n=int(chosen["n"])))
    better = fit[(fit["bic"] < chosen["bic"]) & fit["small_profile"]]
    if len(better):
        row = better.sort_values("bic").iloc[0]
        out.append(_t(lang, "cautions.small", k=row["k"], model=row["model"], n=row["smallest_n"]))
    if k > 1:
        resamples = int(stability["resamples"].iloc[0])
        for _, row in stability.iterrows():
            if row["verdict"] != "stable":
                out.append(_t(lang, "cautions.unstable", profile=_profile(lang, row["profile"]),
                              verdict=_t(lang, "verdict." + row["verdict"].replace(" ", "_").replace(",", "")),
                              jaccard=_num(row["jaccard"], lang), low=_num(row["jaccard_low"], lang),
                              level=_pct(confidence, lang), resamples=resamples))
    entropy = chosen["entropy"]
    if k > 1 and entropy < ENTROPY_CAUTION:
        out.append(_t(lang, "cautions.overlap", entropy=_num(entropy, lang), limit=_num(ENTROPY_CAUTION, lang, 1)))
    sure = float(certainty["share_sure"].iloc[-1])
    if k > 1 and sure < SURE_SHARE_CAUTION:
        out.append(_t(lang, "cautions.unsure", share=_pct(round(sure, 2), lang), p=_num(SURE_POSTERIOR, lang, 1)))
    return out


def cautions_text(res) -> Text:
    notes = cautions(res.fit, res.stability, res.certainty, confidence=res.settings.confidence, language=res.language)
    return Text("\n".join(f"- {n}" for n in notes) if notes else _t(res, "cautions.none"))


# --- the entry-point comparison -------------------------------------------------------

def how_to_read_effects(res) -> Text:
    """How to read the comparison, with the study's confidence level."""
    return text(res, "effects.how_to_read", level=_pct(res.settings.confidence, res.language),
                tool=_arm(res, ARMS[1]), strategy=_arm(res, ARMS[0]))


def sessions_table(res) -> pd.DataFrame:
    """People per session and entry point (everyone whose answers are linked to a session with an entry point)."""
    data = res.responses.dropna(subset=["workshop", "entry_point"])
    table = (data.groupby(["entry_point", "workshop"], observed=True)["participant"].nunique()
             .rename("participants").reset_index())
    return table


def profile_weights_text(res) -> Text:
    if not res.available("profiles"):
        return Text(_t(res, "effects.no_profiles") + " " + stage_note(res, "profiles", fix=False))
    return text(res, "effects.profile_weights", baseline=res.wave("baseline"))


def profile_sizes(res) -> pd.DataFrame:
    """People per profile as sums of probabilities."""
    if not res.available("profiles"):
        return pd.DataFrame(columns=["profile", "people_sum"])
    sums = res.posteriors.sum().round(0).astype(int)
    return pd.DataFrame({"profile": sums.index, "people_sum": sums.to_numpy()})


def methods_text(res) -> Text:
    """The methods behind the effects, in a few plain lines, with the study's settings.

    The words of :mod:`analysis.compare`'s method constants (``CI_METHOD``, ``CORRECTION_METHOD``, ...) are
    the catalogue's ``method.*`` messages here, so a Dutch report words them in Dutch.
    """
    s = res.settings
    lang = res.language
    lines = [_t(lang, "method.contrast", tool=_arm(lang, ARMS[1]), strategy=_arm(lang, ARMS[0])),
             _t(lang, "method.intervals", level=_pct(s.confidence, lang)),
             _t(lang, "method.p_values"),
             _t(lang, "method.too_few", n=s.min_n, sessions=s.min_sessions, too_few=_t(lang, "effects.too_few"))]
    if res.available("profiles"):
        correction = getattr(s, "correction", CORRECTION)
        lines.insert(3, _t(lang, "method.profiles", correction=_t(lang, f"method.correction.{correction}"))
                     + " " + _t(lang, f"method.correction_sentence.{correction}"))
    return Text("\n".join(f"- {line}" for line in lines))


def outcome_labels(res) -> dict[str, str]:
    """Outcome (or item) name -> how reports name it."""
    labels = {}
    for name, spec in res.codebook.outcomes.items():
        labels[name] = spec.shown(res.language)
        if spec.baseline:
            labels[f"{name}_gain"] = _t(res, "outcome.gain", outcome=spec.shown(res.language))
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
    lang = res.language
    outcomes = res.outcomes.set_index("outcome")
    labels = outcome_labels(res)
    parts = []
    for name in summary_outcomes(res):
        row = outcomes.loc[name]
        items = row["items"].split()
        scale = res.codebook.variables[items[0]].scale
        facts = {"low": scale.min_code, "high": scale.max_code, "n": len(items),
                 "wave": _join(sorted({w for i in items for w in res.codebook.variables[i].waves}), lang)}
        if name.endswith("_gain") and isinstance(row["baseline"], str) and row["baseline"]:
            kind = "gain"
        elif row["kind"] == "interval" and len(scale.levels) == 2:
            kind = "yes_share"
        elif row["kind"] == "interval":
            kind = "mean"
        elif row["kind"] == "binary":
            kind = "binary"
        else:
            kind = "ordinal"
        parts.append(f"**{labels.get(name, name)}** ({_t(lang, 'outcomes.' + kind, **facts)})")
    sessions = res.effects[res.effects["profile"] == "all"].iloc[0]
    p_min = sessions["p_min"]
    out = _t(lang, "outcomes.summary", parts="; ".join(parts))
    if isinstance(p_min, float) and not math.isnan(p_min) and p_min >= 0.01:
        per_arm = int(min(sessions["sessions_tool_first"], sessions["sessions_strategy_first"]))
        out += "\n\n" + _t(lang, "outcomes.p_floor", p=_column(lang, "p"), p_adjusted=_column(lang, "p_adjusted"),
                                 per_arm=per_arm, p_min=_g(p_min, lang, ".2g"))
    return Text(out)


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
    """Every summary outcome in words: for everyone and each profile, which entry point did better, how sure
    that is (:func:`sureness`), and the difference with its interval."""
    lang = res.language
    labels = outcome_labels(res)
    effects = res.effects
    parts = []
    for name in summary_outcomes(res):
        sel = effects[(effects["outcome"] == name) & (effects["comparison"] != "interaction")]
        sel = sel[[t == EFFECT_TYPES[k][0] for t, k in zip(sel["effect_type"], sel["kind"])]]
        if sel.empty:
            continue
        lines = [f"**{labels.get(name, name)}**"]
        for r in sel.to_dict("records"):
            scale, places = (100, 0) if r["effect_type"] == "risk difference" else (1, 2)
            word, direction = sureness(r)
            group = _t(lang, "table.everyone") if r["profile"] == "all" else _profile(lang, r["profile"])
            lines.append("- " + _t(lang, "plain.line", group=group[:1].upper() + group[1:],
                                   finding=_t(lang, "finding." + word.replace(" ", "_"),
                                              arm=_arm(lang, ARMS[1] if direction > 0 else ARMS[0])),
                                   estimate=_num(scale * r["estimate"], lang, places, signed=True),
                                   low=_num(scale * r["ci_low"], lang, places),
                                   high=_num(scale * r["ci_high"], lang, places)))
        parts.append("\n".join(lines))
    return Text("\n\n".join(parts))


#: Technical words a trainer's part of each page may use, explained in its glossary (catalogue ``glossary.<term>``).
GLOSSARY = {"summary": ("entry_point", "profile", "interval", "session"),
            "quality": ("wave", "set_aside", "linked"),
            "profiles": ("profile", "interval", "standard_deviation"),
            "effects": ("entry_point", "profile", "interval", "difference", "session"),
            "reflect": ("code", "share", "interval", "profile")}


def glossary(res, page: str) -> Text:
    """A short glossary of the technical words left on a trainer's page, in the study's language."""
    lines = [f"**{_t(res, 'glossary.term.' + term)}**: {_t(res, 'glossary.' + term)}" for term in GLOSSARY[page]]
    return Text(f"#### {_t(res, 'glossary.title')}\n\n" + "\n".join(f"- {line}" for line in lines))


def display_table(effects: pd.DataFrame, *, comparison: str | None = None, outcomes: Iterable[str] | None = None,
                  family: str | None = None, primary_only: bool = True, digits: int = 2,
                  confidence: float = 0.95, language: str = "en") -> pd.DataFrame:
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
    language : str
        The notation of the interval cells (``[0,10; 0,50]`` in Dutch: the comma is the decimal sign).

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
        f"{_pct(confidence)} CI": [_t(language, "table.ci_cell", low=_num(lo, language, digits),
                                      high=_num(hi, language, digits))
                                   for lo, hi in zip(sel["ci_low"], sel["ci_high"])],
        "p": sel["p"].round(digits).to_numpy(), "p adjusted": sel["p_adjusted"].round(digits).to_numpy(),
        "n tool-first": sel["n_tool_first"].to_numpy(), "n strategy-first": sel["n_strategy_first"].to_numpy(),
        "sessions (tool + strategy)": [f"{t} + {s}" for t, s in zip(sel["sessions_tool_first"], sel["sessions_strategy_first"])],
        "interpretable": sel["interpretable"].to_numpy()})


def effects_table(res, comparison: str, *, summary: bool = True, family: str | None = None) -> pd.DataFrame:
    """:func:`display_table` of the study's effects at its confidence level."""
    outcomes = summary_outcomes(res) if summary else None
    return display_table(res.effects, comparison=comparison, outcomes=outcomes, family=family,
                         confidence=res.settings.confidence, language=res.language)


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
    lines = [_t(res, "caveats.sessions", sessions=_count(sessions, "count.session", language=res.language))]
    if res.available("profiles"):
        lines.append(_t(res, "caveats.profiles"))
    lines.append(_t(res, "caveats.chosen"))
    return Text("\n".join(f"- {line}" for line in lines))


def _estimate(where, r) -> str:
    """An effect and its interval in words for an alt text: "+0.36 (0.12 to 0.61)"."""
    lang = _lang(where)
    return _t(lang, "alt.estimate", estimate=_num(r.estimate, lang, signed=True), low=_num(r.ci_low, lang),
              high=_num(r.ci_high, lang))


def item_figure(res):
    """The answers to the items of :func:`item_outcome`, per entry point (a figure), or why there is none."""
    from analysis import plots

    lang = res.language
    outcome = item_outcome(res)
    if outcome is None:
        return text(res, "alt.no_item_outcome")
    fig = plots.likert_bars(item_counts(res, outcome), res.effects, title=item_question(res, outcome),
                            labels=outcome_labels(res), confidence=res.settings.confidence, words=_plot_words(res))
    labels = outcome_labels(res)
    rows = res.effects[res.effects["family"].str.startswith(f"{outcome} items")
                       & (res.effects["comparison"] == "overall")]
    rows = rows[[t == EFFECT_TYPES[k][0] for t, k in zip(rows["effect_type"], rows["kind"])]]
    effects = "; ".join(f"{labels.get(r.outcome, r.outcome)} {_estimate(lang, r)}" for r in rows.itertuples())
    return plots.Described(fig, _t(lang, "alt.items", question=item_question(res, outcome), tool=_arm(lang, ARMS[1]),
                                   strategy=_arm(lang, ARMS[0]), level=_pct(res.settings.confidence, lang),
                                   effects=effects))


def item_effects_people(res) -> Table | Text:
    """The effects of the items of :func:`item_outcome`, one per item, for a trainer (nothing when there are
    none: :func:`item_figure` above it says why)."""
    outcome = item_outcome(res)
    if outcome is None:
        return Text("")
    return effects_people(res, "overall", summary=False, family=f"{outcome} items")


def forest_figure(res):
    """Effects of the composite outcomes for everyone, each profile and between profiles (a figure)."""
    from analysis import plots

    outcomes = forest_outcomes(res)
    if not outcomes:
        return text(res, "alt.no_composite")
    fig = plots.effect_forest(res.effects, outcomes, labels=outcome_labels(res), confidence=res.settings.confidence,
                              words=_plot_words(res))
    return plots.Described(fig, _forest_alt(res, outcomes))


def _plot_words(res) -> dict:
    """The words :mod:`analysis.plots` draws (its ``WORDS``), from the catalogue's ``plot.*`` messages, the
    shown names of profiles, entry points, reasons and effect types (``"names"``), and the language (whose
    decimal sign the figures' numbers take)."""
    from analysis import plots

    lang = res.language
    names = {arm: _arm(lang, arm) for arm in ARMS}
    if res.available("profiles"):
        names |= {name: _profile(lang, name) for name in res.posteriors.columns}
    names |= {code: _reason(lang, code) for code in ("duplicate", "empty", "no_consent", "test_submission",
                                                     "preview", "dont_know", "not_applicable", "blank")}
    names |= {kind: _t(lang, "effect_type." + kind.replace("'", "").replace(" ", "_"))
              for kinds in EFFECT_TYPES.values() for kind in kinds}
    return {key: _t(lang, "plot." + key) for key in plots.WORDS} | {"names": names, "language": lang}


def _forest_alt(res, outcomes: list[str]) -> str:
    """The forest plot's numbers in words: per outcome, every group's effect and interval."""
    lang = res.language
    labels = outcome_labels(res)
    effects = res.effects
    parts = []
    for outcome in outcomes:
        rows = effects[(effects["outcome"] == outcome) & (effects["comparison"] != "interaction")]
        rows = rows[[t == EFFECT_TYPES[k][0] for t, k in zip(rows["effect_type"], rows["kind"])]]
        groups = ", ".join(f"{_t(lang, 'alt.everyone') if r.profile == 'all' else _profile(lang, r.profile)} "
                           f"{_estimate(lang, r)}" for r in rows.itertuples())
        parts.append(f"{labels.get(outcome, outcome)}: {groups}")
    return _t(lang, "alt.forest", tool=_arm(lang, ARMS[1]), strategy=_arm(lang, ARMS[0]),
              level=_pct(res.settings.confidence, lang), parts="; ".join(parts))


def missing_figure(res):
    """Share of missing answers per item and reason (a figure), or why there is none."""
    from analysis import plots

    lang = res.language
    table = missingness(res.responses, res.codebook)
    if table.empty:
        return text(res, "alt.no_missing")
    answered = table.groupby("variable", sort=False)["answered"].min().sort_values()
    worst = ", ".join(f"{res.codebook.variables[v].shown(lang) if v in res.codebook.variables else v} "
                      f"{_pct(round(1 - a, 3), lang)}" for v, a in answered.head(3).items())
    return plots.Described(plots.missing_answers(table, words=_plot_words(res)),
                           _t(lang, "alt.missing", n=len(answered), worst=worst))


def sources_figure(res):
    """Each export's rows, kept or set aside by reason (a figure)."""
    from analysis import plots

    lang = res.language
    table = source_table(res.summary)
    fixed = {"source", "wave", "format", "rows_in", "rows_complete", "rows_clean", "rows_quarantined"}
    parts = []
    for row in table.to_dict("records"):
        aside = ", ".join(f"{row[c]} {_reason(lang, c)}" for c in table.columns if c not in fixed and row[c])
        parts.append(_t(lang, "alt.source", wave=row["wave"], kept=row["rows_clean"], rows=row["rows_in"])
                     + (_t(lang, "alt.set_aside", aside=aside) if aside else ""))
    return plots.Described(plots.rows_by_source(table, words=_plot_words(res)),
                           _t(lang, "alt.sources", parts="; ".join(parts)))


def fit_figure(res):
    """How well each number of profiles fits (a figure)."""
    from analysis import plots

    lang = res.language
    fit = res.fit
    chosen = fit[fit["chosen"].astype(str) == "True"].iloc[0]
    return plots.Described(plots.profile_fit(fit, words=_plot_words(res)),
                           _t(lang, "alt.fit", low=int(fit["k"].min()), high=int(fit["k"].max()),
                              chosen=_count(int(chosen["k"]), "count.profile", language=lang), model=chosen["model"],
                              bic=round(float(chosen["bic"]))))


def profiles_figure(res):
    """Mean readiness scores per profile (a figure)."""
    from analysis import plots

    lang = res.language
    labels = construct_labels(res)
    means = res.profile_means
    fig = plots.readiness_profiles(means, confidence=res.settings.confidence, labels=labels, words=_plot_words(res))
    parts = []
    for name, group in means.groupby("profile", sort=False):
        parts.append(f"{_profile(lang, name)}: " + ", ".join(f"{labels.get(r.construct, r.construct)} "
                                                              f"{_num(r.mean, lang, 1)}" for r in group.itertuples()))
    return plots.Described(fig, _t(lang, "alt.profiles", level=_pct(res.settings.confidence, lang),
                                   parts="; ".join(parts)))


def stability_figure(res):
    """How often each profile comes back when the data are resampled (a figure)."""
    from analysis import plots

    lang = res.language
    st = res.stability
    fig = plots.profile_stability(st, confidence=res.settings.confidence, words=_plot_words(res))
    parts = ", ".join(f"{_profile(lang, r.profile)} {_num(r.jaccard, lang)} "
                      f"({_t(lang, 'alt.verdict.' + r.verdict.replace(',', '').replace(' ', '_'))})"
                      for r in st.itertuples())
    return plots.Described(fig, _t(lang, "alt.stability", resamples=int(st["resamples"].iloc[0]),
                                   stable=_g(STABLE_JACCARD, lang), parts=parts))


def certainty_figure(res):
    """How sure each person's profile is (a figure)."""
    from analysis import plots

    lang = res.language
    posterior = res.posteriors
    sure = float((posterior.max(axis=1) >= SURE_POSTERIOR).mean())
    return plots.Described(plots.profile_certainty(posterior, sure=SURE_POSTERIOR, words=_plot_words(res)),
                           _t(lang, "alt.certainty", share=_pct(round(sure, 3), lang), n=len(posterior),
                              sure=_g(SURE_POSTERIOR, lang)))


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
    """The rule behind the words of the summary, with the study's confidence level (empty without a comparison)."""
    if not res.available("compare"):
        return Text("")
    s = res.settings
    return text(res, "summary.rule", level=_pct(s.confidence, res.language),
                leaning=_num(LEANING, res.language, 1), min_n=s.min_n,
                sessions=_count(s.min_sessions, "count.session", language=res.language))


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


def _arm(where, arm: str) -> str:
    """An entry point's name in the report language ("tool-first")."""
    return _t(where, f"arm.{arm}")


#: A computed profile name (:func:`analysis.profiles.profile_names`): a named pattern or "high focus, low guts"
#: or "around average", maybe a qualifier for twins ("(lower)", "(higher guts)", "(guts: 2 of 3)") and a number.
_PROFILE_NAME = re.compile(r"^(?P<base>.+?)(?: \((?P<side>lower|higher)(?: (?P<on>[^)]+))?\)"
                           r"| \((?P<by>[^:()]+): (?P<rank>\d+) of (?P<of>\d+)\))?(?P<number> #\d+)?$")


def _profile(where, name: str) -> str:
    """A profile's name in the report language: the catalogue's word for a named pattern; a name computed
    from the centroid ("high focus, low guts") worded part by part with the study's construct labels; else
    the name itself. The stored name (the profile's id in every results file) never changes.

    Examples
    --------
    >>> _profile("nl", "confident explorers"), _profile("nl", "high focus, low guts (higher)")
    ('zelfverzekerde verkenners', 'hoog op focus, laag op guts (hoger)')
    >>> _profile("en", "high focus, low guts (higher)")
    'high focus, low guts (higher)'
    """
    lang = _lang(where)
    key = f"profile.{name}"
    if messages.has(lang, key):
        return _t(lang, key)
    match = _PROFILE_NAME.match(str(name))
    if not match:
        return name
    labels = {}
    if not isinstance(where, str):
        from analysis.profiles import construct_label

        for c in where.codebook.constructs:
            shown = where.codebook.construct(c).shown(lang)
            labels[where.codebook.construct(c).shown("en")] = labels[construct_label(c)] = shown
    base = match["base"]
    if messages.has(lang, f"profile.{base}"):
        words = _t(lang, f"profile.{base}")
    elif base == "around average":
        words = _t(lang, "profilename.average")
    else:
        parts = [part.split(" ", 1) for part in base.split(", ")]
        if not all(len(p) == 2 and p[0] in ("high", "low") for p in parts):
            return name
        words = ", ".join(_t(lang, "profilename." + side, construct=labels.get(c, c)) for side, c in parts)
    if match["side"]:
        words += f" ({_t(lang, 'profilename.' + match['side'])}"
        words += (f" {labels.get(match['on'], match['on'])})" if match["on"] else ")")
    elif match["by"]:
        words += " (" + _t(lang, "profilename.rank", construct=labels.get(match["by"], match["by"]),
                           rank=match["rank"], of=match["of"]) + ")"
    return words + (match["number"] or "")


def study_facts(res) -> Text:
    """The study in two lines: title, people per wave and the days they answered, sessions per entry point."""
    lang = res.language
    waves = wave_table(res.responses)
    per_wave = ", ".join(_t(lang, "summary.per_wave", n=int(r.participants), wave=r.wave) for r in waves.itertuples())
    days = res.responses["submitted"].dropna() if "submitted" in res.responses else pd.Series()
    people = summary_participants(res)
    if len(days):  # the days the surveys were answered: the study's dates, whatever the sessions are called
        people = _t(lang, "summary.people_dates", people=people, first=messages.date(lang, days.min()),
                    last=messages.date(lang, days.max()))
    text = _t(lang, "summary.facts", title=res.study["title"], people=people, per_wave=per_wave)
    if "entry_point" in res.responses and res.responses["entry_point"].notna().any():
        sessions = sessions_table(res).groupby("entry_point")["workshop"].nunique()
        arms = [_count(int(sessions.get(arm, 0)), "count.session_arm", language=lang, arm=_arm(lang, arm))
                for arm in ARMS]
        text += " " + _t(lang, "summary.sessions", arms=_join(arms, lang))
    return Text(text)


def summary_participants(res) -> str:
    return _count(int(res.summary["participants"]), "count.participant", language=res.language)


def _profile_portrait(res, name: str) -> str:
    """Who a profile's members are, from their standardised centroid: "higher guts and lower focus than most"."""
    lang = res.language
    labels = construct_labels(res)
    z = res.profile_info["z"][name]
    marked = sorted(((v, c) for c, v in z.items() if abs(v) >= MARKED_Z), key=lambda t: -abs(t[0]))
    if not marked:
        return _t(lang, "portrait.average")
    sides = [(word, [labels.get(c, c) for v, c in marked if (v > 0) == (word == "higher")])
             for word in ("higher", "lower")]
    parts = [_t(lang, f"portrait.{word}", constructs=_join(names, lang)) for word, names in sides if names]
    return _t(lang, "portrait.than_most", parts=_join(parts, lang))


def _finding(res, rows: pd.DataFrame, labels: dict) -> tuple[str, set]:
    """One group's results per measure in words, and the directions that are clear."""
    lang = res.language
    by_word = {}
    clear = set()
    for measure, outcome in _summary_outcomes_by_measure(res).items():
        sel = rows[rows["outcome"] == outcome]
        if sel.empty:
            continue
        primary = EFFECT_TYPES[sel["kind"].iloc[0]][0]
        row = sel[sel["effect_type"] == primary].iloc[0]
        word, direction = sureness(row)
        arm = _arm(lang, ARMS[1] if direction > 0 else ARMS[0])
        key = _t(lang, "finding." + word.replace(" ", "_"), arm=arm)
        by_word.setdefault(key, []).append(labels.get(outcome, outcome))
        if word == "clear":
            clear.add(direction)
    text = "; ".join(_t(lang, "finding.on", outcomes=_join(outs, lang), finding=key) for key, outs in by_word.items())
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
                              interactions=False, words=_plot_words(res))
    return plots.Described(fig, _forest_alt(res, outcomes))


def summary_caveats(res) -> Text:
    """:func:`caveats_text` when the comparison ran."""
    return caveats_text(res) if res.available("compare") else Text("")


def _most_written(res, profile: str) -> str:
    """" Mentioned most often ...: ..." from the reflections stage (the two largest interpretable shares)."""
    if not res.available("reflect"):
        return ""
    shares = res.reflection_shares
    rows = shares[(shares["kind"] == "code") & (shares["entry_point"] == "all") & (shares["profile"] == profile)
                  & (shares["interpretable"] == "yes")].sort_values("share", ascending=False, kind="stable")
    if rows.empty:
        return ""
    labels = _code_labels(res)
    top = [f"{labels.get(r.code, r.code)} ({_pct(round(r.share, 2), res.language)})" for r in rows.head(2).itertuples()]
    return " " + _t(res, "summary.most_written", codes=_join(top, res.language))


def _advice(clear: set, language: str = "en") -> str:
    if clear == {1}:
        return _t(language, "advice.start", arm=_arm(language, ARMS[1]))
    if clear == {-1}:
        return _t(language, "advice.start", arm=_arm(language, ARMS[0]))
    if clear:
        return _t(language, "advice.mixed")
    return _t(language, "advice.unclear")


def profiles_heading(res) -> Text:
    """The heading of the summary's per-profile paragraphs: what each paragraph says, which depends on
    whether the entry points could be compared."""
    return text(res, "summary.h_profiles" if res.available("compare") else "summary.h_profiles_who")


def profile_findings(res) -> Text:
    """One short paragraph per readiness profile (or for everyone): who they are, which entry point
    did better for them on each measure, how sure that is, and a suggested start. Without the
    comparison: why it is missing, then who each profile is (the trainer still learns who came)."""
    lang = res.language
    compared = res.available("compare")
    paragraphs = [] if compared else [_t(lang, "summary.cannot") + " " + stage_note(res, "compare", fix=False)]
    labels = outcome_labels(res) if compared else {}
    effects = res.effects if compared else None
    verdict = k_verdict(res.fit) if res.available("profiles") else "none"
    if verdict == "none" and res.available("profiles"):
        paragraphs.append(_t(lang, "summary.k_none" if compared else "summary.k_none_found", n=res.profile_info["n"]))
    elif res.available("profiles"):
        if verdict == "unclear":
            paragraphs.append(_t(lang, "summary.k_unclear"))
        sizes = res.posteriors.sum()
        total = sizes.sum()
        for name in res.profile_names:
            shown = _profile(lang, name)
            who = dict(name=shown[:1].upper() + shown[1:], n=int(round(sizes[name])),
                       share=_pct(round(sizes[name] / total, 2), lang), portrait=_profile_portrait(res, name))
            if compared:
                rows = effects[(effects["comparison"] == "profile") & (effects["profile"] == name)]
                finding, clear = _finding(res, rows, labels)
                paragraph = _t(lang, "summary.profile", finding=finding, advice=_advice(clear, lang), **who)
            else:
                paragraph = _t(lang, "summary.profile_who", **who)
            paragraphs.append(paragraph + _most_written(res, name))
    elif compared:
        paragraphs.append(_t(lang, "summary.no_profiles") + " " + stage_note(res, "profiles", fix=False))
    if compared:
        finding, clear = _finding(res, effects[effects["comparison"] == "overall"], labels)
        paragraphs.append(_t(lang, "summary.everyone", finding=finding, advice=_advice(clear, lang)))
    return Text("\n\n".join(paragraphs))


# --- reflections ----------------------------------------------------------------------

def _code_labels(res) -> dict:
    info = res.reflection_info
    return {name: (spec["label"].get(res.language) or spec["label"].get("en") or name)
            for name, spec in info["codes"].items()}


def reflections_overview(res) -> Text:
    """How many answers were coded, how many said nothing, in which languages, and who coded them."""
    lang = res.language
    info = res.reflection_info
    langs = _join([_t(lang, "reflect.in_language", n=n, language=_t(lang, f"language.{k}")
                      if messages.has(lang, f"language.{k}") else k) for k, n in sorted(info["languages"].items())],
                  lang)
    out = _t(lang, "reflect.overview", answers=_count(info["answers"], "count.answer", language=lang),
             writers=_count(info["writers"], "count.participant", language=lang), junk=info["junk"],
             languages=langs or _t(lang, "reflect.none")) + "\n\n"
    if info["coders"]:
        coders = _join([f"{name} ({_count(n, 'count.answer', language=lang)})" for name, n in info["coders"].items()],
                       lang)
        out += _t(lang, "reflect.coders", coders=coders, n=info["human_coded"])
    else:
        out += _t(lang, "reflect.no_coders")
    return Text(out)


def reflection_coding_sheet_text(res) -> Text:
    """How to add human codes (the coding sheet and the study file): for the researcher."""
    info = res.reflection_info
    variables = _join([f"`{v}`" for v in info["variables"]], res.language)
    return text(res, "reflect.sheet" if not info["coders"] else "reflect.sheet_more", variables=variables)


def reflection_method_text(res) -> Text:
    """How the answers are coded, in plain words."""
    s = res.settings
    return text(res, "reflect.method", level=_pct(s.confidence, res.language), min_n=s.min_n,
                sessions=_count(s.min_sessions, "count.session", language=res.language),
                too_few=_t(res, "effects.too_few"))


def _share_cell(row, language: str = "en") -> str:
    if row["interpretable"] != "yes":
        return _t(language, "effects.too_few")
    text = _pct(round(row["share"], 2), language)
    if pd.notna(row["ci_low"]):
        text += " (" + _t(language, "table.range", low=_pct(round(row["ci_low"], 2), language),
                          high=_pct(round(row["ci_high"], 2), language)) + ")"
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
        return text(res, "reflect.no_tool" if kind == "tool" else "reflect.no_code")
    labels = _code_labels(res) if kind == "code" else {}
    table = part.assign(cell=part.apply(_share_cell, axis=1, language=res.language)).pivot(index="code", columns=by, values="cell")
    order = [c for c in shares["code"].drop_duplicates()]
    cols = ["all"] + [c for c in table.columns if c != "all"]
    table = table.reindex(index=order, columns=cols)
    n = part.drop_duplicates(by).set_index(by)["n"].reindex(cols)
    names = {c: _t(res, "table.everyone") if c == "all" else (_profile(res, c) if by == "profile" else _arm(res, c))
             for c in cols}
    table.columns = [f"{names[c]} (n = {round(n[c])})" for c in cols]
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

    lang = res.language
    what = _t(lang, "alt.by." + by)
    numbers = reflection_share_numbers(res, by)
    top = numbers["everyone"].dropna().sort_values(ascending=False).head(3) if "everyone" in numbers else pd.Series()
    alt = _t(lang, "alt.reflection", what=what, top=", ".join(f"{code} {_pct(round(v, 2), lang)}"
                                                               for code, v in top.items()) or _t(lang, "alt.nothing"))
    shown = numbers.rename(columns=lambda c: _t(lang, "table.everyone") if c == "everyone" else
                           (_profile(lang, c) if by == "profile" else _arm(lang, c)))
    return plots.Described(plots.code_shares(shown, title=_t(lang, "alt.reflection_title", what=what),
                                             words=_plot_words(res)), alt)


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
        return text(res, "reflect.no_human_codes")
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
    return text(res, "reflect.caveats", junk=info["junk"], min_n=info["min_n"])


# --- tables for people -------------------------------------------------------------------

class Table:
    """A table as a report shows it: no index column, every cell already worded (:func:`people_table`).

    ``frame`` holds the cells as text; the notebook shows it as an HTML table of
    class ``people-table`` (and as plain text in nbval's comparison).
    """

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame

    def _repr_html_(self) -> str:
        return self.frame.to_html(index=False, border=0, classes="people-table", na_rep="")

    def __repr__(self) -> str:
        return self.frame.to_string(index=False)


def _cell(value, language: str, digits: int, percent: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return _t(language, "table.yes" if value else "table.no")
    if isinstance(value, str):
        return {"True": _t(language, "table.yes"), "False": _t(language, "table.no"),
                "yes": _t(language, "table.yes"), "no": _t(language, "table.no"),
                "nan": "–", "all": _t(language, "table.everyone")}.get(value, value)
    if isinstance(value, (int, np.integer)):
        return _num(int(value), language, 0)
    if isinstance(value, (float, np.floating)):
        if percent:  # to a tenth of a percent; a share below that but not 0 keeps one significant digit
            v = float(value)
            if v != 0 and round(v, 3) == 0:
                return messages.percent(language, v, digits=max(1, -math.floor(math.log10(abs(v))) - 2))
            return _pct(round(v, 3), language)
        return _num(float(value), language, 0 if float(value).is_integer() else digits)
    return str(value)


def people_table(data: pd.DataFrame, where="en", *, labels: dict | None = None, values: dict | None = None,
                 digits: dict | int = 2, percent: Iterable[str] = (), keep: Iterable[str] = ()) -> Table:
    """A table for people: worded headers and cells, no index, no constant column, nothing raw.

    The index (when it is not a plain row number) becomes the first column.
    Headers come from ``labels``, else the catalogue's ``col.<name>``, else the
    name with spaces. Cells: ``values`` maps raw values (profile or outcome
    ids) to words; yes/no instead of ``True``/``False``; a dash instead of
    ``NaN``; whole numbers without decimals, others with ``digits`` decimals
    (per column when a dict), ``percent`` columns as percentages, all in the
    language's notation. A column whose value is the same in every row (of two
    or more) is left out, unless listed in ``keep``.

    Examples
    --------
    >>> t = people_table(pd.DataFrame({"wave": ["pre", "post"], "share_linked": [1.0, 0.5],
    ...                                "ok": [True, True], "r": [0.123, float("nan")]}), "nl",
    ...                  percent=["share_linked"])
    >>> t
    meting gekoppeld    r
       pre      100% 0,12
      post       50%    –
    """
    lang = _lang(where)
    labels, values, percent, keep = labels or {}, values or {}, set(percent), set(keep)
    frame = data if isinstance(data.index, pd.RangeIndex) else data.reset_index()
    out = {}
    for column in frame.columns:
        series = frame[column]
        places = digits.get(column, 2) if isinstance(digits, dict) else digits
        cells = [values.get(v, v) if isinstance(v, str) else v for v in series.astype("object")]
        cells = [_cell(v, lang, places, column in percent) for v in cells]
        if len(frame) > 1 and column not in keep and len(set(cells)) <= 1:  # as shown: 0.04% and 0 are both "0%"
            continue
        key = f"col.{column}"
        header = labels.get(column) or (_t(lang, key) if messages.has(lang, key) else str(column).replace("_", " "))
        out[header] = cells
    return Table(pd.DataFrame(out))


#: Export formats (:data:`analysis.io.FORMATS`) as their makers write them.
FORMAT_NAMES = {"google_forms": "Google Forms", "qualtrics": "Qualtrics", "microsoft_forms": "Microsoft Forms",
                "typeform": "Typeform", "indico": "Indico", "surveygizmo": "SurveyGizmo",
                "surveymonkey": "SurveyMonkey", "limesurvey": "LimeSurvey", "csv": "CSV", "xlsx": "Excel"}


def _value_labels(res) -> dict:
    """Raw ids a table may hold -> words: entry points, profiles, outcomes, constructs, statements, formats."""
    out = dict(FORMAT_NAMES) | {arm: _arm(res, arm) for arm in ARMS}
    out |= {name: _profile(res, name) for name in res.profile_names}
    out |= {name: v.shown(res.language) for name, v in res.codebook.variables.items() if v.role == "item"}
    out |= construct_labels(res)
    if res.available("compare"):
        out |= outcome_labels(res)
    return out


def sources_people(res) -> Table:
    """Each survey's rows: in, kept, set aside by reason (no file names: those are for the researcher)."""
    frame = source_table(res.summary).drop(columns=["source"])
    return table(res, frame, labels={c: _reason(res, c) for c in frame.columns
                                     if messages.has(res.language, f"reason.{c.replace(' ', '_')}")})


def profile_means_people(res) -> Table:
    """Each profile's average per readiness score, with its interval."""
    lang = res.language
    m = res.profile_means
    frame = pd.DataFrame({"profile": m["profile"], "construct": m["construct"], "mean": m["mean"].round(1),
                          "interval": [_t(lang, "table.range", low=_num(lo, lang, 1), high=_num(hi, lang, 1))
                                       for lo, hi in zip(m["ci_low"], m["ci_high"])]})
    return table(res, frame, digits=1, labels={"interval": _t(lang, "table.interval",
                                                              level=_pct(res.settings.confidence, lang))})


def table(res, data: pd.DataFrame, **options) -> Table:
    """:func:`people_table` in the study's language, its ids (profiles, outcomes, statements) in words
    (a sentence saying why there is no table is passed through)."""
    if not isinstance(data, pd.DataFrame):
        return data
    lang = res.language
    labels = {}
    for column in [*data.columns, *(data.index.names if not isinstance(data.index, pd.RangeIndex) else [])]:
        name = str(column)
        level = re.fullmatch(r"(\d+(?:\.\d+)?)% CI", name)
        if level:  # display_table's interval column
            labels[column] = _t(lang, "col.ci", level=_pct(float(level[1]) / 100, lang))
        elif not messages.has(lang, f"col.{name}") and messages.has(lang, f"reason.{name.replace(' ', '_')}"):
            labels[column] = _reason(lang, name)
    cells = {v: _t(lang, f"cell.{v}") for v in CELL_WORDS}
    cells |= {kind: _t(lang, "effect_type." + kind.replace("'", "").replace(" ", "_"))
              for kinds in EFFECT_TYPES.values() for kind in kinds}
    cells |= {v: _t(lang, "alt.verdict." + v.replace(",", "").replace(" ", "_"))
              for v in ("stable", "doubtful", "dissolves", "stable, not in every resample")}
    names = res.profile_names
    cells |= {f"{a} minus {b}": _t(lang, "profilename.minus", a=_profile(res, a), b=_profile(res, b))
              for a in names for b in names if a != b}
    return people_table(data, res, values=cells | _value_labels(res) | options.pop("values", {}),
                        labels=labels | options.pop("labels", {}), **options)


#: Cell values of the researchers' tables (changes, scrubbing) the catalogue words as ``cell.<value>``.
CELL_WORDS = ("label variant", "not on scale", "email", "url", "handle", "iban", "id number", "address", "phone",
              "name")


def effects_people(res, comparison: str, *, summary: bool = True, family: str | None = None) -> Table:
    """The effects for a trainer: outcome and group in words, the difference with its interval, the people
    and sessions it rests on, and what it means (no p-values: those are in :func:`effects_table`)."""
    lang = res.language
    effects = res.effects
    sel = effects[effects["comparison"] == comparison]
    if family is not None:
        sel = sel[sel["family"].str.startswith(family)]
    sel = sel[[t == EFFECT_TYPES[k][0] for t, k in zip(sel["effect_type"], sel["kind"])]]
    if summary:
        order = {o: i for i, o in enumerate(summary_outcomes(res))}
        sel = sel[sel["outcome"].isin(order)]
        sel = sel.iloc[np.argsort([order[o] for o in sel["outcome"]], kind="stable")]
    level = _pct(res.settings.confidence, lang)
    rows = []
    for r in sel.to_dict("records"):
        scale = 100 if r["effect_type"] == "risk difference" else 1
        places = 0 if scale == 100 else 2
        word, direction = sureness(r)
        what = _t(lang, "finding." + word.replace(" ", "_"), arm=_arm(lang, ARMS[1] if direction > 0 else ARMS[0]))
        group = r["profile"]
        if comparison == "interaction":  # "a minus b": the difference between two profiles' differences
            a, b = (_profile(lang, p) for p in group.split(" minus "))
            group = _t(lang, "table.minus", a=a, b=b)
            if word in ("clear", "leaning"):
                first, second = (a, b) if direction > 0 else (b, a)
                what = _t(lang, "interaction." + word, arm=_arm(lang, ARMS[1]), a=first, b=second)
        rows.append({
            "outcome": r["outcome"], "profile": group,
            "difference": _num(scale * r["estimate"], lang, places, signed=True),
            "interval": _t(lang, "table.range", low=_num(scale * r["ci_low"], lang, places),
                           high=_num(scale * r["ci_high"], lang, places)),
            "people": f"{round(r['n_tool_first'])} + {round(r['n_strategy_first'])}",
            "sessions": f"{r['sessions_tool_first']} + {r['sessions_strategy_first']}",
            "what": what.replace("**", "")})
    frame = pd.DataFrame(rows, columns=["outcome", "profile", "difference", "interval", "people", "sessions", "what"])
    arms = f"{_arm(lang, ARMS[1])} + {_arm(lang, ARMS[0])}"
    return table(res, frame, keep=["people", "sessions"], labels={"interval": _t(lang, "table.interval", level=level),
                                     "people": _t(lang, "table.people_arms", arms=arms),
                                     "sessions": _t(lang, "table.sessions_arms", arms=arms)})


# --- reflections per readiness profile and entry point ----------------------------------
# The comparison's question asked of the reflections: within each profile, what did people write
# after each entry point? (words: the catalogue's reflect.cells.* keys)

def _cells(res, kind: str = "code") -> pd.DataFrame | Text:
    """The profile x entry point rows of the reflection shares (a sentence when the study has no such cells)."""
    info = res.reflection_info
    if not info.get("by_profile"):
        return text(res, "reflect.cells.no_profiles")
    if not info.get("by_entry_point"):
        return text(res, "reflect.cells.no_arms")
    shares = res.reflection_shares
    part = shares[(shares["kind"] == kind) & (shares["profile"] != "all") & (shares["entry_point"] != "all")]
    profiles = [p for p in res.profile_names if p in set(part["profile"])]
    arms = [a for a in ARMS if a in set(part["entry_point"])] + sorted(set(part["entry_point"]) - set(ARMS))
    order = {(p, a): k for k, (p, a) in enumerate((p, a) for p in profiles for a in arms)}
    return part.assign(cell=[order.get(x) for x in zip(part["profile"], part["entry_point"])]).dropna(subset="cell")


def reflection_cells_intro(res) -> Text:
    """What a profile x entry point cell of the reflections is, and how few sessions stand behind it."""
    part = _cells(res)
    if isinstance(part, Text):
        return part
    lang = res.language
    sessions = part.groupby("entry_point")["sessions"].max()
    arms = [_arm(lang, a) for a in ARMS if a in sessions.index]
    counts = _join(sorted({_count(int(s), "count.session", language=lang) for s in sessions if pd.notna(s)}), lang)
    return text(res, "reflect.cells.intro", arms=_t(lang, "reflect.cells.either", a=arms[0], b=arms[-1]),
                sessions=counts or _t(lang, "reflect.cells.unknown_sessions"))


def reflection_cells_table(res, kind: str = "code") -> pd.DataFrame | Text:
    """Share of writers with each code (or tool) per readiness profile and entry point, as readable cells
    (columns grouped by profile); a sentence when the study has no profiles or no entry points."""
    part = _cells(res, kind)
    if isinstance(part, Text):
        return part
    lang = res.language
    if kind == "tool":  # tools nobody named are left out
        part = part[part.groupby("code")["share"].transform("max") > 0]
    if part.empty:
        return text(res, "reflect.no_tool" if kind == "tool" else "reflect.no_code")
    part = part.sort_values("cell", kind="stable")
    cols = part.drop_duplicates("cell")
    names = [_t(lang, "reflect.cells.column", profile=_profile(lang, r.profile), arm=_arm(lang, r.entry_point),
                n=round(r.n)) for r in cols.itertuples()]
    cells = part.assign(text=part.apply(_share_cell, axis=1, language=lang))
    table = cells.pivot(index="code", columns="cell", values="text")
    table = table.reindex(index=list(dict.fromkeys(res.reflection_shares.query("kind == @kind")["code"])),
                          columns=cols["cell"].tolist()).dropna(how="all")
    table.columns = names
    labels = _code_labels(res) if kind == "code" else {}
    table.index = [labels.get(c, c) for c in table.index]
    table.index.name = "code" if kind == "code" else "tool"
    return table.reset_index()


def reflection_cell_numbers(res) -> pd.DataFrame | Text:
    """The numbers behind the profile x entry point heat map (NaN: too few to interpret), rounded;
    columns are "profile\\nentry point" in words."""
    part = _cells(res)
    if isinstance(part, Text):
        return part
    lang = res.language
    part = part.sort_values("cell", kind="stable")
    cols = part.drop_duplicates("cell")
    table = part.assign(value=part["share"].where(part["interpretable"] == "yes")).pivot(
        index="code", columns="cell", values="value")
    table = table.reindex(index=part["code"].drop_duplicates(), columns=cols["cell"].tolist()).round(2)
    table.columns = [f"{_profile(lang, r.profile)}\n{_arm(lang, r.entry_point)}" for r in cols.itertuples()]
    table.index = [_code_labels(res).get(c, c) for c in table.index]
    return table


def _largest_gap(res, numbers: pd.DataFrame) -> str:
    """The code and profile with the largest difference between the two entry points, in words."""
    best = None
    for code, row in numbers.iterrows():
        by_profile: dict[str, list] = {}
        for column, value in row.items():
            profile, arm = column.split("\n", 1)
            by_profile.setdefault(profile, []).append((arm, value))
        for profile, pairs in by_profile.items():
            pairs = [(a, v) for a, v in pairs if pd.notna(v)]
            if len(pairs) == 2 and (best is None or abs(pairs[0][1] - pairs[1][1]) > best[0]):
                best = (abs(pairs[0][1] - pairs[1][1]), code, profile, pairs)
    if best is None:
        return _t(res, "reflect.cells.none")
    _, code, profile, ((arm_a, a), (arm_b, b)) = best
    return _t(res, "reflect.cells.largest", code=code, profile=profile, a=_pct(a, res.language), arm_a=arm_a,
              b=_pct(b, res.language), arm_b=arm_b)


def reflection_cells_figure(res):
    """Heat map of the share of writers with each code per readiness profile and entry point (or the
    sentence saying why there is none)."""
    from analysis import plots

    numbers = reflection_cell_numbers(res)
    if isinstance(numbers, Text):
        return numbers
    alt = _t(res, "reflect.cells.figure_alt", largest=_largest_gap(res, numbers))
    return plots.Described(plots.code_shares(numbers, title=_t(res, "reflect.cells.figure_title"),
                                             words=_plot_words(res)), alt)
