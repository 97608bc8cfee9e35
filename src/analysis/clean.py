"""Clean stage: map exports through the codebook into one tidy frame.

Returns new frames and never touches the raw files: the tidy data (one row per
participant x wave), a change log (every value that was altered, with the rule)
and a quarantine (every row set aside, with the reason). Every raw row ends in
exactly one of data and quarantine; :func:`clean_study` checks this.

The rules, in the order :func:`clean_study` applies them
---------------------------------------------------------
1. **Read** each export (:func:`analysis.io.read_export`); double-encoded
   UTF-8 is repaired there and each repair is logged here.
2. **Text**: every answer is stripped of surrounding whitespace; a blank is
   missing. Timestamps are read in the tool's own format, else ISO 8601,
   else as pandas reads them; numbers accept a decimal comma (logged).
3. **Code answers** on their scales (below); multi-select answers become one
   yes/no column per option.
4. **Set aside** (quarantine, with the reason): a row with no answer, a
   preview or test the tool marked, a test submission the study file
   describes, a refusal of consent (in any wave: all of that person's rows),
   a row without a participant key.
5. **Duplicates**: of a person's rows in one wave, the complete one is kept,
   then the latest submitted, then the later source, then the later row;
   the others are set aside, naming the row kept.
6. **Link waves**: each clean row gets its person's workshop and entry point,
   from the first answer in any wave.
7. The **log** keeps the changes of clean rows only: quarantined rows keep
   their raw answers instead.

Some steps are done on whole columns at once; those speed-ups live in
:mod:`analysis.clean_fast`, each beside the plain version it replaces.

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
:mod:`analysis.protect`), ``wave``, ``workshop``, ``entry_point``,
``submitted``, then per item ``<var>`` (ordered categorical of canonical
labels, as answered), ``<var>_code`` (nullable integer, ``Int16`` for any
Likert scale; reverse-keyed items recoded so that higher always means more of
the construct) and ``<var>_missing``
(``blank``, a missing code such as ``dont_know``, ``invalid``; NA when
answered), other variables as text, and ``source``, ``source_row``.
"""

from __future__ import annotations

import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from analysis import clean_fast as fast
from analysis.codebook import Scale, Study, Variable, normalise_text
from analysis.errors import InputError
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
    """Code one item column: every answer by :func:`code_label`; variants and answers off the scale are logged.

    ``provenance`` holds ``_source`` and ``_row`` of one export. The rows get
    the position of their outcome in :func:`_outcomes`; label, score and
    missing reason are made from it by :func:`_item_columns`, for the clean
    rows only. The log lists the changed rows grouped by answer, answers in
    order of first appearance.
    """
    scale = var.scale
    inverse, uniques = fast.factorize(values)
    coded = [code_label(u, scale) for u in uniques]  # each distinct answer once, taken back to its rows
    labels = scale.labels
    by_code = {c: labels[k] for k, (c, _) in enumerate(scale.levels)}
    ruled = np.array([c.rule is not None for c in coded], dtype=bool)
    if ruled.any():
        # rows to log, grouped by distinct answer in order of appearance, as one frame
        rows = np.flatnonzero(ruled[inverse])
        rows = rows[np.argsort(inverse[rows], kind="stable")]
        answer = inverse[rows]
        new = np.array([by_code.get(c.code, pd.NA) if not np.isnan(c.code) else pd.NA for c in coded], dtype=object)
        changes.append(pd.DataFrame({
            "source": provenance[SOURCE].iloc[0],  # one export: the same name on every row
            "source_row": provenance[ROW].to_numpy()[rows], "variable": var.name,
            "old": pd.array(np.array(uniques, dtype=object)[answer], dtype="str"),
            # labels as text; with an NA among them an object column
            "new": pd.Series(new[answer], dtype="str" if all(isinstance(v, str) for v in new[ruled]) else object),
            "rule": pd.array(np.array([c.rule for c in coded], dtype=object)[answer], dtype="str")}))
    outcomes = _outcomes(var)
    of_code = {o.code: k for k, o in enumerate(outcomes) if o.missing is None}
    of_reason = {o.missing: k for k, o in enumerate(outcomes[:-1]) if o.missing is not None}
    # a code that is no level's is a bug in the scale: a KeyError
    found = [of_reason[c.missing] if np.isnan(c.code) else of_code[c.code] for c in coded]
    return {var.name: np.array(found, dtype=_outcome_dtype(outcomes))[inverse]}


