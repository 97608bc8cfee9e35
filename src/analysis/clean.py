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
:mod:`analysis.protect`), ``wave``, ``workshop``, ``entry_point``,
``submitted``, then per item ``<var>`` (ordered categorical of canonical
labels, as answered), ``<var>_code`` (nullable integer, ``Int16`` for any
Likert scale; reverse-keyed items recoded so that higher always means more of
the construct) and ``<var>_missing``
(``blank``, a missing code such as ``dont_know``, ``invalid``; NA when
answered), other variables as text, and ``source``, ``source_row``.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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


# Characters Python's str.strip() and the regex \s treat as whitespace, among the ASCII ones.
_ASCII_SPACE = "[\t\n\x0b\x0c\r\x1c-\x1f ]"


def _normalise_keys(values: pd.Series) -> pd.Series:
    """:func:`normalise_key` of every value of a ``str`` column; NA stays NA.

    Most keys are ASCII without whitespace (emails), for which NFKC, case
    folding and whitespace rules reduce to lower case: pyarrow does those at
    once. The others go through :func:`normalise_key`, once per distinct value.

    Examples
    --------
    >>> _normalise_keys(pd.Series(["Ann@X.org", " Bob @X.org", None, "AB  12\u00a0cd"], dtype="str")).tolist()
    ['ann@x.org', 'bob@x.org', nan, 'ab 12 cd']
    """
    text = pa.array(values.array)
    simple = pc.and_(pc.string_is_ascii(text), pc.invert(pc.match_substring_regex(text, _ASCII_SPACE)))
    keys = pd.Series(pd.array(pc.if_else(simple, pc.ascii_lower(text), None), dtype="str"), index=values.index)
    rest = np.flatnonzero(pc.fill_null(pc.invert(simple), False).to_numpy(zero_copy_only=False))
    if len(rest):
        codes, uniques = pd.factorize(values.iloc[rest])
        keys.iloc[rest] = np.array([normalise_key(u) for u in uniques], dtype=object)[codes]
    return keys


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
    """Code one item column via its distinct values (fast on large exports).

    ``provenance`` holds ``_source`` and ``_row`` of one export. Each distinct
    answer is coded once and taken back to the rows by code. The
    rows get only the position of their outcome in :func:`_outcomes`; label,
    score and missing reason are made from it by :func:`_item_columns`, for the
    clean rows only.
    """
    scale = var.scale
    inverse, uniques = _factorize(values)
    coded = [code_label(u, scale) for u in uniques]
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
            # labels as text; with an NA among them an object column, as the log has always had
            "new": pd.Series(new[answer], dtype="str" if all(isinstance(v, str) for v in new[ruled]) else object),
            "rule": pd.array(np.array([c.rule for c in coded], dtype=object)[answer], dtype="str")}))
    outcomes = _outcomes(var)
    of_code = {o.code: k for k, o in enumerate(outcomes) if o.missing is None}
    of_reason = {o.missing: k for k, o in enumerate(outcomes[:-1]) if o.missing is not None}
    # a code that is no level's raises a KeyError, as before
    found = [of_reason[c.missing] if np.isnan(c.code) else of_code[c.code] for c in coded]
    return {var.name: np.array(found, dtype=_outcome_dtype(outcomes))[inverse]}


