"""Speed-ups of the clean stage, each beside the plain version it replaces.

:mod:`analysis.clean` states the cleaning rules; the functions here do some of
its steps on whole columns at once (pyarrow, numpy) instead of once per cell.
Each ``name`` has a ``name_plain`` reference: short, obviously correct pandas
or Python that gives the same result. ``tests/test_clean_fast.py`` checks
with hypothesis that both agree on generated inputs, so a speed-up may be
changed or dropped without changing what the cleaning does.

Nothing here knows a cleaning rule except through its arguments, and nothing
changes process-wide state.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def one_piece(array) -> pa.Array:
    """A pyarrow array in one piece (pandas keeps a column as a chunked array)."""
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def join(*pieces) -> pa.Array:
    """Concatenate strings and arrays of strings element-wise (large strings throughout)."""
    pieces = [pa.scalar(p, pa.large_string()) if isinstance(p, str) else p.cast(pa.large_string()) for p in pieces]
    return pc.binary_join_element_wise(*pieces, pa.scalar("", pa.large_string()))


# --- distinct values of a text column ------------------------------------------------------------

def factorize_plain(values: pd.Series) -> tuple[np.ndarray, list]:
    """Reference for :func:`factorize`: ``pd.factorize(values, sort=False)``, uniques as a list."""
    codes, uniques = pd.factorize(values, sort=False)
    return codes, list(uniques)


def factorize(values: pd.Series) -> tuple[np.ndarray, list]:
    """:func:`factorize_plain` of a text column, done by pyarrow's dictionary encoding.

    Vectorised: pyarrow numbers the values in its own small integers, without
    pandas' copy of the codes to 64-bit integers.

    Examples
    --------
    >>> codes, uniques = factorize(pd.Series(["b", "a", None, "b"], dtype="str"))
    >>> codes.tolist(), uniques
    ([0, 1, -1, 0], ['b', 'a'])
    """
    if values.dtype != "str":
        return factorize_plain(values)
    encoded = pa.array(values.array).dictionary_encode()  # missing values: null codes, not in the dictionary
    if isinstance(encoded, pa.ChunkedArray):  # one dictionary for all chunks, in order of appearance
        encoded = encoded.combine_chunks()
    codes = encoded.indices
    if codes.null_count:
        codes = codes.fill_null(-1)  # as pandas marks them
    return codes.to_numpy(zero_copy_only=False), encoded.dictionary.to_pylist()


def map_distinct_plain(values: pd.Series, func: Callable) -> pd.Series:
    """Reference for :func:`map_distinct`: ``values.map(func)``, missing values left missing."""
    return pd.Series(values.map(func, na_action="ignore").array, index=values.index)


def map_distinct(values: pd.Series, func: Callable) -> pd.Series:
    """:func:`map_distinct_plain`, calling ``func`` once per distinct value instead of once per row.

    Examples
    --------
    >>> map_distinct(pd.Series(["a", None, "b", "a"], dtype=object), str.upper).tolist()
    ['A', nan, 'B', 'A']
    """
    codes = pd.factorize(values)[0]  # numbered in order of first appearance, -1 if missing
    first = np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)  # of codes 0, 1, ...
    if (codes < 0).any():
        first = np.append(first, np.argmax(codes < 0))  # and of a missing value, last
    back = np.where(codes < 0, len(first) - 1, codes)
    mapped = values.iloc[first].map(func, na_action="ignore")
    return pd.Series(mapped.take(back).array, index=values.index)


# --- participant keys ----------------------------------------------------------------------------

# Characters Python's str.strip() and the regex \s treat as whitespace, among the ASCII ones.
_ASCII_SPACE = "[\t\n\x0b\x0c\r\x1c-\x1f ]"


def normalise_keys_plain(values: pd.Series, rule: Callable[[str], str]) -> pd.Series:
    """Reference for :func:`normalise_keys`: ``rule`` applied to every value; NA stays NA."""
    return values.map(rule, na_action="ignore").astype("str")


def normalise_keys(values: pd.Series, rule: Callable[[str], str]) -> pd.Series:
    """:func:`normalise_keys_plain` of a ``str`` column, for a ``rule`` that lower-cases plain ASCII.

    ``rule`` must leave an ASCII value without whitespace as its lower case
    (as :func:`analysis.clean.normalise_key` does: Unicode form, case folding
    and whitespace rules reduce to that). Vectorised: pyarrow lower-cases those
    values (most keys, such as emails) in one pass; the others go through
    ``rule`` once per distinct value.

    Examples
    --------
    >>> from analysis.clean import normalise_key
    >>> normalise_keys(pd.Series(["Ann@X.org", " Bob @X.org", None, "AB  12\u00a0cd"], dtype="str"),
    ...                normalise_key).tolist()
    ['ann@x.org', 'bob@x.org', nan, 'ab 12 cd']
    """
    text = pa.array(values.array)
    simple = pc.and_(pc.string_is_ascii(text), pc.invert(pc.match_substring_regex(text, _ASCII_SPACE)))
    keys = pd.Series(pd.array(pc.if_else(simple, pc.ascii_lower(text), None), dtype="str"), index=values.index)
    rest = np.flatnonzero(pc.fill_null(pc.invert(simple), False).to_numpy(zero_copy_only=False))
    if len(rest):
        codes, uniques = pd.factorize(values.iloc[rest])
        keys.iloc[rest] = np.array([rule(u) for u in uniques], dtype=object)[codes]
    return keys


def key_order_plain(keys: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Reference for :func:`key_order`, in Python: the keys numbered in sorted order, and a stable sort."""
    values = [None if pd.isna(k) else k for k in keys]
    number = {k: n for n, k in enumerate(sorted({k for k in values if k is not None}))}
    codes = np.array([-1 if k is None else number[k] for k in values], dtype=np.int64)
    order = sorted(range(len(values)), key=lambda i: (values[i] is None, values[i] or ""))
    return codes, np.array(order, dtype=np.int64)