@dataclass(frozen=True)
class _Outcome:
    label: int  # position in the scale's labels, -1 when missing
    code: float  # the level's code (NaN when missing)
    score: float  # the code, reversed for a reverse-keyed item (NaN when missing)
    missing: str | None


def _outcomes(var: Variable) -> list[_Outcome]:
    """Every way an answer to ``var`` is coded: each level, each missing reason, then "not asked".

    Rows of an item hold the position of their outcome here (a small integer;
    "not asked", last, marks a source without the question) rather than three
    columns: label, score and reason are built for the clean rows only.
    """
    scale = var.scale
    labels = scale.labels
    by_code = {c: labels[k] for k, (c, _) in enumerate(scale.levels)}
    out = []
    for code in dict.fromkeys(c for c, _ in scale.levels):
        score = scale.min_code + scale.max_code - float(code) if var.reverse else float(code)
        out.append(_Outcome(labels.index(by_code[code]), code, score, None))
    for reason in dict.fromkeys(["blank", "invalid", *scale.missing]):
        out.append(_Outcome(-1, np.nan, np.nan, reason))
    return out + [_Outcome(-1, np.nan, np.nan, "not asked")]


def _outcome_dtype(outcomes: list) -> type:
    return np.int8 if len(outcomes) <= 127 else np.int32


def _outcome_positions(column: pd.Series, outcomes: list) -> np.ndarray:
    """The outcome positions of an item column of ``rows``; "not asked" where a source lacked it."""
    values = column.to_numpy()
    if values.dtype.kind == "f":  # a source without the question: NaN after concatenation
        values = np.where(np.isnan(values), len(outcomes) - 1, values)
    return values.astype(_outcome_dtype(outcomes), copy=False)


def _item_scores(positions: np.ndarray, var: Variable) -> np.ndarray:
    """The ``<var>_code`` values of outcome ``positions`` as floats (NaN when missing)."""
    return np.array([o.score for o in _outcomes(var)], dtype=float)[positions]


def _code_dtype(scores: np.ndarray) -> type:
    """The integer type of an item's ``<var>_code``: int16, unless a code needs int32 or int64.

    Likert codes are small: 16 bits hold them and any sum of them a person is
    likely to compute (a thousand items of 32), in a quarter of the memory of
    int64. Sums and means over columns or rows (``.sum()``, ``.mean(axis=1)``)
    are computed in 64 bits.

    Examples
    --------
    >>> _code_dtype(np.array([1.0, 5.0, np.nan])).__name__, _code_dtype(np.array([0.0, 1e6])).__name__
    ('int16', 'int32')
    """
    codes = scores[~np.isnan(scores)]
    for dtype in (np.int16, np.int32):
        if not len(codes) or (codes.min() >= np.iinfo(dtype).min and codes.max() <= np.iinfo(dtype).max):
            return dtype
    return np.int64


def _item_columns(positions: np.ndarray, var: Variable) -> dict:
    """``<var>``, ``<var>_code`` and ``<var>_missing`` of outcome ``positions``.

    An ordered categorical of the scale's labels, a nullable integer of the
    codes (see :func:`_code_dtype`), and a categorical of the reasons present
    (sorted), "not asked" where a source lacked the question.
    """
    outcomes = _outcomes(var)
    label = pd.Categorical.from_codes(np.array([o.label for o in outcomes], dtype=_outcome_dtype(outcomes))[positions],
                                      dtype=pd.CategoricalDtype(var.scale.labels, ordered=True))
    score = np.array([o.score for o in outcomes], dtype=float)
    dtype = _code_dtype(score)
    if np.all(np.isnan(score) | (score == np.round(score))):
        missing_score = np.isnan(score)
        code = pd.arrays.IntegerArray(np.where(missing_score, 0, score).astype(dtype)[positions],
                                      missing_score[positions])
    else:  # a float column converted, which fails with pandas' error on a non-integer score
        code = pd.Series(score[positions]).astype(pd.api.types.pandas_dtype(dtype.__name__.capitalize())).array
    # the reasons present, as the categorical pandas makes of them
    used = np.zeros(len(outcomes), dtype=bool)
    used[positions] = True  # (np.bincount would first copy the positions to 64-bit integers)
    values = [o.missing for o, u in zip(outcomes, used) if u and o.missing is not None]
    dtype = pd.Series(np.array(values, dtype=object)).astype("category").dtype
    reason = dtype.categories.get_indexer([o.missing for o in outcomes]).astype(_outcome_dtype(outcomes))
    reason[[o.missing is None for o in outcomes]] = -1
    missing = pd.Categorical.from_codes(reason[positions], dtype=dtype)
    return {var.name: label, f"{var.name}_code": code, f"{var.name}_missing": missing}