def _factorize(values: pd.Series) -> tuple[np.ndarray, list]:
    """``pd.factorize(values, sort=False)`` of a text column, done by pyarrow as pandas does it.

    Examples
    --------
    >>> codes, uniques = _factorize(pd.Series(["b", "a", None, "b"], dtype="str"))
    >>> codes.tolist(), uniques
    ([0, 1, -1, 0], ['b', 'a'])

    Faster than pandas, and without pandas' copies of the codes to 64-bit
    integers: 16 MB less memory to allocate per column of a million rows
    (and fresh memory is slow).
    """
    text = pa.array(values.array) if values.dtype == "str" else None
    if text is None:
        return pd.factorize(values, sort=False)
    encoded = text.dictionary_encode()  # missing values: null codes, not in the dictionary
    if isinstance(encoded, pa.ChunkedArray):  # one dictionary for all chunks, in order of appearance
        encoded = encoded.combine_chunks()
    codes = encoded.indices
    if codes.null_count:
        codes = codes.fill_null(-1)  # as pandas marks them
    return codes.to_numpy(zero_copy_only=False), encoded.dictionary.to_pylist()


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
    columns: building label, score and reason for the clean rows only, and
    taking one small column instead of three, saves a second at a million rows.
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
    int64 (240 MB less for a million answers to 40 items). Sums and means over
    columns or rows (``.sum()``, ``.mean(axis=1)``) are computed in 64 bits.

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


# First or last bytes of a string that may be whitespace: ASCII spaces and controls that Unicode
# calls whitespace, and every byte of a multi-byte character (then looked at closely)
_MAYBE_SPACE_BYTES = np.zeros(256, dtype=bool)
_MAYBE_SPACE_BYTES[[*range(9, 14), *range(28, 33), *range(0x80, 0x100)]] = True


def _padded(chunk: pa.Array) -> pa.Array | None:
    """Which strings of ``chunk`` start or end with whitespace; ``None`` if none does.

    The first and last byte of each string are read from the offsets (no new
    strings are made); only strings that may be padded are checked by pyarrow.

    Examples
    --------
    >>> _padded(pa.array(["a ", "b", "", "\u00a0c", "é", None])).to_pylist()
    [True, False, False, True, False, False]
    >>> _padded(pa.array(["a", "é"])) is None
    True
    """
    data = chunk.buffers()[2]
    if not len(chunk) or data is None or not data.size:
        return None
    wide = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(chunk.buffers()[1], dtype=wide)[chunk.offset: chunk.offset + len(chunk) + 1]
    data = np.frombuffer(data, dtype=np.uint8)
    start, end = offsets[:-1], offsets[1:]
    maybe = (end > start) & (_MAYBE_SPACE_BYTES[data[np.minimum(start, len(data) - 1)]]
                             | _MAYBE_SPACE_BYTES[data[np.maximum(end - 1, 0)]])
    at = np.flatnonzero(maybe)
    if not len(at):
        return None
    some = chunk.take(at)
    sure = pc.or_(pc.utf8_is_space(pc.utf8_slice_codeunits(some, 0, 1)),
                  pc.utf8_is_space(pc.utf8_slice_codeunits(some, -1))).to_numpy(zero_copy_only=False)
    if not sure.any():
        return None
    padded = np.zeros(len(chunk), dtype=bool)
    padded[at[sure]] = True
    return pa.array(padded)


def _stripped_text(values: pd.Series) -> pd.Series:
    """``values.str.strip().replace("", pd.NA)``, sharing the column's bytes where nothing is stripped.

    Free text is most of an export's bytes and is rarely padded: copying it
    to strip a few cells cost 0.7 s and 0.2 GB on the benchmark's reflections.
    Only chunks with a padded cell are copied; blanks become NA through a new
    validity bitmap over the same offsets and bytes.

    Examples
    --------
    >>> _stripped_text(pd.Series([" a ", "", "b", "\u00a0c\\n", None], dtype="str")).tolist()
    ['a', nan, 'b', 'c', nan]
    """
    text = pa.array(values.array) if values.dtype == "str" else None
    if text is None or text.null_count:
        return values.str.strip().replace("", pd.NA)
    chunks = []
    for chunk in pa.chunked_array(text).chunks:
        padded = _padded(chunk)
        if padded is not None:
            chunk = pc.if_else(padded, pc.utf8_trim_whitespace(chunk), chunk)
        filled = pc.not_equal(pc.binary_length(chunk), 0)
        if pc.all(filled).as_py() is False:  # (None: an empty chunk)
            chunk = (pa.Array.from_buffers(chunk.type, len(chunk), [filled.buffers()[1], *chunk.buffers()[1:]])
                     if chunk.offset == 0 else pc.if_else(filled, chunk, pa.scalar(None, chunk.type)))
        chunks.append(chunk)
    return pd.Series(pd.array(pa.chunked_array(chunks, type=text.type), dtype="str"), index=values.index,
                     name=values.name, copy=False)


