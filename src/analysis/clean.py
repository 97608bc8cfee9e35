"""Clean stage: map exports through the codebook into one tidy frame.

Returns new frames and never touches the raw files: the tidy data (one row per
participant x wave), a change log (every value that was altered, with the rule)
and a quarantine (every row set aside, with the reason). Every raw row ends in
exactly one of data and quarantine; :func:`clean_study` checks this.

Coding of answers
-----------------
* A label is matched after folding case, Unicode form, quotes and whitespace,
  in any language of the scale; a numeric prefix (``"5 - Strongly agree"``)
  is dropped when it agrees with the label's code; a bare code is accepted.
* An exact label in any language is *mapped*, not changed. A variant label is
  a change (rule ``label variant``). An unknown or out-of-range answer becomes
  missing (rule ``not on scale``). Both are logged.
* Missing codes of the scale (``"Weet ik niet"``) and blanks become missing
  and stay distinguishable in ``<var>_missing``.

Columns of :attr:`CleanResult.data`: ``key`` (the normalised participant key;
it still identifies people and is replaced by a pseudonym in
:mod:`analysis.privacy`), ``wave``, ``workshop``, ``entry_point``,
``submitted``, then per item ``<var>`` (ordered categorical of canonical
labels, as answered), ``<var>_code`` (numeric, reverse-keyed items recoded so
that higher always means more of the construct) and ``<var>_missing``
(``blank``, a missing code such as ``dont_know``, ``invalid``; NA when
answered), other variables as text, and ``source``, ``source_row``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.codebook import Scale, Study, Variable, normalise_text
from analysis.io import COMPLETE, PREVIEW, ROW, SOURCE, TIMESTAMP_FORMATS, RawExport, read_export

CHANGE_COLUMNS = ["source", "source_row", "variable", "old", "new", "rule"]
QUARANTINE_COLUMNS = ["source", "source_row", "wave", "reason", "detail", "raw"]
_PREFIX = re.compile(r"^\s*(-?\d+)\s*[-.):=]\s*(\D.*)$")
_WHITESPACE = re.compile(r"\s+")


def normalise_key(value: str) -> str:
    """Normalise a participant key so spelling noise does not split a person.

    NFKC Unicode form, case folded, whitespace runs collapsed; an email loses
    all whitespace.

    Examples
    --------
    >>> normalise_key("  Jan.Jansen @Example.NL ")
    'jan.jansen@example.nl'
    >>> normalise_key("AB  12\\u00a0cd")
    'ab 12 cd'
    """
    text = unicodedata.normalize("NFKC", str(value)).casefold().strip()
    if "@" in text:
        return _WHITESPACE.sub("", text)
    return _WHITESPACE.sub(" ", text)


@dataclass(frozen=True)
class Coded:
    """How one distinct raw answer is coded."""

    code: float  # NaN when missing
    missing: str | None  # None when answered
    rule: str | None  # None when mapped without change


def code_label(raw: str, scale: Scale) -> Coded:
    """Code one raw answer on a scale.

    Examples
    --------
    >>> from analysis.codebook import Scale
    >>> agree = Scale("a", tuple((k, {"en": e, "nl": n}) for k, (e, n) in enumerate(
    ...     [("Disagree", "Oneens"), ("Neutral", "Neutraal"), ("Agree", "Eens")], 1)),
    ...     {"dont_know": ("Weet ik niet",)})
    >>> code_label("Eens", agree), code_label("3 - agree ", agree).rule
    (Coded(code=3, missing=None, rule=None), 'label variant')
    >>> code_label("weet ik niet", agree).missing, code_label("7", agree).rule
    ('dont_know', 'not on scale')
    >>> code_label("", agree).missing, code_label("1 - Agree", agree).rule
    ('blank', 'not on scale')
    """
    stripped = raw.strip()
    if not stripped:
        return Coded(np.nan, "blank", None)
    exact = {label: code for code, labels in scale.levels for label in labels.values()}
    if stripped in exact:
        return Coded(exact[stripped], None, None)
    norm = normalise_text(stripped)
    codes, missing = scale.codes, scale.missing_codes
    if norm in missing:
        return Coded(np.nan, missing[norm], None)
    if norm in codes:
        return Coded(codes[norm], None, "label variant")
    prefix = _PREFIX.match(norm)
    if prefix and normalise_text(prefix.group(2)) in codes:
        code = codes[normalise_text(prefix.group(2))]
        if int(prefix.group(1)) == code:
            return Coded(code, None, "label variant")
        return Coded(np.nan, "invalid", "not on scale")
    if re.fullmatch(r"-?\d+", norm) and scale.min_code <= int(norm) <= scale.max_code:
        return Coded(int(norm), None, None)
    return Coded(np.nan, "invalid", "not on scale")


@dataclass
class CleanResult:
    """Output of :func:`clean_study`; see the module docstring for columns."""

    data: pd.DataFrame
    changes: pd.DataFrame
    quarantine: pd.DataFrame
    summary: dict
    raws: list


def _code_items(values: pd.Series, var: Variable, provenance: pd.DataFrame, changes: list) -> dict:
    """Code one item column via its distinct values (fast on large exports)."""
    scale = var.scale
    inverse, uniques = pd.factorize(values, sort=False)
    coded = [code_label(u, scale) for u in uniques]
    code = np.array([c.code for c in coded], dtype=float)[inverse]
    missing = np.array([c.missing for c in coded], dtype=object)[inverse]
    labels = scale.labels
    by_code = {c: labels[k] for k, (c, _) in enumerate(scale.levels)}
    for k, c in enumerate(coded):
        if c.rule is None:
            continue
        rows = np.flatnonzero(inverse == k)
        new = by_code.get(c.code, None) if not np.isnan(c.code) else None
        changes.append(pd.DataFrame({
            "source": provenance[SOURCE].to_numpy()[rows], "source_row": provenance[ROW].to_numpy()[rows],
            "variable": var.name, "old": uniques[k], "new": new if new is not None else pd.NA, "rule": c.rule}))
    label = pd.Categorical.from_codes(
        np.array([labels.index(by_code[c]) if not np.isnan(c) else -1 for c in code], dtype=int)
        if len(code) else np.array([], dtype=int), categories=labels, ordered=True)
    score = code.copy()
    if var.reverse:
        score = scale.min_code + scale.max_code - score
    return {var.name: label, f"{var.name}_code": pd.array(score, dtype="Float64").astype("Int64")
            if np.all(np.isnan(score) | (score == np.round(score))) else score,
            f"{var.name}_missing": pd.Categorical(missing)}


def _log(changes: list, prov: pd.DataFrame, mask, variable: str, old, new, rule: str) -> None:
    mask = np.asarray(mask, dtype=bool)
    if mask.any():
        changes.append(pd.DataFrame({"source": prov[SOURCE].to_numpy()[mask], "source_row": prov[ROW].to_numpy()[mask],
                                     "variable": variable, "old": np.asarray(old, dtype=object)[mask]
                                     if not np.isscalar(old) else old, "new": new, "rule": rule}))


def _parse_times(values: pd.Series, fmt: str | None, var: str, prov, changes) -> pd.Series:
    """Timestamps in the tool's own format, else ISO 8601, else anything pandas reads.

    Times with a zone are converted to UTC; all results are naive.
    """
    stripped = values.str.strip()
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for attempt in ([fmt] if fmt else []) + ["ISO8601", "mixed"]:
        todo = parsed.isna() & (stripped != "")
        if not todo.any():
            break
        got = pd.to_datetime(stripped[todo], format=attempt, errors="coerce", utc=True)
        parsed[todo] = got.dt.tz_localize(None).astype("datetime64[ns]")
    _log(changes, prov, (stripped != "") & parsed.isna(), var, values, pd.NA, "unparseable timestamp")
    return parsed


_DECIMAL_COMMA = re.compile(r"^\s*-?\d+,\d+\s*$")


def _parse_numbers(values: pd.Series, var: Variable, prov, changes) -> pd.Series:
    """Numbers; a decimal comma (``3,5``) is read as a decimal point and logged."""
    stripped = values.str.strip()
    comma = stripped.str.match(_DECIMAL_COMMA)
    number = pd.to_numeric(stripped.where(~comma, stripped.str.replace(",", ".", regex=False)).replace("", None),
                           errors="coerce")
    _log(changes, prov, comma, var.name, values, number.astype(str), "decimal comma")
    _log(changes, prov, (stripped != "") & number.isna(), var.name, values, pd.NA, "not a number")
    return number.astype("Float64")


def split_options(cell: str, var: Variable) -> tuple[list[str], list[str]]:
    """Resolve a joined multi-select answer against the codebook's options.

    Labels are matched longest first at each position, so an option whose
    label contains the separator (``"Data science, statistics"``) is not
    split. Returns the option keys chosen and the parts matching no option.

    Examples
    --------
    >>> from analysis.codebook import Variable
    >>> v = Variable("f", "multiselect", ("pre",), options=(("cs", ("Computer science",)),
    ...     ("ds", ("Data science, statistics",)), ("bio", ("Biology",))), separator=", ")
    >>> split_options("Data science, statistics, Biology, Knitting", v)
    (['ds', 'bio'], ['Knitting'])
    """
    labels = sorted(((normalise_text(label), key) for key, ls in var.options for label in ls),
                    key=lambda x: len(x[0]), reverse=True)
    sep = normalise_text(var.separator or ",") or var.separator or ","
    text, chosen, unknown = normalise_text(cell), [], []
    original = cell.strip()
    while text:
        for label, key in labels:
            if text.startswith(label) and (len(text) == len(label) or text[len(label):].startswith(sep.strip())):
                chosen.append(key)
                text = text[len(label):]
                break
        else:
            part, _, _rest = text.partition(sep.strip())
            unknown.append(_original_part(original, part))
            text = text[len(part):]
        text = text[len(sep.strip()):].lstrip() if text.startswith(sep.strip()) else text.lstrip()
    return list(dict.fromkeys(chosen)), unknown


def _original_part(original: str, normalised_part: str) -> str:
    # Report an unknown part as written (case kept) where it can be found.
    for piece in re.split(r"[,;|]\s*", original):
        if normalise_text(piece) == normalised_part.strip():
            return piece.strip()
    return normalised_part.strip()


def _code_multiselect(frame: pd.DataFrame, cols: list[str], var: Variable, prov, changes) -> dict:
    """One boolean column per option; NA where the question was left blank."""
    keys = [k for k, _ in var.options]
    n = len(frame)
    out = {c: pd.array([pd.NA] * n, dtype="boolean") for c in var.option_columns()}
    if var.layout == "columns":
        cells = frame[cols].apply(lambda c: c.str.strip() != "")
        answered = cells.any(axis=1).to_numpy()
        for col, key in zip(cols, keys):
            values = np.where(answered, cells[col].to_numpy(), pd.NA)
            out[f"{var.name}:{key}"] = pd.array(values, dtype="boolean")
        return out
    values = frame[cols[0]]
    inverse, uniques = pd.factorize(values)
    resolved = [split_options(u, var) if u.strip() else None for u in uniques]
    for k, res in enumerate(resolved):
        rows = inverse == k
        if res is None:
            continue
        chosen, unknown = res
        for key in keys:
            out[f"{var.name}:{key}"][rows] = key in chosen
        for part in unknown:
            _log(changes, prov, rows, var.name, part, pd.NA, "unknown option")
    return out


def _clean_source(raw: RawExport, source, study: Study, changes: list) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Code one export; return its rows, a reason per row (NA = keep) and details."""
    codebook = study.codebook
    wave = source.wave
    columns = codebook.match_columns(raw.questions, wave, raw.name)
    frame = raw.frame
    if source.na_values:
        answers = raw.answer_columns
        frame = frame.copy()
        frame[answers] = frame[answers].mask(frame[answers].apply(lambda c: c.str.strip()).isin(source.na_values), "")
    prov = frame[[SOURCE, ROW]]
    by_column = {c: name for name, cols in columns.items() for c in cols}
    for repair in raw.repairs.itertuples(index=False):
        if repair.column in by_column and not codebook.variables[by_column[repair.column]].pii:
            changes.append(pd.DataFrame({"source": [raw.name], "source_row": [repair.source_row],
                                         "variable": [by_column[repair.column]], "old": [repair.old],
                                         "new": [repair.new], "rule": ["repaired double-encoded UTF-8"]}))
    out = {"source": frame[SOURCE].to_numpy(), "source_row": frame[ROW].to_numpy(),
           "wave": wave, "complete": frame[COMPLETE].to_numpy()}
    for name, cols in columns.items():
        var = codebook.variables[name]
        values = frame[cols[0]]
        if var.role in ("item", "consent"):
            out.update(_code_items(values, var, prov, changes))
        elif var.role == "multiselect":
            out.update(_code_multiselect(frame, cols, var, prov, changes))
        elif var.role == "number":
            out[name] = _parse_numbers(values, var, prov, changes)
        elif var.role == "timestamp":
            out[name] = _parse_times(values, TIMESTAMP_FORMATS.get(raw.format), name, prov, changes)
        elif var.role != "ignore":
            out[name] = values.str.strip().replace("", pd.NA)
    data = pd.DataFrame(out, index=frame.index)

    reason = pd.Series(pd.NA, index=frame.index, dtype="object")
    detail = pd.Series(pd.NA, index=frame.index, dtype="object")

    def set_aside(mask, why, more=pd.NA):
        mask = pd.Series(np.asarray(mask, dtype=bool), index=frame.index) & reason.isna()
        reason[mask] = why
        detail[mask] = more

    set_aside(~_answered(raw, frame, columns, codebook), "empty", "no answers")
    set_aside(frame[PREVIEW], "preview", "marked as preview or test by the survey tool")
    for rule in study.exclude:
        if rule.variable in columns:
            values = frame[columns[rule.variable][0]].str.strip()
            set_aside([bool(rule.pattern.search(v)) for v in values], "test submission", rule.reason)
    for var in codebook.by_role("consent"):
        if var.name in data:
            set_aside(data[f"{var.name}_code"].fillna(var.scale.min_code) != var.scale.max_code,
                      "no consent", f"{var.name} not answered {var.scale.labels[-1]!r}")
    key = study.participant_key
    if key is not None and key in data:
        data["key"] = data[key].map(normalise_key, na_action="ignore")
        set_aside(data["key"].isna(), "missing participant key", f"{key} blank")
    else:  # no key: every row is its own participant
        data["key"] = raw.name + "#" + data["source_row"].astype(str)
    return data, reason, detail