def _log(changes: list, prov: pd.DataFrame, mask, variable: str, old, new, rule: str) -> None:
    mask = np.asarray(mask, dtype=bool)
    if mask.any():
        def pick(value):  # a per-row array is cut to the logged rows; a scalar is repeated
            return value if np.isscalar(value) or value is pd.NA else np.asarray(value, dtype=object)[mask]

        changes.append(pd.DataFrame({"source": prov[SOURCE][mask].to_numpy(), "source_row": prov[ROW].to_numpy()[mask],
                                     "variable": variable, "old": pick(old), "new": pick(new), "rule": rule}))


def _parse_times(values: pd.Series, fmt: str | None, var: str, prov, changes) -> pd.Series:
    """Timestamps in the tool's own format, else ISO 8601, else anything pandas reads.

    Times with a zone are converted to UTC; all results are naive. A value
    none of them reads becomes missing and is logged.
    """
    stripped = fast.stripped_text(values)  # blank: NA
    parsed = fast.times_of_format(stripped, fmt)  # the tool's usual shape in one pass; pandas reads the rest
    given = stripped.notna()
    for attempt in ([fmt] if fmt else []) + ["ISO8601", "mixed"]:
        todo = parsed.isna() & given
        if not todo.any():
            break
        got = pd.to_datetime(stripped[todo], format=attempt, errors="coerce", utc=True)
        parsed[todo] = fast.naive_ns(got)  # a time outside 1677-2262 is not a survey's: unparseable
    _log(changes, prov, given & parsed.isna(), var, values, pd.NA, "unparseable timestamp")
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


def _check_option_cells(frame: pd.DataFrame, cols: list[str], var: Variable, prov) -> None:
    """In a column per option, a cell is blank or that option's label (or any text, if declared so).

    Raises
    ------
    InputError
        The first cell holding other text, naming its file, row, column and the label expected.
    """
    for col, (key, labels) in zip(cols, var.options):
        if key in var.any_text:
            continue
        allowed = {normalise_text(label) for label in labels} | {normalise_text(re.sub(r"\.\d+$", "", col))}
        cells = frame[col]
        distinct = pd.unique(cells)
        wrong = [v for v in distinct if v.strip() and normalise_text(v) not in allowed]
        if wrong:
            k = int(np.flatnonzero(cells.isin(wrong).to_numpy())[0])
            raise InputError(prov[SOURCE].iloc[k], f"blank or the label {labels[0]!r} of option {key!r} of "
                             f"multi-select {var.name!r} (or declare the option any_text: true if any text "
                             "means selected)", row=int(prov[ROW].iloc[k]), column=col)


def _code_multiselect(frame: pd.DataFrame, cols: list[str], var: Variable, prov, changes) -> dict:
    """One boolean column per option; NA where the question was left blank."""
    keys = [k for k, _ in var.options]
    n = len(frame)
    out = {c: pd.array([pd.NA] * n, dtype="boolean") for c in var.option_columns()}
    if var.layout == "columns":
        _check_option_cells(frame, cols, var, prov)
        cells = frame[cols].apply(lambda c: c.str.strip() != "")
        answered = cells.any(axis=1).to_numpy()
        for col, key in zip(cols, keys):
            values = np.where(answered, cells[col].to_numpy(), pd.NA)
            out[f"{var.name}:{key}"] = pd.array(values, dtype="boolean")
        return out
    values = frame[cols[0]]
    inverse, uniques = pd.factorize(values)
    resolved = [split_options(u, var) if u.strip() else None for u in uniques]
    answered = [u for u, res in zip(uniques, resolved) if res is not None]
    if answered and not any(res[0] for res in resolved if res is not None):
        seen = ", ".join(repr(u[:40]) for u in answered[:3])
        raise InputError(prov[SOURCE].iloc[0], f"answers of multi-select {var.name!r} made of its options "
                         f"({', '.join(repr(ls[0]) for _, ls in var.options[:5])}"
                         f"{', ...' if len(var.options) > 5 else ''}) joined by {var.separator!r}; no answer holds "
                         f"any of them, seen: {seen} (check the options' labels and the separator)", column=cols[0])
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