def _log(changes: list, prov: pd.DataFrame, mask, variable: str, old, new, rule: str) -> None:
    mask = np.asarray(mask, dtype=bool)
    if mask.any():
        def pick(value):  # a per-row array is cut to the logged rows; a scalar is repeated
            return value if np.isscalar(value) or value is pd.NA else np.asarray(value, dtype=object)[mask]

        changes.append(pd.DataFrame({"source": prov[SOURCE][mask].to_numpy(), "source_row": prov[ROW].to_numpy()[mask],
                                     "variable": variable, "old": pick(old), "new": pick(new), "rule": rule}))


# Google Forms' "3/1/2026 9:05:07": month, day, hour with or without a leading zero. Values of exactly
# this shape, on a day that exists (29 February excepted) and in years 1800-2199 (nanoseconds reach
# 1677-2262), are read by pyarrow's strptime to the value pandas gives, many times faster; the rest
# take pandas' way below.
_FAST_TIMES = {"%m/%d/%Y %H:%M:%S": (
    "^(?:(?:0?[13578]|1[02])/(?:3[01]|[12][0-9]|0?[1-9])"  # months of 31 days
    "|(?:0?[469]|11)/(?:30|[12][0-9]|0?[1-9])"  # of 30 days
    "|0?2/(?:2[0-8]|1[0-9]|0?[1-9]))"  # February
    "/(?:1[89]|2[01])[0-9][0-9] (?:2[0-3]|[01]?[0-9]):[0-5]?[0-9]:[0-5]?[0-9]$")}


def _fast_times(stripped: pd.Series, fmt: str | None) -> pd.Series:
    """Timestamps of the common exact shape of ``fmt`` (see ``_FAST_TIMES``), NaT elsewhere.

    Examples
    --------
    >>> _fast_times(pd.Series(["3/1/2026 9:05:07", "2/30/2026 9:05:07", "2026-03-01"], dtype="str"),
    ...             "%m/%d/%Y %H:%M:%S").tolist()
    [Timestamp('2026-03-01 09:05:07'), NaT, NaT]
    """
    if fmt not in _FAST_TIMES or stripped.dtype != "str":
        return pd.Series(pd.NaT, index=stripped.index, dtype="datetime64[ns]")
    text = pa.array(stripped.array)
    shaped = pc.match_substring_regex(text, _FAST_TIMES[fmt])
    times = pc.strptime(text, format=fmt, unit="ns", error_is_null=True)  # NaT, not an error, if it fails
    # the rest (2/30, a year out of range...) are NaT here: pandas reads or rejects them
    times = np.where(pc.fill_null(shaped, False).to_numpy(zero_copy_only=False),
                     times.to_numpy(zero_copy_only=False), np.datetime64("NaT"))
    return pd.Series(times, index=stripped.index, dtype="datetime64[ns]", copy=False)