def _answered(raw: RawExport, frame: pd.DataFrame, columns: dict, codebook) -> np.ndarray:
    """True where a person answered anything: a cell outside the tool's own columns
    (and outside timestamp or ignored variables) that is not blank."""
    skip = set(raw.meta_columns)
    for name, cols in columns.items():
        if codebook.variables[name].role in ("timestamp", "ignore"):
            skip.update(cols)
    answered = np.zeros(len(frame), dtype=bool)
    for col in raw.answer_columns:
        if col not in skip:
            answered |= (frame[col].str.strip() != "").to_numpy()
    return answered


def _raw_json(raw: RawExport, rows: np.ndarray) -> list[str]:
    sub = raw.frame.loc[rows, raw.answer_columns]
    return [json.dumps(dict(zip(sub.columns, r)), ensure_ascii=False) for r in sub.itertuples(index=False)]


def clean_study(study: Study) -> CleanResult:
    """Read every source of a study and clean it through the codebook.

    Parameters
    ----------
    study : Study
        From :func:`analysis.codebook.load_study`.

    Returns
    -------
    CleanResult
        ``data``, ``changes`` (columns :data:`CHANGE_COLUMNS`), ``quarantine``
        (columns :data:`QUARANTINE_COLUMNS`; ``raw`` holds the row's raw values
        and must stay private) and ``summary`` (per source: rows in, clean,
        quarantined by reason).

    Examples
    --------
    >>> from analysis.codebook import load_study
    >>> from analysis.paths import SAMPLE_STUDY
    >>> result = clean_study(load_study(SAMPLE_STUDY))
    >>> all(s["rows_in"] == s["rows_clean"] + s["rows_quarantined"] for s in result.summary["sources"])
    True
    >>> result.data.groupby("wave", observed=True).size().to_dict()
    {'pre': 240, 'post': 230, 'followup': 140}
    """
    changes: list[pd.DataFrame] = []
    parts, raws = [], []
    for source in study.sources:
        raw = read_export(source.path, source.format, source.name)
        raws.append((source, raw))
        data, reason, detail = _clean_source(raw, source, study, changes)
        data["_reason"], data["_detail"] = reason.to_numpy(), detail.to_numpy()
        data["_order"] = len(parts)
        parts.append(data)
    rows = pd.concat(parts, ignore_index=True)

    # Consent given in one wave covers the person; a refusal anywhere sets aside all their rows.
    refused = set(rows.loc[rows["_reason"].eq("no consent"), "key"].dropna())
    spill = rows["_reason"].isna() & rows["key"].isin(refused)
    rows.loc[spill, "_reason"] = "no consent"
    rows.loc[spill, "_detail"] = "declined in another wave"

    # Duplicates: same participant and wave -> keep the latest complete submission.
    live = rows[rows["_reason"].isna()].copy()
    submitted = live["submitted"] if "submitted" in live else pd.Series(pd.NaT, index=live.index)
    live["_ts"] = submitted.fillna(pd.Timestamp.min)
    live = live.sort_values(["key", "wave", "complete", "_ts", "_order", "source_row"],
                            ascending=[True, True, False, False, False, False], kind="stable")
    dup = live.duplicated(["key", "wave"], keep="first")
    keeper = live.loc[~dup].set_index(["key", "wave"])
    kept_at = live.loc[dup, ["key", "wave"]].apply(
        lambda r: f"kept {keeper.at[(r['key'], r['wave']), 'source']} row "
                  f"{keeper.at[(r['key'], r['wave']), 'source_row']}", axis=1) if dup.any() else []
    rows.loc[live.index[dup], "_reason"] = "duplicate"
    rows.loc[live.index[dup], "_detail"] = kept_at

    data = rows[rows["_reason"].isna()].copy()
    data = _attach_groups(data, study, changes)
    quarantine = _quarantine_frame(rows, raws)
    changes_frame = (pd.concat(changes, ignore_index=True) if changes
                     else pd.DataFrame(columns=CHANGE_COLUMNS))[CHANGE_COLUMNS]
    # The log describes the clean data; quarantined rows keep their raw values instead.
    kept = pd.MultiIndex.from_frame(data[["source", "source_row"]])
    changes_frame = changes_frame[pd.MultiIndex.from_frame(changes_frame[["source", "source_row"]]).isin(kept)]
    changes_frame = changes_frame.reset_index(drop=True)
    summary = _summary(rows, raws, changes_frame, data)
    return CleanResult(_tidy(data, study), changes_frame, quarantine, summary, [raw for _, raw in raws])