def _clean_source(raw: RawExport, source, study: Study, changes: list,
                  parts: dict) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Code one export; return its rows, a reason per row (NA = keep) and details.

    ``parts`` gets, per variable, the clean-data columns of its question's
    parts (slots, write-ins: see :meth:`analysis.codebook.Codebook.match_parts`)
    found in this export.
    """
    codebook = study.codebook
    wave = source.wave
    columns = codebook.match_columns(raw.questions, wave, raw.name, raw.parts)
    own_parts = codebook.match_parts(columns, raw.parts, raw.name)
    frame = raw.frame
    if source.na_values:
        answers = raw.answer_columns
        frame = frame.copy()
        frame[answers] = frame[answers].mask(frame[answers].apply(lambda c: c.str.strip()).isin(source.na_values), "")
    prov = frame[[SOURCE, ROW]]
    by_column = {c: (name, name) for name, cols in columns.items() for c in cols}  # -> variable, clean column
    by_column.update({c: (name, column) for name, found in own_parts.items() for column, c in found.items()})
    for repair in raw.repairs.itertuples(index=False):
        if repair.column in by_column and not codebook.variables[by_column[repair.column][0]].pii:
            changes.append(pd.DataFrame({"source": [raw.name], "source_row": [repair.source_row],
                                         "variable": [by_column[repair.column][1]], "old": [repair.old],
                                         "new": [repair.new], "rule": ["repaired double-encoded UTF-8"]}))
    out = {"source_row": frame[ROW].to_numpy(), "complete": frame[COMPLETE].to_numpy()}
    with ThreadPoolExecutor(max_workers=2) as pool:
        # items are coded two at a time (factorizing releases the GIL), each with its own change
        # log, taken in column order below
        def code(name: str) -> tuple[dict, list]:
            logged = []
            return _code_items(frame[columns[name][0]], codebook.variables[name], prov, logged), logged

        coding = {name: pool.submit(code, name) for name in columns
                  if codebook.variables[name].role in ("item", "consent")}
        for name, cols in columns.items():
            var = codebook.variables[name]
            for column, col in own_parts.get(name, {}).items():  # free text, whatever the role
                out[column] = fast.stripped_text(frame[col])
                parts.setdefault(name, {})[column] = None
            if not cols:  # a question asked in slots only
                continue
            values = frame[cols[0]]
            if name in coding:
                coded, logged = coding.pop(name).result()
                out.update(coded)
                changes.extend(logged)
            elif var.role == "multiselect":
                out.update(_code_multiselect(frame, cols, var, prov, changes))
            elif var.role == "number":
                out[name] = _parse_numbers(values, var, prov, changes)
            elif var.role == "timestamp":
                out[name] = _parse_times(values, TIMESTAMP_FORMATS.get(raw.format), name, prov, changes)
            elif var.role != "ignore":
                out[name] = fast.stripped_text(values)
    data = pd.DataFrame(out, index=frame.index, copy=False)  # the columns are new: no need to copy them

    reason = pd.Series(pd.NA, index=frame.index, dtype="object")
    detail = pd.Series(pd.NA, index=frame.index, dtype="object")

    def set_aside(mask, why, more=pd.NA):
        mask = pd.Series(np.asarray(mask, dtype=bool), index=frame.index) & reason.isna()
        reason[mask] = why
        detail[mask] = more

    # Rows set aside, first reason first: no answer at all, a preview or test the tool marked, a test
    # submission the study file describes, consent not given; a row without a participant key.
    set_aside(~_answered(raw, frame, columns, codebook), "empty", "no answers")
    set_aside(frame[PREVIEW], "preview", "marked as preview or test by the survey tool")
    for rule in study.exclude:
        if columns.get(rule.variable):  # (not a question asked in slots only)
            codes, uniques = pd.factorize(frame[columns[rule.variable][0]].str.strip())
            set_aside(np.array([bool(rule.pattern.search(v)) for v in uniques], dtype=bool)[codes],
                      "test submission", rule.reason)
    for var in codebook.by_role("consent"):
        if var.name in data:
            score = _item_scores(data[var.name].to_numpy(), var)
            set_aside(np.where(np.isnan(score), var.scale.min_code, score) != var.scale.max_code,
                      "no consent", f"{var.name} not answered {var.scale.labels[-1]!r}")
    key = study.participant_key
    if key is not None and key in data:
        data["key"] = (fast.normalise_keys(data[key], normalise_key) if data[key].dtype == "str"
                       else data[key].map(normalise_key, na_action="ignore"))
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
    return fast.any_filled(frame, [col for col in raw.answer_columns if col not in skip])


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
    return _clean_study(study)


def _clean_study(study: Study) -> CleanResult:
    # Read each export and code it: text repaired and stripped, answers coded, rows set aside.
    changes: list[pd.DataFrame] = []
    parts: dict[str, dict] = {}  # variable -> clean-data columns of its slots and write-ins
    frames, raws = [], []
    for source in study.sources:
        raw = read_export(source.path, source.format, source.name)
        raws.append((source, raw))
        data, reason, detail = _clean_source(raw, source, study, changes, parts)
        data["_reason"], data["_detail"] = reason, detail  # (the same index; an array would be inspected)
        data["_order"] = np.int16(len(frames))  # the source's place in the study file
        frames.append(data)
    rows = pd.concat(frames, ignore_index=True)
    del frames, data  # rows has them all
    # Source and wave are the same for all rows of an export: categoricals while cleaning, text
    # again where they leave.
    order = rows["_order"].to_numpy()
    for column, values in (("source", [raw.name for _, raw in raws]), ("wave", [source.wave for source, _ in raws])):
        dtype = pd.CategoricalDtype(list(dict.fromkeys(values)))
        rows[column] = pd.Categorical.from_codes(dtype.categories.get_indexer(values)[order], dtype=dtype)

    # Consent given in one wave covers the person; a refusal anywhere sets aside all their rows.
    key_codes, by_key = fast.key_order(rows["key"])
    rows["_key"] = key_codes
    refused = np.unique(key_codes[rows["_reason"].eq("no consent").to_numpy()])
    refused = refused[refused >= 0]
    if len(refused):
        spill = rows["_reason"].isna().to_numpy() & np.isin(key_codes, refused)
        rows.loc[spill, "_reason"] = "no consent"
        rows.loc[spill, "_detail"] = "declined in another wave"
    if study.consent_required:  # consent required: someone who never answered it is set aside too
        answered = rows[study.consent_required].notna().to_numpy() if study.consent_required in rows else False
        on_record = np.unique(key_codes[answered & (key_codes >= 0)])
        unasked = rows["_reason"].isna().to_numpy() & ~np.isin(key_codes, on_record)
        rows.loc[unasked, "_reason"] = "no consent"
        rows.loc[unasked, "_detail"] = f"no answer to {study.consent_required} on record (consent: required)"

    # Duplicates: same participant and wave -> keep the complete, latest submission (see _duplicates).
    dup, kept_at = _duplicates(rows, key_codes)
    rows.loc[dup, "_reason"] = "duplicate"
    rows.loc[dup, "_detail"] = kept_at

    # Linking waves: every clean row gets its person's workshop and entry point, answered in any
    # wave. Worked out on a few columns; all columns are taken once, in _tidy.
    kept = np.flatnonzero(rows["_reason"].isna().to_numpy())
    small = ["_key", "wave", "_order", "source", "source_row"]
    small += [c for c in dict.fromkeys([study.workshop, "workshop", study.entry_point_from])
              if c is not None and c in rows and c not in small]
    groups = _attach_groups(rows[small].iloc[kept], study, changes)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # the clean data is built while the quarantine and the log are made here (neither side
        # changes `rows`)
        tidy = pool.submit(_tidy, rows, kept, groups, by_key, study, parts)
        rows = rows[["source", "source_row", "wave", "_order", "_reason", "_detail"]]
        quarantine = _quarantine_frame(rows, raws)
        changes_frame = (pd.concat(changes, ignore_index=True) if changes
                         else pd.DataFrame(columns=CHANGE_COLUMNS))[CHANGE_COLUMNS]
        # The log describes the clean data; quarantined rows keep their raw values instead.
        changes_frame = changes_frame[fast.among(changes_frame, groups)].reset_index(drop=True)
        summary = _summary(rows, raws, changes_frame, groups)
        data = tidy.result()
    return CleanResult(data, changes_frame, quarantine, summary, [raw for _, raw in raws])


def _duplicates(rows: pd.DataFrame, key_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows (positions) that repeat a participant's wave, and for each ``kept <source> row <n>``.

    Of the rows not yet set aside with the same key and wave, the one kept is
    the complete one, then the latest submitted (a missing time counts as the
    earliest), then the one from the later source, then the later row.
    ``key_codes`` number the keys (:func:`analysis.clean_fast.key_order`).
    """
    live = rows["_reason"].isna().to_numpy()  # rows set aside for a missing key are not live
    wave = rows["wave"].cat.codes.to_numpy().astype(np.int64)
    group = np.where(live, key_codes.astype(np.int64) * len(rows["wave"].cat.categories) + wave, -1)
    if "submitted" in rows:
        ts = rows["submitted"].fillna(pd.Timestamp.min).to_numpy("datetime64[ns]").view(np.int64)
    else:
        ts = np.zeros(len(rows), dtype=np.int64)
    dup, keeper = fast.repeats(group, [rows["complete"].to_numpy(), ts, rows["_order"].to_numpy(),
                                       rows["source_row"].to_numpy()])
    kept_at = fast.join("kept ", pa.array(fast.as_text(rows["source"].iloc[keeper]).array), " row ",
                        pa.array(rows["source_row"].to_numpy()[keeper]))
    return dup, kept_at.to_numpy(zero_copy_only=False)