def _parse_times(values: pd.Series, fmt: str | None, var: str, prov, changes) -> pd.Series:
    """Timestamps in the tool's own format, else ISO 8601, else anything pandas reads.

    Times with a zone are converted to UTC; all results are naive.
    """
    stripped = _stripped_text(values)  # blank: NA
    parsed = _fast_times(stripped, fmt)
    given = stripped.notna()  # (found once: a pass over every value)
    for attempt in ([fmt] if fmt else []) + ["ISO8601", "mixed"]:
        todo = parsed.isna() & given
        if not todo.any():
            break
        got = pd.to_datetime(stripped[todo], format=attempt, errors="coerce", utc=True)
        parsed[todo] = got.dt.tz_localize(None).astype("datetime64[ns]")
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
        # items are coded two at a time (factorizing, most of the work, releases the GIL), each
        # with its own change log, taken in column order below
        def code(name: str) -> tuple[dict, list]:
            logged = []
            return _code_items(frame[columns[name][0]], codebook.variables[name], prov, logged), logged

        coding = {name: pool.submit(code, name) for name in columns
                  if codebook.variables[name].role in ("item", "consent")}
        for name, cols in columns.items():
            var = codebook.variables[name]
            for column, col in own_parts.get(name, {}).items():  # free text, whatever the role
                out[column] = _stripped_text(frame[col])
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
                out[name] = _stripped_text(values)
    data = pd.DataFrame(out, index=frame.index, copy=False)  # the columns are new: no need to copy them

    reason = pd.Series(pd.NA, index=frame.index, dtype="object")
    detail = pd.Series(pd.NA, index=frame.index, dtype="object")

    def set_aside(mask, why, more=pd.NA):
        mask = pd.Series(np.asarray(mask, dtype=bool), index=frame.index) & reason.isna()
        reason[mask] = why
        detail[mask] = more

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
        data["key"] = (_normalise_keys(data[key]) if data[key].dtype == "str"
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
    answered = np.zeros(len(frame), dtype=bool)
    for col in raw.answer_columns:
        if col in skip:
            continue
        todo = np.flatnonzero(~answered)  # only rows with no answer so far can change
        if not len(todo):
            break
        values = frame[col] if len(todo) == len(frame) else frame[col].iloc[todo]
        answered[todo] = (values.str.strip() != "").to_numpy()
    return answered


_TAKE_BLOCK = 1 << 16  # rows taken at a time by _take


def _take(text, rows: np.ndarray):
    """``text.take(rows)`` of a pyarrow array, block by block from the chunks the rows are in.

    pyarrow first joins the chunks of a chunked array into one to take from
    it: a copy of the whole column for every take, 169 MB for the
    benchmark's reflections. Here each block of ``_TAKE_BLOCK`` rows is taken
    from the chunks it needs; the result is chunked by block.

    Examples
    --------
    >>> _take(pa.chunked_array([["a", "b"], ["c"], ["d", "e"]]), np.array([4, 0, 2, 3])).to_pylist()
    ['e', 'a', 'c', 'd']
    """
    if not isinstance(text, pa.ChunkedArray) or text.num_chunks < 2:
        return _one_piece(text).take(pa.array(rows, type=pa.int64()))
    if len(rows) and (rows.min() < 0 or rows.max() >= len(text)):
        raise IndexError(f"rows out of bounds for {len(text)} values")
    starts = np.cumsum([0] + [len(chunk) for chunk in text.chunks])

    def block(wanted: np.ndarray) -> pa.Array:
        order = np.argsort(wanted, kind="stable")
        ordered = wanted[order]
        cuts = np.searchsorted(ordered, starts)  # where each chunk's rows begin among the ordered rows
        pieces = [chunk.take(pa.array(ordered[cuts[k]:cuts[k + 1]] - starts[k]))
                  for k, chunk in enumerate(text.chunks) if cuts[k + 1] > cuts[k]]
        taken = pa.concat_arrays(pieces) if pieces else pa.array([], type=text.type)
        if (np.diff(order) > 0).all():  # asked in order (as rows set aside are)
            return taken
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        return taken.take(pa.array(back))

    blocks = [block(rows[at: at + _TAKE_BLOCK]) for at in range(0, len(rows), _TAKE_BLOCK)]
    if len(blocks) == 1:
        return blocks[0]
    return pa.chunked_array(blocks, type=text.type)


def _one_piece(array) -> pa.Array:
    """A pyarrow array in one piece (pandas keeps a column as a chunked array)."""
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _join(*pieces) -> pa.Array:
    """Concatenate strings and arrays of strings element-wise (large strings throughout)."""
    pieces = [pa.scalar(p, pa.large_string()) if isinstance(p, str) else p.cast(pa.large_string()) for p in pieces]
    return pc.binary_join_element_wise(*pieces, pa.scalar("", pa.large_string()))


# What json.dumps(text, ensure_ascii=False) escapes: quote, backslash and control characters, as a
# regex and as a lookup table of bytes (exact on UTF-8: bytes of other characters are all >= 0x80).
_JSON_ESCAPED = r'[\x00-\x1f"\\]'
_JSON_ESCAPED_BYTES = np.zeros(256, dtype=bool)
_JSON_ESCAPED_BYTES[[*range(0x20), ord('"'), ord("\\")]] = True
_JSON_BATCH = 5_000  # rows per piece of work when writing JSON: bounds the memory of the parts


def _json_escape(text: pa.Array) -> pa.Array:
    """The strings of ``text`` as ``json.dumps(value, ensure_ascii=False)`` writes them, less the quotes.

    Most strings hold nothing JSON escapes and stay as they are; only the few
    that do go through :func:`json.dumps` itself.
    """
    data = text.buffers()[2]  # the bytes of all strings (of a slice: maybe more, which is only slower)
    if data is None or not _JSON_ESCAPED_BYTES[np.frombuffer(data, dtype=np.uint8)].any():
        return text
    escaped = pc.match_substring_regex(text, _JSON_ESCAPED)
    where = np.flatnonzero(escaped.to_numpy(zero_copy_only=False))
    dumped = [json.dumps(value, ensure_ascii=False)[1:-1] for value in text.take(where).to_pylist()]
    return pc.replace_with_mask(text, escaped, pa.array(dumped, type=text.type))


def _raw_json(raw: RawExport, rows: np.ndarray):
    """The answers of ``rows`` (positions) as one JSON object per row, as ``json.dumps`` writes it.

    The objects are put together with pyarrow, in batches of rows, two at a
    time (pyarrow releases the GIL): the batch's values of each column are
    taken and escaped, then joined with keys and quotes. Only the batches'
    values are held at once: on 29,000 rows with reflections that is 70 MB
    less at the peak of a clean than taking each column's values first.

    Examples
    --------
    >>> from analysis.paths import SAMPLE_DIR
    >>> from analysis.io import read_export
    >>> raw = read_export(SAMPLE_DIR / "raw" / "pre_google_forms.csv")
    >>> rows = np.arange(len(raw.frame))
    >>> sub = raw.frame[raw.answer_columns]
    >>> list(_raw_json(raw, rows)) == [json.dumps(dict(zip(sub.columns, r)), ensure_ascii=False)
    ...                                for r in sub.itertuples(index=False)]
    True
    """
    columns = raw.answer_columns
    if (not columns or len(set(columns)) < len(columns)
            or any(raw.frame[c].dtype != "str" or raw.frame[c].hasnans for c in columns)):
        # not plain text under distinct names: the straightforward way
        sub = raw.frame.loc[rows, columns]
        return [json.dumps(dict(zip(sub.columns, r)), ensure_ascii=False) for r in sub.itertuples(index=False)]
    # {"<column 1>": "<value 1>", "<column 2>": "<value 2>"}: heads before each value, a tail after the last
    heads = [("{" if k == 0 else '", ') + json.dumps(c, ensure_ascii=False) + ': "' for k, c in enumerate(columns)]
    texts = [pa.array(raw.frame[column].array) for column in columns]  # (its chunks: not copied)

    def batch(start: int) -> pa.Array:  # the batch's values are taken, escaped and joined, then let go
        at = rows[start: start + _JSON_BATCH]
        pieces = []
        for head, text in zip(heads, texts):
            pieces += [head, _json_escape(_one_piece(_take(text, at)))]
        return _join(*pieces, '"}')

    with ThreadPoolExecutor(max_workers=2) as pool:
        batches = list(pool.map(batch, range(0, len(rows), _JSON_BATCH)))
    return pd.array(pa.chunked_array(batches, type=pa.large_string()), dtype="str")


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
    changes: list[pd.DataFrame] = []
    parts: dict[str, dict] = {}  # variable -> clean-data columns of its slots and write-ins
    frames, raws = [], []
    for source in study.sources:
        raw = read_export(source.path, source.format, source.name)
        raws.append((source, raw))
        data, reason, detail = _clean_source(raw, source, study, changes, parts)
        data["_reason"], data["_detail"] = reason, detail  # (the same index; an array would be inspected)
        data["_order"] = np.int16(len(frames))  # (a small integer: a million of them)
        frames.append(data)
    rows = pd.concat(frames, ignore_index=True)
    del frames, data  # rows has them all
    # Source and wave are the same for all rows of an export: categoricals while cleaning, text
    # again where they leave (a text column of a million copies of a name is slow to build and take).
    order = rows["_order"].to_numpy()
    for column, values in (("source", [raw.name for _, raw in raws]), ("wave", [source.wave for source, _ in raws])):
        dtype = pd.CategoricalDtype(list(dict.fromkeys(values)))
        rows[column] = pd.Categorical.from_codes(dtype.categories.get_indexer(values)[order], dtype=dtype)

    # Consent given in one wave covers the person; a refusal anywhere sets aside all their rows.
    key_codes, by_key = _key_order(rows["key"])
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

    # Duplicates: same participant and wave -> keep the latest complete submission.
    dup, kept_at = _duplicates(rows, key_codes)
    rows.loc[dup, "_reason"] = "duplicate"
    rows.loc[dup, "_detail"] = kept_at

    # The clean rows: their groups and order are worked out on a few columns, and all columns
    # are taken only once, in _tidy.
    kept = np.flatnonzero(rows["_reason"].isna().to_numpy())
    small = ["_key", "wave", "_order", "source", "source_row"]
    small += [c for c in dict.fromkeys([study.workshop, "workshop", study.entry_point_from])
              if c is not None and c in rows and c not in small]
    groups = _attach_groups(rows[small].iloc[kept], study, changes)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # the clean data is built while the quarantine and the log are made here (taking a
        # million texts in key order takes a while on one core; neither side changes `rows`)
        tidy = pool.submit(_tidy, rows, kept, groups, by_key, study, parts)
        rows = rows[["source", "source_row", "wave", "_order", "_reason", "_detail"]]
        quarantine = _quarantine_frame(rows, raws)
        changes_frame = (pd.concat(changes, ignore_index=True) if changes
                         else pd.DataFrame(columns=CHANGE_COLUMNS))[CHANGE_COLUMNS]
        # The log describes the clean data; quarantined rows keep their raw values instead.
        changes_frame = changes_frame[_among(changes_frame, groups)].reset_index(drop=True)
        summary = _summary(rows, raws, changes_frame, groups)
        data = tidy.result()
    return CleanResult(data, changes_frame, quarantine, summary, [raw for _, raw in raws])


def _key_order(keys: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes of participant keys numbered in sorted order (-1 where missing), and the rows in key order.

    One sort of the keys numbers them (equal keys are neighbours) and gives
    the order of the clean data: hashing a million distinct keys to number
    them and sorting the clean rows by key again took 0.7 s and 90 MB more.
    Keys compare by code point, as Python compares strings.

    Examples
    --------
    >>> codes, order = _key_order(pd.Series(["b", None, "a", "b"], dtype="str"))
    >>> codes.tolist(), order.tolist()
    ([1, -1, 0, 1], [2, 0, 3, 1])
    """
    if keys.dtype == "str":
        text = pa.array(keys.array)
    else:  # (keys normalised one by one: Python strings)
        text = pa.array(keys.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
    order = pc.sort_indices(text).to_numpy()  # stable, missing keys last
    present = len(text) - text.null_count
    ordered = _one_piece(text).take(pa.array(order[:present]))
    new = np.ones(present, dtype=bool)
    if present > 1:
        new[1:] = pc.not_equal(ordered.slice(1), ordered.slice(0, present - 1)).to_numpy(zero_copy_only=False)
    codes = np.full(len(text), -1, dtype=np.int32 if len(text) < 2**31 else np.int64)
    codes[order[:present]] = np.cumsum(new) - 1
    return codes, order


def _duplicates(rows: pd.DataFrame, key_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows (positions) that repeat a participant's wave, and for each ``kept <source> row <n>``.

    Of the rows not yet set aside with the same key and wave, the one kept is
    the complete one, then the latest submitted, then the one from the later
    source, then the later row. Sorting on codes of key and wave instead of the
    strings themselves gives the same choice: only the order within a group
    matters. ``key_codes`` are from :func:`_key_order` (-1 where missing).
    """
    live = np.flatnonzero(rows["_reason"].isna().to_numpy())
    key = key_codes[live]  # rows set aside for a missing key are not live: no -1 here
    # Only rows whose key comes again can repeat a wave: the others (most) need no sorting.
    again = np.bincount(key)[key] > 1
    live, key = live[again], key[again]
    wave, waves = pd.factorize(rows["wave"].iloc[live], use_na_sentinel=False)
    group = key.astype(np.int64) * len(waves) + wave
    if "submitted" in rows:  # a missing time sorts as the earliest
        ts = rows["submitted"].iloc[live].fillna(pd.Timestamp.min).to_numpy("datetime64[ns]").view(np.int64)
    else:
        ts = np.zeros(len(live), dtype=np.int64)
    # np.lexsort sorts by its last key first; negated keys sort descending
    by = np.lexsort((-rows["source_row"].to_numpy()[live], -rows["_order"].to_numpy()[live], -ts,
                     -rows["complete"].to_numpy()[live].astype(np.int64), group))
    order, group = live[by], group[by]
    first = np.ones(len(order), dtype=bool)
    first[1:] = group[1:] != group[:-1]
    keeper = order[np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))]
    dup, keeper = order[~first], keeper[~first]
    kept_at = _join("kept ", pa.array(_text(rows["source"].iloc[keeper]).array), " row ",
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
    # looked up once per distinct answer (missing included), then taken back to the rows
    codes = pd.factorize(answers)[0]  # numbered in order of first appearance, -1 if missing
    first = np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)  # of codes 0, 1, ...
    if (codes < 0).any():
        first = np.append(first, np.argmax(codes < 0))  # and of a missing answer, last
    back = np.where(codes < 0, len(first) - 1, codes)
    entry = answers.iloc[first].map(
        lambda w: study.entry_point_of(w) or pd.NA, na_action="ignore")
    data["entry_point"] = pd.Series(entry.take(back).array, index=data.index)
    unmapped = answers.notna() & data["entry_point"].isna() & study.has_entry_points
    if unmapped.any():
        changes.append(pd.DataFrame({"source": _text(data.loc[unmapped, "source"]), "source_row": data.loc[unmapped, "source_row"],
                                     "variable": "entry_point", "old": answers[unmapped], "new": pd.NA,
                                     "rule": "answer not in the study file's entry-point map"}))
    return data