def _attach_groups(data: pd.DataFrame, study: Study, changes: list) -> pd.DataFrame:
    """Give every row its person's workshop and entry point, found in any wave."""
    if study.workshop is None or study.workshop not in data:
        if "workshop" not in data:  # a variable may itself be called workshop
            data["workshop"] = pd.NA
    else:
        given = data.dropna(subset=[study.workshop]).sort_values("_order", kind="stable")
        per_key = given.drop_duplicates("key").set_index("key")[study.workshop]
        data["workshop"] = data["key"].map(per_key)
    data["entry_point"] = data["workshop"].map(
        lambda w: study.entry_point_map.get(normalise_text(w), pd.NA), na_action="ignore")
    unmapped = data["workshop"].notna() & data["entry_point"].isna() & bool(study.entry_point_map)
    if unmapped.any():
        changes.append(pd.DataFrame({"source": data.loc[unmapped, "source"], "source_row": data.loc[unmapped, "source_row"],
                                     "variable": "entry_point", "old": data.loc[unmapped, "workshop"], "new": pd.NA,
                                     "rule": "workshop not in the study file's entry-point map"}))
    return data


def _tidy(data: pd.DataFrame, study: Study) -> pd.DataFrame:
    cb = study.codebook
    first = ["key", "wave", "workshop", "entry_point"] + (["submitted"] if "submitted" in data else []) + ["complete"]
    body = []
    for var in cb.variables.values():
        if var.role == "ignore" or var.name in first or var.name == study.workshop:
            continue
        if var.role in ("item", "consent"):
            body += [var.name, f"{var.name}_code", f"{var.name}_missing"]
        elif var.role == "multiselect":
            body += var.option_columns()
        else:
            body.append(var.name)
    body = [c for c in body if c in data]
    order = {w: k for k, w in enumerate(study.waves)}
    data = data.assign(_w=data["wave"].map(order)).sort_values(["_w", "key"], kind="stable")
    out = data[first + body + ["source", "source_row"]].reset_index(drop=True)
    for col in out.columns:  # concat across sources loses categorical dtypes: restore them
        var = cb.variables.get(col)
        if var is not None and var.role in ("item", "consent"):
            out[col] = pd.Categorical(out[col], categories=var.scale.labels, ordered=True)
            out[f"{col}_code"] = out[f"{col}_code"].astype("Int64")
            # a source without this (optional) question: "not asked", never mistaken for answered
            missing = out[f"{col}_missing"].astype("object")
            missing[missing.isna() & out[f"{col}_code"].isna()] = "not asked"
            out[f"{col}_missing"] = missing.astype("category")
        elif var is not None and var.role == "multiselect":
            for option in var.option_columns():
                out[option] = out[option].astype("boolean")
    out["wave"] = pd.Categorical(out["wave"], categories=list(study.waves), ordered=True)
    return out