def _per_person(data: pd.DataFrame, column: str) -> pd.Series:
    """Each row's person's first answer to ``column`` in any wave (sources in study order)."""
    given = data.dropna(subset=[column]).sort_values("_order", kind="stable")
    return data["_key"].map(given.drop_duplicates("_key").set_index("_key")[column])


def _attach_groups(data: pd.DataFrame, study: Study, changes: list) -> pd.DataFrame:
    """Give every row its person's workshop and entry point, found in any wave.

    The entry point is the study's map applied to the person's answer to the
    ``entry_point.from`` variable: the workshop itself, or a question of its
    own ("Which workshop format did you attend?"), asked in any wave.
    """
    if study.workshop is None or study.workshop not in data:
        if "workshop" not in data:  # a variable may itself be called workshop
            data["workshop"] = pd.NA
    else:
        data["workshop"] = _per_person(data, study.workshop)
    source = study.entry_point_from or study.workshop
    if source is None or source not in data:
        answers = pd.Series(pd.NA, index=data.index, dtype="object")
    else:
        answers = data["workshop"] if source == study.workshop else _per_person(data, source)
    # An answer the map does not name gets no entry point, and is logged.
    data["entry_point"] = fast.map_distinct(answers, lambda w: study.entry_point_of(w) or pd.NA)
    unmapped = answers.notna() & data["entry_point"].isna() & study.has_entry_points
    if unmapped.any():
        changes.append(pd.DataFrame({"source": fast.as_text(data.loc[unmapped, "source"]), "source_row": data.loc[unmapped, "source_row"],
                                     "variable": "entry_point", "old": answers[unmapped], "new": pd.NA,
                                     "rule": "answer not in the study file's entry-point map"}))
    return data