def _tidy(rows: pd.DataFrame, kept: np.ndarray, groups: pd.DataFrame, by_key: np.ndarray, study: Study,
          parts: dict) -> pd.DataFrame:
    """The clean data: rows ``kept`` (positions) with their ``groups``, in wave and key order.

    ``groups`` holds ``wave``, ``workshop`` and ``entry_point`` of the kept
    rows, in the same order; ``by_key`` all rows in key order (see
    :func:`_key_order`); ``parts`` the columns of each variable's slots and
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
            # copy=False: the arrays are new (pandas would copy them otherwise, a second per 40 items)
            return {name: pd.Series(values, index=index, copy=False)
                    for name, values in _item_columns(positions, var).items()}
        if rows[col].dtype == "str":  # (see _take)
            return {col: pd.Series(pd.array(_take(pa.array(rows[col].array), taken), dtype="str"), index=index)}
        column = rows[col].take(taken).reset_index(drop=True)
        return {col: _text(column) if col == "source" else column}  # categorical while cleaning

    with ThreadPoolExecutor(max_workers=2) as pool:  # two at a time: taking rows mostly releases the GIL
        for built in pool.map(build, [c for c in columns if c not in made and c in rows]):  # not <item>_code...
            made.update(built)
    for col in columns:  # as before, though no column is named after a multi-select (its options are)
        var = cb.variables.get(col)
        if var is not None and var.role == "multiselect":
            for option in var.option_columns():
                made[option] = made[option].astype("boolean")
    if len(set(columns)) < len(columns):  # pragma: no cover - names that clash: as they come
        return pd.DataFrame(made, copy=False)[columns]
    return pd.DataFrame({c: made[c] for c in columns}, copy=False)


def _among(changes: pd.DataFrame, data: pd.DataFrame) -> np.ndarray:
    """Which changes are of a row in ``data`` (same ``source`` and ``source_row``).

    Examples
    --------
    >>> changes = pd.DataFrame({"source": ["a", "a", "b"], "source_row": [2, 3, 2]})
    >>> _among(changes, pd.DataFrame({"source": ["a", "b", "b"], "source_row": [3, 5, 2]})).tolist()
    [False, True, True]
    """
    found = np.zeros(len(changes), dtype=bool)
    if not len(changes):
        return found
    # per source, not grouped: a groupby's unique() per group took 0.7 s on a million rows
    codes, sources = pd.factorize(data["source"])
    rows = data["source_row"].to_numpy()
    for k, source in enumerate(sources):
        sel = (changes["source"] == source).to_numpy()
        if sel.any():
            found[sel] = np.isin(changes["source_row"].to_numpy()[sel], rows[codes == k])
    return found


def _positions(row_numbers: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Where each of ``wanted`` is among ``row_numbers`` (distinct; increasing as readers make them).

    Examples
    --------
    >>> _positions(np.array([2, 3, 5, 9]), np.array([9, 3])).tolist()
    [3, 1]
    """
    if len(row_numbers) < 2 or (np.diff(row_numbers) > 0).all():
        return np.searchsorted(row_numbers, wanted)  # no hash table of a million row numbers
    return pd.Index(row_numbers).get_indexer(wanted)