def _quarantine_frame(rows: pd.DataFrame, raws: list) -> pd.DataFrame:
    parts = []
    for k, (source, raw) in enumerate(raws):
        sel = rows[(rows["_order"] == k) & rows["_reason"].notna()]
        by_row = raw.frame.set_index(ROW)
        raw_json = _raw_json(raw, by_row.index.get_indexer(sel["source_row"])) if len(sel) else []
        parts.append(pd.DataFrame({"source": sel["source"], "source_row": sel["source_row"], "wave": sel["wave"],
                                   "reason": sel["_reason"], "detail": sel["_detail"], "raw": raw_json}))
    return pd.concat(parts, ignore_index=True)[QUARANTINE_COLUMNS] if parts else pd.DataFrame(columns=QUARANTINE_COLUMNS)


def _summary(rows: pd.DataFrame, raws: list, changes: pd.DataFrame, data: pd.DataFrame) -> dict:
    sources = []
    for k, (source, raw) in enumerate(raws):
        sel = rows[rows["_order"] == k]
        reasons = sel["_reason"].dropna().value_counts().sort_index()
        entry = {"source": raw.name, "wave": source.wave, "format": raw.format, "rows_in": len(raw.frame),
                 "rows_complete": int(raw.frame[COMPLETE].sum()),
                 "rows_clean": int(sel["_reason"].isna().sum()), "rows_quarantined": int(sel["_reason"].notna().sum()),
                 "quarantined_by_reason": {str(r): int(n) for r, n in reasons.items()}}
        if entry["rows_in"] != entry["rows_clean"] + entry["rows_quarantined"]:  # pragma: no cover - a bug
            raise AssertionError(f"rows lost while cleaning {raw.name}")
        sources.append(entry)
    return {
        "sources": sources,
        "conservation": "every raw row is in the clean data or in the quarantine",
        "participants_per_wave": {str(w): int(n) for w, n in data.groupby("wave")["key"].nunique().items()},
        "changes_by_rule": {str(r): int(n) for r, n in changes["rule"].value_counts().sort_index().items()},
    }


# --- data-quality views for notebooks ------------------------------------------

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
    reasons = [c for c in table.columns if c not in ("wave", "variable", "n", "answered")]
    return table[["wave", "variable", "n", "answered"] + sorted(reasons)]