def _tidy(rows: pd.DataFrame, kept: np.ndarray, groups: pd.DataFrame, by_key: np.ndarray, study: Study,
          parts: dict) -> pd.DataFrame:
    """The clean data: rows ``kept`` (positions) with their ``groups``, in wave and key order.

    ``groups`` holds ``wave``, ``workshop`` and ``entry_point`` of the kept
    rows, in the same order; ``by_key`` all rows in key order (see
    :func:`analysis.clean_fast.key_order`); ``parts`` the columns of each variable's slots and
    write-ins, which follow the variable's own columns.
    """
    cb = study.codebook
    first = ["key", "wave", "workshop", "entry_point"] + (["submitted"] if "submitted" in rows else []) + ["complete"]
    body = []
    for var in cb.variables.values():
        if var.role == "ignore" or var.name in first or var.name == study.workshop:
            continue
        if var.role in ("item", "consent"):  # rows hold one column per item (see _outcomes)
            body += [var.name, f"{var.name}_code", f"{var.name}_missing"] if var.name in rows else []
        elif var.role == "multiselect":
            body += [c for c in var.option_columns() if c in rows]
        elif var.name in rows:
            body.append(var.name)
        body += list(parts.get(var.name, ()))  # slots and write-in, in the order of the export's columns
    columns = first + body + ["source", "source_row"]
    # the wave's position among the study's waves, worked out per distinct wave
    wave_codes, waves = pd.factorize(groups["wave"], use_na_sentinel=False)
    w = pd.Series(waves).map({w: k for k, w in enumerate(study.waves)}).to_numpy()[wave_codes]
    # kept rows in key order, then by wave: a person has one clean row per wave, so this is the
    # order of wave and key
    among_kept = np.full(len(rows), -1, dtype=np.int64)
    among_kept[kept] = np.arange(len(kept))
    at = among_kept[by_key]
    at = at[at >= 0]
    at = at[np.argsort(w[at], kind="stable")]
    taken = kept[at]
    index = pd.RangeIndex(len(at))

    # Each column is built once, for the clean rows only, and the frame made of them in one go.
    wave_type = pd.CategoricalDtype(list(study.waves), ordered=True)
    made = {"wave": pd.Series(pd.Categorical.from_codes(wave_type.categories.get_indexer(waves)[wave_codes[at]],
                                                        dtype=wave_type), index=index)}
    for col in ("workshop", "entry_point"):
        made[col] = groups[col].take(at).reset_index(drop=True)

    def build(col: str) -> dict:
        var = cb.variables.get(col)
        if var is not None and var.role in ("item", "consent"):
            positions = _outcome_positions(rows[col], _outcomes(var))[taken]
            # copy=False: the arrays are new
            return {name: pd.Series(values, index=index, copy=False)
                    for name, values in _item_columns(positions, var).items()}
        if rows[col].dtype == "str":
            return {col: pd.Series(pd.array(fast.take(pa.array(rows[col].array), taken), dtype="str"), index=index)}
        column = rows[col].take(taken).reset_index(drop=True)
        return {col: fast.as_text(column) if col == "source" else column}  # categorical while cleaning

    with ThreadPoolExecutor(max_workers=2) as pool:  # two at a time: taking rows mostly releases the GIL
        for built in pool.map(build, [c for c in columns if c not in made and c in rows]):  # not <item>_code...
            made.update(built)
    for col in columns:  # a multi-select among the first columns (named workshop, say): options as booleans
        var = cb.variables.get(col)
        if var is not None and var.role == "multiselect":
            for option in var.option_columns():
                made[option] = made[option].astype("boolean")
    if len(set(columns)) < len(columns):  # pragma: no cover - names that clash: as they come
        return pd.DataFrame(made, copy=False)[columns]
    return pd.DataFrame({c: made[c] for c in columns}, copy=False)