def key_order(keys: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes of participant keys numbered in sorted order (-1 where missing), and the rows in key order.

    The order is stable, missing keys last; keys compare by code point, as
    Python compares strings. Vectorised: one sort of the keys gives both the
    numbers (equal keys are neighbours) and the order, with no hash table.

    Examples
    --------
    >>> codes, order = key_order(pd.Series(["b", None, "a", "b"], dtype="str"))
    >>> codes.tolist(), order.tolist()
    ([1, -1, 0, 1], [2, 0, 3, 1])
    """
    if keys.dtype == "str":
        text = pa.array(keys.array)
    else:  # (keys normalised one by one: Python strings)
        text = pa.array(keys.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
    order = pc.sort_indices(text).to_numpy()  # stable, missing keys last
    present = len(text) - text.null_count
    ordered = one_piece(text).take(pa.array(order[:present]))
    new = np.ones(present, dtype=bool)
    if present > 1:
        new[1:] = pc.not_equal(ordered.slice(1), ordered.slice(0, present - 1)).to_numpy(zero_copy_only=False)
    codes = np.full(len(text), -1, dtype=np.int32 if len(text) < 2**31 else np.int64)
    codes[order[:present]] = np.cumsum(new) - 1
    return codes, order


# --- duplicates ----------------------------------------------------------------------------------

def repeats_plain(group: np.ndarray, preference: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Reference for :func:`repeats`, in Python: the best row of each group, the others repeat it."""
    best: dict = {}
    for row, g in enumerate(group):
        if g < 0:
            continue
        rank = (*(p[row] for p in preference), -row)  # ties: the earlier row
        if g not in best or rank > best[g][0]:
            best[g] = (rank, row)
    dup = [(row, best[g][1]) for row, g in enumerate(group) if g >= 0 and best[g][1] != row]
    dup.sort()
    return (np.array([d for d, _ in dup], dtype=np.int64), np.array([k for _, k in dup], dtype=np.int64))


def repeats(group: np.ndarray, preference: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Rows that are not their group's preferred row, in increasing order, and each one's preferred row.

    Parameters
    ----------
    group : numpy.ndarray
        A non-negative integer per row naming its group; -1 for a row in none.
    preference : list of numpy.ndarray
        Integer (or boolean) arrays, most important first: the preferred row of
        a group has the largest values, compared in turn; of rows tied on all
        of them, the earliest.

    Vectorised: only rows whose group comes again are sorted, in one lexsort.

    Examples
    --------
    >>> repeats(np.array([0, 1, 0, -1, 0]), [np.array([1, 1, 0, 1, 1])])
    (array([2, 4]), array([0, 0]))
    """
    group = np.asarray(group, dtype=np.int64)
    live = np.flatnonzero(group >= 0)
    g = group[live]
    live = live[np.bincount(g)[g] > 1] if len(g) else live  # a group of one row repeats nothing
    g = group[live]
    # np.lexsort sorts by its last key first, stably; negated keys sort descending
    by = np.lexsort((*(-np.asarray(p)[live].astype(np.int64) for p in reversed(preference)), g))
    order, g = live[by], g[by]
    first = np.ones(len(order), dtype=bool)
    first[1:] = g[1:] != g[:-1]
    keeper = order[np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))]
    dup, keeper = order[~first], keeper[~first]
    at = np.argsort(dup, kind="stable")
    return dup[at], keeper[at]


# --- text columns --------------------------------------------------------------------------------

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


def stripped_text_plain(values: pd.Series) -> pd.Series:
    """Reference for :func:`stripped_text`: whitespace stripped, a blank is NA."""
    return values.str.strip().replace("", pd.NA)


def stripped_text(values: pd.Series) -> pd.Series:
    """:func:`stripped_text_plain`, sharing the column's bytes where nothing is stripped.

    Free text is most of an export's bytes and is rarely padded: only chunks
    with a padded cell are copied, and blanks become NA through a new validity
    bitmap over the same offsets and bytes.

    Examples
    --------
    >>> stripped_text(pd.Series([" a ", "", "b", "\u00a0c\\n", None], dtype="str")).tolist()
    ['a', nan, 'b', 'c', nan]
    """
    text = pa.array(values.array) if values.dtype == "str" else None
    if text is None or text.null_count:
        return stripped_text_plain(values)
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


def as_text_plain(values: pd.Series) -> pd.Series:
    """Reference for :func:`as_text`: ``values.astype("str")``."""
    return values.astype("str")


def as_text(values: pd.Series) -> pd.Series:
    """:func:`as_text_plain` of a categorical of text, made from its codes.

    Vectorised: the categories are taken by code instead of turning every row
    into a Python string.

    Examples
    --------
    >>> as_text(pd.Series(["pre", None, "post", "pre"], dtype="category")).tolist()
    ['pre', nan, 'post', 'pre']
    """
    if not isinstance(values.dtype, pd.CategoricalDtype) or values.cat.categories.dtype != "str":
        return as_text_plain(values)
    codes = values.cat.codes.to_numpy()
    names = pa.array(values.cat.categories.array).cast(pa.large_string())
    taken = names.take(pa.array(codes, mask=codes < 0))
    return pd.Series(pd.array(taken, dtype="str"), index=values.index, name=values.name, copy=False)


def any_filled_plain(frame: pd.DataFrame, columns: list) -> np.ndarray:
    """Reference for :func:`any_filled`: a row has a cell of ``columns`` that is not blank."""
    return np.array([any(str(frame[c].iloc[i]).strip() for c in columns) for i in range(len(frame))], dtype=bool)


def any_filled(frame: pd.DataFrame, columns: list) -> np.ndarray:
    """:func:`any_filled_plain` of text columns, looking at each column only in rows still blank.

    Examples
    --------
    >>> any_filled(pd.DataFrame({"a": ["", " ", "x"], "b": ["y", "", ""]}), ["a", "b"]).tolist()
    [True, False, True]
    """
    answered = np.zeros(len(frame), dtype=bool)
    for col in columns:
        todo = np.flatnonzero(~answered)  # only rows with no answer so far can change
        if not len(todo):
            break
        values = frame[col] if len(todo) == len(frame) else frame[col].iloc[todo]
        answered[todo] = (values.str.strip() != "").to_numpy()
    return answered


# --- taking rows ---------------------------------------------------------------------------------

_TAKE_BLOCK = 1 << 16  # rows taken at a time by take


def take_plain(text, rows: np.ndarray) -> pa.Array:
    """Reference for :func:`take`: pyarrow's own take, on the column joined into one piece."""
    return one_piece(text).take(pa.array(rows, type=pa.int64()))


def take(text, rows: np.ndarray):
    """:func:`take_plain`, block by block from the chunks the rows are in.

    pyarrow joins the chunks of a chunked array into one (a copy of the whole
    column) for every take; here each block of ``_TAKE_BLOCK`` rows is taken
    from the chunks it needs, and the result is chunked by block.

    Examples
    --------
    >>> take(pa.chunked_array([["a", "b"], ["c"], ["d", "e"]]), np.array([4, 0, 2, 3])).to_pylist()
    ['e', 'a', 'c', 'd']
    """
    if not isinstance(text, pa.ChunkedArray) or text.num_chunks < 2:
        return take_plain(text, rows)
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


def among_plain(changes: pd.DataFrame, data: pd.DataFrame) -> np.ndarray:
    """Reference for :func:`among`: which rows of ``changes`` have a (``source``, ``source_row``) of ``data``."""
    pairs = set(zip(data["source"].astype(object), data["source_row"]))
    return np.array([p in pairs for p in zip(changes["source"].astype(object), changes["source_row"])], dtype=bool)


def among(changes: pd.DataFrame, data: pd.DataFrame) -> np.ndarray:
    """:func:`among_plain`, one source at a time with :func:`numpy.isin` on row numbers.

    Examples
    --------
    >>> changes = pd.DataFrame({"source": ["a", "a", "b"], "source_row": [2, 3, 2]})
    >>> among(changes, pd.DataFrame({"source": ["a", "b", "b"], "source_row": [3, 5, 2]})).tolist()
    [False, True, True]
    """
    found = np.zeros(len(changes), dtype=bool)
    if not len(changes):
        return found
    codes, sources = pd.factorize(data["source"])
    rows = data["source_row"].to_numpy()
    for k, source in enumerate(sources):
        sel = (changes["source"] == source).to_numpy()
        if sel.any():
            found[sel] = np.isin(changes["source_row"].to_numpy()[sel], rows[codes == k])
    return found


def positions_plain(row_numbers: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Reference for :func:`positions`: ``pd.Index(row_numbers).get_indexer(wanted)``."""
    return pd.Index(row_numbers).get_indexer(wanted)


def positions(row_numbers: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Where each of ``wanted`` is among distinct ``row_numbers`` (all of ``wanted`` are there).

    A binary search when the row numbers increase (as readers make them), with
    no hash table of all row numbers; :func:`positions_plain` otherwise.

    Examples
    --------
    >>> positions(np.array([2, 3, 5, 9]), np.array([9, 3])).tolist()
    [3, 1]
    """
    if len(row_numbers) < 2 or (np.diff(row_numbers) > 0).all():
        return np.searchsorted(row_numbers, wanted)
    return positions_plain(row_numbers, wanted)


# --- timestamps ----------------------------------------------------------------------------------

# Google Forms' "3/1/2026 9:05:07": month, day, hour with or without a leading zero. Values of exactly
# this shape, on a day that exists (29 February excepted) and in years 1800-2199 (inside the range of
# nanosecond timestamps), are read by pyarrow's strptime to the value pandas gives.
_SHAPES = {"%m/%d/%Y %H:%M:%S": (
    "^(?:(?:0?[13578]|1[02])/(?:3[01]|[12][0-9]|0?[1-9])"  # months of 31 days
    "|(?:0?[469]|11)/(?:30|[12][0-9]|0?[1-9])"  # of 30 days
    "|0?2/(?:2[0-8]|1[0-9]|0?[1-9]))"  # February
    "/(?:1[89]|2[01])[0-9][0-9] (?:2[0-3]|[01]?[0-9]):[0-5]?[0-9]:[0-5]?[0-9]$")}


def times_of_format_plain(stripped: pd.Series, fmt: str | None) -> pd.Series:
    """Reference for :func:`times_of_format`: pandas reads ``fmt`` (NaT where it cannot), times naive."""
    if fmt is None:
        return pd.Series(pd.NaT, index=stripped.index, dtype="datetime64[ns]")
    return naive_ns(pd.to_datetime(stripped, format=fmt, errors="coerce", utc=True))


def naive_ns(times: pd.Series) -> pd.Series:
    """UTC times as naive nanosecond times; a time outside their range (before 1677, after 2262) is NaT.

    Examples
    --------
    >>> naive_ns(pd.to_datetime(pd.Series(["1500-01-01", "2026-03-01"]), utc=True)).tolist()
    [NaT, Timestamp('2026-03-01 00:00:00')]
    """
    naive = times.dt.tz_localize(None)
    inside = naive.between(pd.Timestamp.min, pd.Timestamp.max) | naive.isna()
    return naive.where(inside).astype("datetime64[ns]")


def times_of_format(stripped: pd.Series, fmt: str | None) -> pd.Series:
    """Timestamps of the common exact shape of ``fmt``, NaT elsewhere.

    Where this gives a time, :func:`times_of_format_plain` gives the same; it
    may leave NaT where pandas reads a time (2/29, a year out of range...),
    and the caller reads those as pandas does. Vectorised: pyarrow's strptime
    reads the whole column in one pass.

    Examples
    --------
    >>> times_of_format(pd.Series(["3/1/2026 9:05:07", "2/30/2026 9:05:07", "2026-03-01"], dtype="str"),
    ...                 "%m/%d/%Y %H:%M:%S").tolist()
    [Timestamp('2026-03-01 09:05:07'), NaT, NaT]
    """
    if fmt not in _SHAPES or stripped.dtype != "str":
        return pd.Series(pd.NaT, index=stripped.index, dtype="datetime64[ns]")
    text = pa.array(stripped.array)
    shaped = pc.match_substring_regex(text, _SHAPES[fmt])
    times = pc.strptime(text, format=fmt, unit="ns", error_is_null=True)  # NaT, not an error, if it fails
    times = np.where(pc.fill_null(shaped, False).to_numpy(zero_copy_only=False),
                     times.to_numpy(zero_copy_only=False), np.datetime64("NaT"))
    return pd.Series(times, index=stripped.index, dtype="datetime64[ns]", copy=False)


# --- raw rows as JSON ----------------------------------------------------------------------------

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


def json_rows_plain(frame: pd.DataFrame, columns: list, rows: np.ndarray) -> list:
    """Reference for :func:`json_rows`: ``json.dumps`` of each row's ``columns``, one object per row."""
    sub = frame.iloc[rows][columns]
    return [json.dumps(dict(zip(sub.columns, r)), ensure_ascii=False) for r in sub.itertuples(index=False)]


def json_rows(frame: pd.DataFrame, columns: list, rows: np.ndarray):
    """:func:`json_rows_plain` of text columns, put together by pyarrow.

    In batches of rows, two at a time (pyarrow releases the GIL): the batch's
    values of each column are taken and escaped, then joined with keys and
    quotes. Only a batch's values are held at once. Columns that are not
    plain text under distinct names take the plain way.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": ['say "hi"', "x"], "b": ["\\n", "é"]}, dtype="str")
    >>> list(json_rows(frame, ["a", "b"], np.array([1, 0])))
    ['{"a": "x", "b": "é"}', '{"a": "say \\\\"hi\\\\"", "b": "\\\\n"}']
    """
    if (not columns or len(set(columns)) < len(columns)
            or any(frame[c].dtype != "str" or frame[c].hasnans for c in columns)):
        return json_rows_plain(frame, columns, rows)
    # {"<column 1>": "<value 1>", "<column 2>": "<value 2>"}: heads before each value, a tail after the last
    heads = [("{" if k == 0 else '", ') + json.dumps(c, ensure_ascii=False) + ': "' for k, c in enumerate(columns)]
    texts = [pa.array(frame[column].array) for column in columns]  # (its chunks: not copied)

    def batch(start: int) -> pa.Array:  # the batch's values are taken, escaped and joined, then let go
        at = rows[start: start + _JSON_BATCH]
        pieces = []
        for head, text in zip(heads, texts):
            pieces += [head, _json_escape(one_piece(take(text, at)))]
        return join(*pieces, '"}')

    with ThreadPoolExecutor(max_workers=2) as pool:
        batches = list(pool.map(batch, range(0, len(rows), _JSON_BATCH)))
    return pd.array(pa.chunked_array(batches, type=pa.large_string()), dtype="str")