def _text(values: pd.Series) -> pd.Series:
    """``values.astype("str")`` of a categorical of text, made from its codes.

    pandas turns every row into a Python string first: 0.4 s for a source name
    on a million rows; taking the names by code is a hundred times faster.

    Examples
    --------
    >>> _text(pd.Series(["pre", None, "post", "pre"], dtype="category")).tolist()
    ['pre', nan, 'post', 'pre']
    """
    if not isinstance(values.dtype, pd.CategoricalDtype) or values.cat.categories.dtype != "str":
        return values.astype("str")
    codes = values.cat.codes.to_numpy()
    names = pa.array(values.cat.categories.array).cast(pa.large_string())
    taken = names.take(pa.array(codes, mask=codes < 0))
    return pd.Series(pd.array(taken, dtype="str"), index=values.index, name=values.name, copy=False)


def _quarantine_frame(rows: pd.DataFrame, raws: list) -> pd.DataFrame:
    parts = []
    for k, (source, raw) in enumerate(raws):
        sel = rows[(rows["_order"] == k) & rows["_reason"].notna()]
        raw_json = _raw_json(raw, _positions(raw.frame[ROW].to_numpy(), sel["source_row"].to_numpy())) if len(sel) else []
        parts.append(pd.DataFrame({"source": _text(sel["source"]), "source_row": sel["source_row"],
                                   "wave": _text(sel["wave"]),
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