def _quarantine_frame(rows: pd.DataFrame, raws: list) -> pd.DataFrame:
    """Every row set aside, with its reason and its raw answers as one JSON object (private)."""
    parts = []
    for k, (source, raw) in enumerate(raws):
        sel = rows[(rows["_order"] == k) & rows["_reason"].notna()]
        at = fast.positions(raw.frame[ROW].to_numpy(), sel["source_row"].to_numpy())
        raw_json = fast.json_rows(raw.frame, raw.answer_columns, at) if len(sel) else []
        parts.append(pd.DataFrame({"source": fast.as_text(sel["source"]), "source_row": sel["source_row"],
                                   "wave": fast.as_text(sel["wave"]),
                                   # text, also when nothing was set aside
                                   "reason": sel["_reason"].astype("str"), "detail": sel["_detail"].astype("str"),
                                   "raw": pd.array(raw_json, dtype="str")}, index=sel.index))
    return pd.concat(parts, ignore_index=True)[QUARANTINE_COLUMNS] if parts else pd.DataFrame(columns=QUARANTINE_COLUMNS)


def _summary(rows: pd.DataFrame, raws: list, changes: pd.DataFrame, data: pd.DataFrame) -> dict:
    sources = []
    for k, (source, raw) in enumerate(raws):
        sel = rows.loc[rows["_order"] == k, ["_reason"]]
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
        # the clean rows have a key each, distinct within a wave (duplicates are set aside), so
        # counting keys counts participants without hashing them all again
        "participants_per_wave": dict(sorted(  # waves in alphabetical order, as text
            (str(w), int(n)) for w, n in data.groupby("wave", observed=True)["_key"].count().items())),
        "changes_by_rule": {str(r): int(n) for r, n in changes["rule"].value_counts().sort_index().items()},
    }
