"""Publish stage: every public file passes the leak gate, in one place.

:func:`publish` writes the files a command makes public into a staging
folder, runs the leak gate (:func:`scan_outputs`) on exactly those files, and
only then moves them into the results folder; on a leak nothing is kept and
:class:`PrivacyLeak` is raised. Raw values go only under ``private/``.

The gate searches every public output for the personal values seen in the raw
inputs (:func:`personal_values`): identifier and PII columns, the study's
roster, and the details found in free text. CSV outputs have text cells that
a spreadsheet would run as a formula neutralised (:func:`neutralise_formulas`).
"""

from __future__ import annotations

import csv
import functools
import html
import json
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.codebook import Study, load_study
from analysis.protect import free_text_columns, pii_values
from analysis.scrub import (
    COMMON_WORDS,
    NAME_PARTICLES,
    known_names,
    matches,
    name_pattern,
    personal_spans,
    scrub_text,
    remove_controls,
    text_columns,
    split_names,
)

_WHITESPACE = re.compile(r"\s+")

#: A cell a spreadsheet runs as a formula: = + - @ first, after any leading whitespace, tab or CR.
_FORMULA = r"[\s\x00-\x1f]*[=+\-@]"
#: The same in RE2's spelling, anchored (``\s`` spelled out as the characters Python's ``re`` takes for it).
_FORMULA_RE2 = (r"^[\s\x00-\x1f\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]*"
                r"[=+\-@]")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    r"""Prefix ``'`` to text cells a spreadsheet would run as a formula.

    A cell is risky when its first character after any leading whitespace,
    tab or carriage return is ``=``, ``+``, ``-`` or ``@``. Column by column
    (vectorised string tests); columns without such a cell are not copied.

    Examples
    --------
    >>> neutralise_formulas(pd.DataFrame({"t": ["=1+1", "\t=3+3", " +1", "ok", None]}))["t"].tolist()
    ["'=1+1", "'\t=3+3", "' +1", 'ok', nan]
    """
    out = frame.copy(deep=False)
    for i, values, where, text in text_columns(frame):
        starts = matches(text, "^" + _FORMULA, _FORMULA_RE2)
        if starts.any():
            risky = starts if where is None else np.isin(np.arange(len(values)), where[starts])
            fixed = values.copy()
            fixed.iloc[risky] = "'" + values.iloc[risky].astype("str")
            out.isetitem(i, fixed)
    return out


#: Rows of a table converted for the CSV writer at a time (:func:`write_csv`).
CSV_SLICE = 1 << 16


def write_csv(frame: pd.DataFrame, path, *, words: bool = False):
    """Write ``frame`` as CSV with pyarrow's writer, formulas neutralised.

    Many times faster than :meth:`pandas.DataFrame.to_csv` on large tables;
    text is quoted, so values with commas, quotes or line breaks read back
    intact with :func:`pandas.read_csv`. Date-times without a fraction of a
    second are written as ``YYYY-MM-DD HH:MM:SS``. A frame pyarrow cannot
    convert (mixed types in one column) is written by pandas.

    With ``words=True`` it returns the words of what it wrote, as the gate reads them from the file
    (:func:`_table_words`): the column names' and each written column's distinct values' (None when
    pandas wrote it: then the gate reads the file). So the gate need not parse a large file again.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "t.csv"
    >>> write_csv(pd.DataFrame({"t": ["a, b", "=1+1", 'say "hi"'], "n": [1, 2, 3]}), path)
    >>> pd.read_csv(path)["t"].tolist()
    ['a, b', "'=1+1", 'say "hi"']
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    frame = neutralise_formulas(remove_controls(frame, Path(path).name)[0])
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        frame.to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC)  # text quoted: no record splits
        return None
    types = []  # as written: categories as their labels, whole-second date-times without a fraction
    for column in table.columns:
        kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
        if pa.types.is_timestamp(kind) and kind.tz is None and pc.all(pc.equal(
                pc.floor_temporal(column, unit="second"), column)).as_py() is not False:
            kind = pa.timestamp("s")
        types.append(kind)
    schema = pa.schema([pa.field(name, kind) for name, kind in zip(table.column_names, types)])
    with pa_csv.CSVWriter(path, schema) as writer:  # (a slice at a time: the labels are not all made at once)
        for start in range(0, max(table.num_rows, 1), CSV_SLICE):
            writer.write_table(table.slice(start, CSV_SLICE).cast(schema))
    if words:  # (a column's distinct values rendered as the writer renders the column: as written)
        return _words_of(schema.names, (_rendered(column.cast(field.type) if pa.types.is_timestamp(field.type)
                                                  else column) for column, field in zip(table.columns, schema)))
    return None


def write_parquet(frame: pd.DataFrame, path, *, words: bool = False):
    """Write ``frame`` as parquet (as :meth:`pandas.DataFrame.to_parquet` does: pyarrow, snappy, no
    index, ``attrs`` kept), control characters removed.

    With ``words=True`` it returns the words of what it wrote, as the gate reads them from the file
    (:func:`_table_words`), taken from the Arrow table it wrote: the gate need not read it again.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "t.parquet"
    >>> sorted(write_parquet(pd.DataFrame({"t": ["Tool-first"], "n": [1]}), path, words=True).to_pylist())
    ['1', 'first', 'n', 't', 'tool']
    >>> pd.read_parquet(path)["t"].tolist()
    ['Tool-first']
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = remove_controls(frame, Path(path).name)[0]
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if frame.attrs:
        table = table.replace_schema_metadata({**table.schema.metadata, "PANDAS_ATTRS": json.dumps(frame.attrs)})
    pq.write_table(table, path, compression="snappy")
    return _arrow_table_words(table) if words else None


@dataclass(frozen=True)
class CsvTable:
    """A table for :func:`publish` to write with :func:`write_csv` (pyarrow's writer: large tables);
    the gate takes the words it wrote instead of parsing the file again."""

    frame: pd.DataFrame


@dataclass(frozen=True)
class Leak:
    """Personal values of one kind found in one output file, and where they came from (never the values).

    ``columns`` are the output's columns that hold them (tables only);
    ``origin`` where the first of them was seen in the raw inputs (export,
    row, column); ``fix`` the setting that stops it.
    """

    file: str
    kind: str
    count: int
    columns: tuple = ()
    origin: str = ""
    fix: str = ""

    def __str__(self) -> str:
        where = f", column {', '.join(map(repr, self.columns))}" if self.columns else ""
        text = f"{self.file}{where}: {self.count} value(s) of kind {self.kind!r}"
        if self.origin:
            text += f" (from {self.origin})"
        return text + (f"; to fix: {self.fix}" if self.fix else "")


class PrivacyLeak(Exception):
    """Public outputs contain personal values from the raw inputs."""

    def __init__(self, leaks: list[Leak]):
        self.leaks = leaks
        super().__init__("; ".join(map(str, leaks)))


#: Key of ``origins`` (:func:`personal_values`) mapping each export name to its name as shown.
SHOWN_SOURCES = "(export names)"
#: Kind of the export file names that hold a personal detail (a trainer's name in "feedback_Joran.csv").
FILE_NAME_KIND = "export file name"


def fix_for(kind: str) -> str:
    """The setting that stops a leak of values of ``kind`` (words for a leak report).

    Examples
    --------
    >>> fix_for("export file name")
    'rename the export so its name holds no name (and its path: in study.yaml)'
    """
    if kind == FILE_NAME_KIND:
        return "rename the export so its name holds no name (and its path: in study.yaml)"
    if kind == "roster name":
        return ("give the variable of the column that holds it role: text in codebook.yaml (scrubbed), or "
                "pii: true (dropped)")
    return ("give the variable of the output column that holds it role: text in codebook.yaml (its answers are "
            "then scrubbed), or pii: true (dropped)")


#: Files the gate reads; anything under a folder named ``private`` is skipped.
SCANNED_SUFFIXES = (".csv", ".tsv", ".json", ".html", ".htm", ".ipynb", ".txt", ".md", ".yaml", ".yml",
                    ".parquet", ".xlsx")
_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+")


def personal_values(study: Study, raws: list | None = None, origins: dict | None = None,
                    found: dict | None = None) -> dict[str, set[str]]:
    """Every personal value seen in a study's raw inputs, per kind.

    Kinds: each identifier or PII variable of the codebook (its column values),
    each survey tool's identity column, ``roster name``, ``free text <kind>``
    for details found in free-text answers (emails, URLs, handles, phones,
    known names), and :data:`FILE_NAME_KIND` for export file names that hold
    a known name or another detail. With ``origins`` (a dict), where each
    value was first seen is noted in it (``origins[kind][value] = (export,
    row, column)``; row and column None for a file name, the roster's file
    for a roster name). ``found``: what :func:`analysis.protect.protect` found
    in the same ``raws`` (its ``personal``), not sought again.
    """
    if raws is None:
        from analysis.io import read_export

        raws = [read_export(s.path, s.format, s.name) for s in study.sources]
    if found:
        values = dict(found["values"])
        if origins is not None:
            origins.update(found["origins"])
        names = list(found["names"])
    else:
        values = pii_values(study, raws, origins)
        names = known_names(v for vs in values.values() for v in sorted(vs))
    if study.roster:
        values["roster name"] = set(study.roster)
        names += known_names(sorted(values["roster name"]))
        if origins is not None:
            roster = getattr(study, "roster_file", None)
            origins.setdefault("roster name", {}).update(
                dict.fromkeys(study.roster, (Path(roster).name if roster else "the roster", None, None)))
    names = name_pattern(names)
    for raw, _, _, col in free_text_columns(study, raws):
        cells = raw.frame[col]
        texts = set(cells)
        rows = None
        for text in texts:
            if not isinstance(text, str):
                continue
            for start, end, kind in personal_spans(text, names):
                values.setdefault(f"free text {kind}", set()).add(text[start:end])
                if origins is not None:
                    if rows is None:  # the first row of each distinct answer, once per column
                        from analysis.io import ROW

                        first = ~cells.duplicated().to_numpy()
                        rows = dict(zip(cells.to_numpy()[first].tolist(), raw.frame[ROW].to_numpy()[first].tolist()))
                    origins.setdefault(f"free text {kind}", {}).setdefault(
                        text[start:end], (raw.name, int(rows[text]), col))
    if origins is not None:  # export names as a leak report shows them (scrubbed)
        origins[SHOWN_SOURCES] = {raw.name: (scrub_text(raw.name, names)[0],) for raw in raws}
    for raw in raws:  # an export named after a person: its name is published nowhere
        found = personal_spans(raw.name, names)
        if found:
            values.setdefault(FILE_NAME_KIND, set()).update({raw.name, Path(raw.name).stem})
            for start, end, kind in found:
                values.setdefault(f"free text {kind}", set()).add(raw.name[start:end])
            if origins is not None:
                shown = (scrub_text(raw.name, names)[0], None, None)
                origins.setdefault(FILE_NAME_KIND, {}).update(dict.fromkeys((raw.name, Path(raw.name).stem), shown))
                for start, end, kind in found:
                    origins.setdefault(f"free text {kind}", {}).setdefault(raw.name[start:end], shown)
    return values


# --- what the gate seeks: needles ---------------------------------------------------------

_DASH_CHARS = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
_APOSTROPHE_CHARS = "\u2018\u2019\u201b\u02bc\u00b4\uff07"


def ascii_fold(text: str) -> str:
    """Text with accents, compatibility forms and invisible characters gone, lower case, ASCII only.

    What the gate's second search compares (:class:`FoldedScanner`): NFKD
    (full-width letters, ligatures, decomposed accents), dashes and
    apostrophes of every kind made ``-`` and ``'``, then every character that
    is not ASCII dropped (combining accents, zero-width characters). Fast on
    large text: each step is one pass in C.

    Examples
    --------
    >>> ascii_fold("Jöran ÇELİK’s ｊａｎ＠ｅｘａｍｐｌｅ．ｎｌ Ana–María l\u200bisa")
    "joran celik's jan@example.nl ana-maria lisa"
    """
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text)
    for ch in _DASH_CHARS:
        if ch in text:
            text = text.replace(ch, "-")
    for ch in _APOSTROPHE_CHARS:
        if ch in text:
            text = text.replace(ch, "'")
    return text.encode("ascii", "ignore").decode("ascii").lower()


#: Fewest letters of a single word sought alone by the gate.
MIN_WORD_LETTERS = 4
_DICTIONARY_LANGUAGES = ("en", "nl")
_URL_WORDS = frozenset({"http", "https", "ftp", "www", "com", "org", "net", "nl", "be", "de", "uk", "eu", "io",
                        "html", "htm", "php", "mailto", "index"})


def _dictionary_word(word: str) -> bool:
    """A word of simplemma's English or Dutch dictionary (an ordinary word, or a common first name)."""
    import simplemma

    return any(simplemma.is_known(word, lang=lang) for lang in _DICTIONARY_LANGUAGES)


@functools.lru_cache(maxsize=1 << 16)
def rare_word(word: str) -> bool:
    """Whether one word of a name is rare enough to identify someone: the gate seeks it alone.

    The rule: after folding, at least :data:`MIN_WORD_LETTERS` letters, not a
    name particle, not one of the scrubber's ordinary words
    (:data:`analysis.scrub.COMMON_WORDS`), and not a word of the English or
    Dutch dictionary of ``simplemma`` (which holds the ordinary words of both
    languages and the most common first names: "Mark", "Lisa", "Will").
    A word that fails is still sought inside the full name it came with.
    The scrubber removes more (:func:`analysis.scrub.identifying_word`): a
    gate alarm stops a study, so the gate seeks only what identifies.

    Examples
    --------
    >>> [rare_word(w) for w in ["Jöran", "Çelik", "Anouk", "Mark", "trainer", "Jan", "van", "Bakker"]]
    [True, True, True, False, False, False, False, False]
    """
    w = ascii_fold(word).strip("'")
    return (sum(ch.isalpha() for ch in w) >= MIN_WORD_LETTERS and w.isalpha() and w not in NAME_PARTICLES
            and w not in COMMON_WORDS and not _dictionary_word(w))


_NAME_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def _name_needles(value: str) -> set[str]:
    """A name (folded) as it may be written: its parts joined by a space or a hyphen, with a possessive
    ``s``, and each of its rare parts alone (:func:`rare_word`)."""
    tokens = _NAME_TOKEN.findall(value)
    out = set()
    if len(tokens) >= 2:
        for sep in (" ", "-"):
            joined = sep.join(tokens)
            out.update({joined, joined + "s"})
        out.add(value)
    for t in tokens:
        if rare_word(t):
            out.update({t, t + "s"})
    return out


def _weak(needle: str) -> bool:
    """Too ordinary to seek: shorter than 5 characters, or only URL parts and ordinary words
    ("https:", "www.", "info")."""
    if len(needle) < 5:
        return True
    words = _WORD.findall(needle)
    return all(w in _URL_WORDS or w in COMMON_WORDS or w in NAME_PARTICLES for w in words) and not any(
        ch.isdigit() for ch in needle)


#: What Python's ``str.split()`` splits at in ASCII, in RE2's spelling.
_ASCII_SPACE = "[\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f ]+"


def _addresses(values, needles: set) -> list[str]:
    """Add the needles of the ASCII values with an ``@`` (addresses: each sought whole, lower case,
    white space made one space) to ``needles``, in C; return the other values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(list(values), pa.large_string())
    simple = pc.and_(pc.string_is_ascii(array), pc.match_substring(array, "@"))
    v = pc.utf8_trim(pc.replace_substring_regex(pc.ascii_lower(array.filter(simple)), _ASCII_SPACE, " "), " ")
    needles.update(v.filter(pc.greater_equal(pc.binary_length(v), 5)).to_pylist())
    return array.filter(pc.invert(simple)).to_pylist()


def _needles(values: dict[str, set[str]], fold=None, origins: dict | None = None) -> dict[str, set[str]]:
    """Values worth searching for, folded by ``fold`` (default: case folded): long and specific enough
    not to match ordinary text.

    A name (a kind that says ``name``) is sought as it may be written
    (:func:`_name_needles`): whole, with hyphens for spaces and the other way
    round, with a possessive ``s``, and its rare parts alone. A cell that lists
    several names is split into them; an e-mail address or URL is sought
    whole, never as its pieces. With ``origins``, each needle's origin is
    noted: ``origins[(kind, needle)] = value``.
    """
    folds = (fold,) if callable(fold) else tuple(fold) if fold else (str.casefold,)
    plain_folds = all(f in (str.casefold, ascii_fold) for f in folds)
    needles: dict[str, set[str]] = {}
    for kind, vals in values.items():
        is_name = "name" in kind.lower() and kind != FILE_NAME_KIND
        found_here = needles.setdefault(kind, set())
        if plain_folds and origins is None and len(vals) > 1000:
            vals = _addresses(vals, found_here)  # the rest: below
        for value in vals:
            if plain_folds and "@" in value and value.isascii():  # an address, as most values are: in short
                v = " ".join(value.lower().split())  # (ASCII: case folded and ASCII folded are lower case)
                if len(v) >= 5:
                    found_here.add(v)
                    if origins is not None:
                        origins.setdefault((kind, v), value)
                continue
            # a cell may list several names; details found in free text, addresses and URLs are one value each
            listed = not kind.startswith("free text") and "@" not in value and "/" not in value
            pieces = [value] + (split_names(value) if listed else [])
            for piece in pieces:
                for v in {f(piece) for f in folds}:  # (one form for an ASCII value)
                    v = _WHITESPACE.sub(" ", v).strip()
                    if is_name and "@" not in v and "/" not in v:
                        found = [n for n in _name_needles(v) if not _weak(n)]
                    elif "@" in v or not _weak(v):  # an e-mail address or handle is never too ordinary
                        found = [v] if len(v) >= 5 else []
                    else:
                        found = []
                    found_here.update(found)
                    if origins is not None:
                        for n in found:
                            origins.setdefault((kind, n), value)
        if not found_here:
            del needles[kind]
    return needles


def _table_text(path: Path) -> str:
    """A parquet table as text: its column names, then each column's distinct values one per line.

    Each cell is its own line, so a match never runs from one cell into the
    next; values are rendered by pyarrow (as its CSV writer renders them).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    parts = [",".join(table.column_names)]
    for column in table.columns:
        rendered = _rendered(column)
        parts.extend(v for v in (rendered.to_pylist() if isinstance(rendered, pa.Array) else rendered)
                     if v is not None)
    return "\n".join(parts)


def _rendered(column):
    """A parquet column's distinct values as text: an Arrow string array (pyarrow's rendering, as its
    CSV writer renders them), or a list of ``str`` for nested values (as Python shows them)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    distinct = pc.unique(column)
    try:
        return distinct.cast(pa.large_string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # nested values
        return [None if v is None else str(v) for v in distinct.to_pylist()]


# --- a table read by columns: the words it holds ------------------------------------------

#: A quote with neither a quote, a delimiter nor a line break on either side: a CSV reader may drop it
#: and join the words around it (``"ab"cd`` reads ``abcd``); our writers never write one.
_LOOSE_QUOTE = r'[^",\t\r\n]"[^",\t\r\n]'


def _fold_words(text: str, words: set) -> None:
    """Add the words (``\\w+`` runs) the gate's search sees in ``text``: after undoing HTML escaping,
    case folded, and for text that is not ASCII also :func:`ascii_fold`-ed."""
    if "&" in text:
        text = html.unescape(text)
    text = text.casefold()
    words.update(_WORD.findall(text))
    if not text.isascii():
        words.update(_WORD.findall(ascii_fold(text)))


def _add_words(values, parts: list, words: set) -> None:
    """The words of distinct text ``values`` (an Arrow string array, or a list of ``str``): those of
    ASCII values without ``&`` split in C (``[0-9a-z_]+`` is ``\\w+`` in ASCII) into ``parts``, the
    others (folded in Python, :func:`_fold_words`) into ``words``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not isinstance(values, (pa.Array, pa.ChunkedArray)):
        for v in values:
            if v is not None:
                _fold_words(v, words)
        return
    values = values.drop_null()
    simple = pc.and_(pc.string_is_ascii(values), pc.invert(pc.match_substring(values, "&")))
    plain = pc.ascii_lower(values.filter(simple))
    if len(plain):  # (a value of word characters only, such as a pseudonym, is one word: not split)
        one = pc.match_substring_regex(plain, "^[0-9a-z_]*$")
        parts.append(plain.filter(one).cast(pa.large_string()))
        split = pc.list_flatten(pc.split_pattern_regex(plain.filter(pc.invert(one)), "[^0-9a-z_]+"))
        parts.append(pc.unique(split).cast(pa.large_string()))
    for v in values.filter(pc.invert(simple)).cast(pa.large_binary()).to_pylist():
        _fold_words(v.decode("utf-8", errors="replace"), words)  # (a reader's text is not checked as UTF-8)


#: Bytes of a CSV output parsed at a time by the gate (:func:`_csv_columns`).
CSV_BLOCK = 1 << 22


def _csv_columns(path: Path):
    """The distinct values of each column of a CSV or TSV output (the header is a row), or None when
    it does not read so: it holds a ``data:`` URI (whose removal may cut a word), a loose quote
    (:data:`_LOOSE_QUOTE`), or rows pyarrow cannot parse."""
    import io

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    if not path.stat().st_size:
        return None
    with pa.memory_map(str(path)) as source:  # (mapped, not read into memory: one pass of each reader)
        data = source.read_buffer()
        whole = pa.Array.from_buffers(pa.large_binary(), 1, [None, pa.array([0, data.size], pa.int64()).buffers()[1],
                                                             data])
        if pc.count_substring_regex(whole, "data:|" + _LOOSE_QUOTE)[0].as_py():  # (one pass)
            return None
        delimiter = "\t" if path.suffix == ".tsv" else ","
        head = data[:1 << 20].to_pybytes().decode("utf-8", "replace")
        header = next(csv.reader(io.StringIO(head, newline=""), delimiter=delimiter), None)
        if not header:
            return None
        names = [f"c{i}" for i in range(len(header))]
        distinct: list[list] = [[] for _ in names]
        try:  # (read in blocks, each block's distinct values kept: memory bounded by a block)
            reader = pa_csv.open_csv(pa.BufferReader(data), read_options=pa_csv.ReadOptions(
                column_names=names, block_size=CSV_BLOCK), parse_options=pa_csv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True), convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), check_utf8=False))
            for batch in reader:
                for found, column in zip(distinct, batch.columns):
                    found.append(pc.unique(column))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        del data, whole
        return [pc.unique(pa.chunked_array(found, pa.string())) for found in distinct]


def _table_words(path: Path):
    """Every word the gate's search sees in a table output (parquet, CSV, TSV), read by columns: the
    words of each column's distinct values and of the column names, as an Arrow array. None: read it
    as text.

    The words of a CSV file's text are those of its cells (the delimiter, quotes and line breaks
    are not word characters, and a quote a reader drops stands next to one of them,
    :data:`_LOOSE_QUOTE`); undoing HTML escaping and case folding act on each cell alone. So a
    needle absent from these words is absent from the text, and only the needles that remain
    (:meth:`Scanner.restricted`) are sought in the text.
    """
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception:  # noqa: BLE001 - not a parquet file: read as text
            return None
        return _arrow_table_words(table)
    columns = _csv_columns(path)
    return None if columns is None else _words_of((), columns)


def _arrow_table_words(table):
    """The words of an Arrow table as a parquet file holds it (:func:`_words_of` its columns rendered):
    one reading for the file read back and the table written (:func:`write_parquet`)."""
    return _words_of(table.column_names, map(_rendered, table.columns))


def _words_of(names, columns):
    """The words of column ``names`` and of each column's distinct values (:func:`_add_words`), as
    one Arrow array of distinct words (none empty)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    parts: list = []
    words: set = set()
    _add_words(list(names), parts, words)
    for column in columns:
        _add_words(column, parts, words)
    parts.append(pa.array(sorted(words), pa.large_string()))
    distinct = pc.unique(pa.chunked_array(parts, pa.large_string()))
    return distinct.filter(pc.not_equal(distinct, ""))  # (a split at a value's edge leaves an empty word)


#: A string item of a workbook (shared ``<si>`` or inline ``<is>``): its ``<t>`` runs make one value.
_XLSX_STRING = re.compile(r"<(si|is)\b[^>]*>(.*?)</\1>", re.S)
_XLSX_RUN = re.compile(r"<t\b[^>]*>(.*?)</t>", re.S)
_XML_TEXT = re.compile(r">([^<]+)<")
#: Tags with attributes, but for a sheet's cells, rows and columns (references, styles, widths: never text).
_XML_TAG = re.compile(r"<(?!(?:c|row|col)\s)[\w:.-]+(\s[^>]+)>")
_XML_ATTRIBUTE = re.compile(r"""\s[\w:.-]+\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _workbook_text(path: Path) -> str:
    """Every text of a workbook, one value a line (so a match never joins two cells).

    An ``.xlsx`` file is a zip of XML parts; each part is read as text, not
    through a spreadsheet library (which builds a Python object per cell: a
    20 s for a 100,000-row coding sheet, against 2 s here). A string cell's rich-text runs are
    joined into its one value; every text node and every attribute value of
    every part (sheet names, numbers, formulas, document properties such as the
    author) is a line of its own, except the attributes of a sheet's cells,
    rows and columns (references, styles, widths). This holds every cell value
    that ``openpyxl`` reads (a property test checks it), and the rest of the file.

    Examples
    --------
    >>> import tempfile
    >>> from openpyxl import Workbook
    >>> wb = Workbook(); ws = wb.active; ws.title = "coding"; ws.append(["answer", 3]); ws.append(["Mail me"])
    >>> path = Path(tempfile.mkdtemp()) / "s.xlsx"; wb.save(path)
    >>> lines = _workbook_text(path).split("\\n")
    >>> all(v in lines for v in ("coding", "answer", "3", "Mail me"))
    True
    """
    import zipfile

    parts = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            xml = zf.read(info).decode("utf-8", errors="replace")
            parts.append(info.filename)
            # string items with their runs joined; every text node (the runs again, alone) and attribute
            parts.extend("".join(_XLSX_RUN.findall(m.group(2))) for m in _XLSX_STRING.finditer(xml))
            parts.extend(_XML_TEXT.findall(xml))
            parts.extend(a or b for tag in _XML_TAG.findall(xml) for a, b in _XML_ATTRIBUTE.findall(tag) if a or b)
    # (the caller undoes XML escaping: html.unescape reads &amp; &lt; &#233; alike)
    return "\n".join(parts)


def _readable_text(path: Path) -> str:
    if path.suffix == ".parquet":
        text = _table_text(path)
    elif path.suffix.lower() == ".xlsx":
        text = _workbook_text(path)
    elif path.suffix == ".ipynb":
        nb = json.loads(path.read_text(encoding="utf-8"))
        parts = []
        for cell in nb.get("cells", []):
            parts.append("".join(cell.get("source", [])))
            for out in cell.get("outputs", []):
                parts.append("".join(out.get("text", [])))
                for mime, data in out.get("data", {}).items():
                    if not mime.startswith("image/"):
                        parts.append("".join(data) if isinstance(data, list) else json.dumps(data))
        text = "\n".join(parts)
    else:
        data = path.read_bytes()
        if b"\r" in data:  # universal newlines, as read_text
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if len(data) > LINE_FOLD_CHARS and b"&" not in data and b"data:" not in data:
            return _fold_utf8(data)  # nothing to unescape: folded as bytes
        text = data.decode("utf-8", errors="replace")
    if "data:" in text:
        text = _DATA_URI.sub(" ", text)
    text = html.unescape(text)
    return case_fold(text)


#: Text longer than this is case folded as UTF-8 bytes (:func:`case_fold`).
LINE_FOLD_CHARS = 1 << 16
_NON_ASCII_RUN = re.compile(rb"[\x80-\xff]+")
#: Bytes searched for non-ASCII runs at a time (:func:`_fold_utf8`).
FOLD_BLOCK = 1 << 24


def _fold_utf8(data: bytes) -> str:
    """``data.decode("utf-8", errors="replace").casefold()``, in a few passes in C.

    ASCII letters are lowered as bytes; each run of non-ASCII bytes (whole characters, or bytes
    that are not UTF-8, which end at an ASCII byte) is decoded and folded alone: case folding maps
    each character on its own (no context, unlike :meth:`str.lower`'s final sigma).
    """
    data = data.lower()
    parts, done = [], 0
    for at in range(0, len(data), FOLD_BLOCK):  # runs found by numpy, a block at a time (bounded memory)
        high = np.flatnonzero(np.frombuffer(data, np.uint8, min(FOLD_BLOCK, len(data) - at), at) >= 0x80) + at
        if not len(high):
            continue
        cuts = np.flatnonzero(np.diff(high) > 1)
        for start, end in zip([int(high[0])] + (high[cuts + 1]).tolist(), (high[cuts] + 1).tolist() + [int(high[-1]) + 1]):
            end = max(end, done)
            if start < done:  # a run that went on from the block before: extend it
                start = done
            if end <= start:
                continue
            end = _NON_ASCII_RUN.match(data, start).end()  # the whole run, past the block's end
            parts += [data[done:start], data[start:end].decode("utf-8", "replace").casefold().encode("utf-8")]
            done = end
    parts.append(data[done:])
    return b"".join(parts).decode("utf-8")


def case_fold(text: str) -> str:
    """``text.casefold()``, faster on large text (folded as UTF-8 bytes: :func:`_fold_utf8`).

    Examples
    --------
    >>> case_fold("JAN Straße ΣΑΣ K") == "JAN Straße ΣΑΣ K".casefold() == "jan strasse σασ k"
    True
    """
    if text.isascii():
        return text.lower()
    if len(text) <= LINE_FOLD_CHARS:
        return text.casefold()
    try:
        return _fold_utf8(text.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate
        return text.casefold()


_WORD = re.compile(r"\w+")


def _is_word(ch: str) -> bool:
    """``re``'s ``\\w`` for one character (checked over every code point)."""
    return ch.isalnum() or ch == "_"


def _anchor(needle: str) -> tuple[str, int] | None:
    """The needle's longest word run and its offset (the first if several); None without a word run.

    Examples
    --------
    >>> _anchor("jan.jansen@example.nl"), _anchor("a-bb-cc"), _anchor("--")
    (('example', 11), ('bb', 2), None)
    """
    runs = _WORD.findall(needle)
    if not runs:
        return None
    word = max(runs, key=len)  # the first of the longest
    return word, needle.find(word)  # (a longer or earlier run holding it would be longer or the same run)


def _anchors(needles):
    """:func:`_anchor`'s word of each needle (an Arrow string array; null without a word run), and
    which needles have at least 7 digits (``\\d``; a boolean array). ASCII needles are split in C."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ascii = pc.string_is_ascii(needles)
    if not len(needles) or not pc.all(ascii).as_py():  # (rare: in Python)
        values = needles.to_pylist()
        found = [_anchor(v) for v in values]
        return (pa.array([a[0] if a else None for a in found], pa.large_string()),
                pa.array([bool(_SEVEN_DIGITS.match(v)) for v in values], pa.bool_()))
    pieces = pc.split_pattern_regex(needles, "[^0-9A-Za-z_]+")
    flat = pc.list_flatten(pieces)
    parent = pc.list_parent_indices(pieces).to_numpy()
    length = pc.binary_length(flat).to_numpy()
    starts = np.flatnonzero(np.r_[True, parent[1:] != parent[:-1]])  # every needle has a piece
    longest = np.maximum.reduceat(length, starts)
    at = np.flatnonzero(length == longest[parent])  # the first longest piece of each needle
    first = at[np.r_[True, parent[at][1:] != parent[at][:-1]]]
    anchors = pc.if_else(pa.array(longest > 0), flat.take(pa.array(first)), pa.scalar(None, pa.large_string()))
    return anchors.cast(pa.large_string()), pc.greater_equal(pc.count_substring_regex(needles, "[0-9]"), 7)


_SPACE = re.compile(r"\s")
#: Text longer than this is split into pieces by pyarrow, in slices of this many characters.
ARROW_SLICE = 1 << 22


def _word_runs(text: str) -> set[str]:
    """The distinct ``\\w+`` runs of ``text``: split into distinct pieces in C, then split each distinct piece.

    The pieces are cut at characters that never lie inside a word (whitespace; in a large text ASCII
    whitespace, ``,`` and ``"``, by pyarrow, slice by slice), so each word run of the text lies whole in
    a piece.
    """
    if len(text) <= ARROW_SLICE:
        return set(_WORD.findall(" ".join(set(text.split()))))  # whitespace never lies inside a word
    import pyarrow as pa
    import pyarrow.compute as pc

    pieces: set = set()
    start = 0
    while start < len(text):
        end = min(start + ARROW_SLICE, len(text))
        if end < len(text):  # cut where no word runs across
            cut = max(text.rfind("\n", start, end), text.rfind(" ", start, end))
            if cut > start:
                end = cut
            else:
                m = _SPACE.search(text, end)
                end = m.start() if m else len(text)
        part = text[start:end]
        try:  # (a literal replace and an ASCII-whitespace split are many times faster than a regex split)
            part = pa.array([part], pa.large_string())
            part = pc.replace_substring(pc.replace_substring(part, ",", " "), '"', " ")
            pieces.update(pc.unique(pc.list_flatten(pc.ascii_split_whitespace(part))).to_pylist())
        except (pa.ArrowException, UnicodeEncodeError):  # (a lone surrogate): in Python
            pieces.update(part.split())
        start = end
    return set(_WORD.findall(" ".join(pieces)))


_SEVEN_DIGITS = re.compile(r"(?:\D*\d){7}")  # (\D and \d are disjoint: no backtracking)


class Scanner:
    """Finds the needles of each kind in a text, in time linear in the text.

    Finds exactly what the plain search does (a regular expression per kind,
    ``(?<!\\w)(?:n1|n2|...)(?!\\w)`` with the needles longest first, plus each
    needle with at least 7 digits sought with whitespace removed in the text
    with whitespace removed; ``tests/test_privacy.py`` keeps that search as the
    reference and checks both agree), without trying every needle at every
    position:

    * a needle matches only where its longest word run (its *anchor*) stands
      as a whole word in the text, so the text's distinct words are collected
      once and intersected with a hashed index of anchors; only needles whose
      every word is in the text are then located (``str.find``), and the
      regular expression's leftmost-longest, non-overlapping choice is replayed
      on those occurrences;
    * needles without a word character (rare) are located with ``str.find``;
    * the whitespace-free digit needles go into one Aho-Corasick automaton
      (``pyahocorasick``) run once over the whitespace-free text.

    Examples
    --------
    >>> s = Scanner({"email": {"jan@example.nl"}, "phone": {"06 1234 5678"}})
    >>> s.hits("mail jan@example.nl, bel 0612 345 678; not xjan@example.nl")
    {'email': {'jan@example.nl'}, 'phone': {'0612345678'}}
    """

    #: with more candidate needles than this, occurrences are found in one pass over the words
    FIND_LIMIT = 64

    def __init__(self, needles: dict[str, set[str]]):
        import pyarrow as pa
        import pyarrow.compute as pc

        self.kinds = [kind for kind, vals in needles.items() if vals]
        self._needles = {kind: needles[kind] for kind in self.kinds}
        every = set().union(*self._needles.values()) if len(self.kinds) > 1 else next(
            iter(self._needles.values()), set())
        self._all = list(every)
        # the anchor of each needle, its first longest word run (:func:`_anchor`): found in C, looked up in C
        self._needle_array = pa.array(self._all, pa.large_string())
        self._anchor_array, digits = _anchors(self._needle_array)
        self._odd = set(self._needle_array.filter(pc.is_null(self._anchor_array)).to_pylist())
        self._digits = set(self._needle_array.filter(digits).to_pylist())  # at least 7: also sought squeezed
        squeezed: dict[str, set[str]] = {}
        for v in self._digits:
            squeezed.setdefault(v.replace(" ", ""), set()).update(self._kinds_of(v))
        self.squeezed = squeezed
        self._automaton = None

    def _kinds_of(self, needle: str) -> list[str]:
        return [kind for kind in self.kinds if needle in self._needles[kind]]

    def _candidates(self, words) -> list[str]:
        """The needles with a word run whose every word is among ``words`` (a set or an Arrow array)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if not self._all or not len(words):
            return []
        if isinstance(words, (set, frozenset)):
            words = pa.array(list(words), pa.large_string())
        found = self._needle_array.filter(pc.is_in(self._anchor_array, value_set=words)).to_pylist()
        if not found:
            return []
        runs = [_WORD.findall(v) for v in found]
        asked = sorted({w for r in runs for w in r})
        present = {w for w, yes in zip(asked, pc.is_in(pa.array(asked, pa.large_string()), value_set=words)
                                       .to_pylist()) if yes}
        return [v for v, r in zip(found, runs) if all(w in present for w in r)]

    def restricted(self, words) -> Scanner | None:
        """This scanner with only the needles that may occur in a text of these ``words`` (all the
        text's ``\\w+`` runs, :func:`_table_words`): those whose every word is among them, and those
        no word test rules out (without a word character; with 7 digits, also sought squeezed).
        None when no needle remains. It finds in that text exactly what this scanner finds.
        """
        keep = self._odd | self._digits | set(self._candidates(words))
        if not keep:
            return None
        narrow = Scanner({kind: vals & keep for kind, vals in self._needles.items()})
        narrow.FIND_LIMIT = self.FIND_LIMIT
        return narrow

    def _occurrences(self, text: str, needles: list[str]) -> list[tuple[int, int, str]]:
        """Every occurrence of ``needles`` in ``text`` with no word character just outside it."""
        def bounded(start: int, end: int) -> bool:
            return (start == 0 or not _is_word(text[start - 1])) and (end == len(text) or not _is_word(text[end]))

        found = []
        odd = [v for v in needles if v in self._odd]
        anchored = [v for v in needles if v not in self._odd]
        for v in odd + (anchored if len(anchored) <= self.FIND_LIMIT else []):
            i = text.find(v)
            i = text.find(v)
            while i >= 0:
                if bounded(i, i + len(v)):
                    found.append((i, i + len(v), v))
                i = text.find(v, i + 1)
        if len(anchored) <= self.FIND_LIMIT:
            return found
        at: dict[str, list[tuple[str, int]]] = {}
        for v in anchored:
            word, offset = _anchor(v)
            at.setdefault(word, []).append((v, offset))
        for m in _WORD.finditer(text):
            for v, offset in at.get(m.group(), ()):
                start = m.start() - offset
                if start >= 0 and text.startswith(v, start) and bounded(start, start + len(v)):
                    found.append((start, start + len(v), v))
        return found

    def _squeezed_hits(self, text: str) -> dict[str, set[str]]:
        if not self.squeezed:
            return {}
        if self._automaton is None:
            import ahocorasick

            automaton = ahocorasick.Automaton()
            for s in self.squeezed:
                automaton.add_word(s, s)
            automaton.make_automaton()
            self._automaton = automaton
        hits: dict[str, set[str]] = {}
        for _, s in self._automaton.iter("".join(text.split())):
            for kind in self.squeezed[s]:
                hits.setdefault(kind, set()).add(s)
        return hits

    def hits(self, text: str) -> dict[str, set[str]]:
        """Kind -> the distinct needles (or whitespace-free digit needles) found in ``text``."""
        if len(self._all) <= self.FIND_LIMIT:  # few needles: each sought with str.find
            candidates = list(self._all)
        else:
            candidates = sorted(self._odd)
            if len(self._odd) < len(self._all):
                candidates += self._candidates(_word_runs(text))
        per_kind: dict[str, list[tuple[int, int, str]]] = {}
        for occurrence in self._occurrences(text, candidates) if candidates else ():
            for kind in self._kinds_of(occurrence[2]):
                per_kind.setdefault(kind, []).append(occurrence)
        hits: dict[str, set[str]] = {}
        for kind, found in per_kind.items():
            # the regular expression's choice: leftmost first, longest there, then on after its end
            end = 0
            for start, stop, v in sorted(found, key=lambda o: (o[0], o[0] - o[1])):
                if start >= end:
                    hits.setdefault(kind, set()).add(v)
                    end = stop
        for kind, found in self._squeezed_hits(text).items():
            hits.setdefault(kind, set()).update(found)
        return {kind: hits[kind] for kind in self.kinds if kind in hits}


class FoldedScanner:
    """The gate's search: the needles as typed and folded, in text as written and folded.

    One :class:`Scanner` of the case-folded and the :func:`ascii_fold`-ed
    needles, run twice: on the case-folded text (any script), and on the
    ASCII-folded lines of the text that are not ASCII already (so "Jöran",
    "JORAN", "Jöran" in NFD and "ｊｏｒａｎ" all match the needle "joran"). Both
    are linear in the text.

    Examples
    --------
    >>> s = FoldedScanner({"name": {"Jöran Çelik"}})
    >>> sorted(s.hits("thanks joran-celik and jörans slides")["name"])  # as typed, and folded
    ['joran-celik', 'jorans', 'jörans']
    """

    FOLDS = (str.casefold, ascii_fold)

    def __init__(self, values: dict[str, set[str]]):
        self.values = values
        self._origins: dict[str, dict] = {}  # kind -> needle -> value, made when a leak asks (value_of)
        # one scanner: the folded needles are ASCII, so the case-folded ones never match folded text
        self.scanner = Scanner(_needles(values, fold=self.FOLDS))

    def hits(self, text: str) -> dict[str, set[str]]:
        """Kind -> the distinct needles found in ``text`` (already case folded, as :func:`_readable_text` gives)."""
        hits = self.scanner.hits(text)
        if not text.isascii():
            lines = "\n".join(line for line in text.split("\n") if not line.isascii())
            for kind, found in self.scanner.hits(ascii_fold(lines)).items():
                hits.setdefault(kind, set()).update(found)
        return hits

    def restricted(self, words: set[str]) -> FoldedScanner | None:
        """This search with only the needles that may occur among ``words`` (:meth:`Scanner.restricted`)."""
        narrow = self.scanner.restricted(words)
        if narrow is None:
            return None
        out = FoldedScanner.__new__(FoldedScanner)
        out.values, out._origins, out.scanner = self.values, self._origins, narrow
        return out

    def value_of(self, kind: str, needle: str) -> str | None:
        """The raw value a needle was made from (None: a whitespace-free digit needle)."""
        if kind not in self._origins:  # the needles of one kind made again, noting their values
            origins: dict = {}
            _needles({kind: self.values.get(kind, set())}, fold=self.FOLDS, origins=origins)
            self._origins[kind] = {n: v for (_, n), v in origins.items()}
        return self._origins[kind].get(needle)


def _table_columns(path: Path, scanner, kind: str) -> tuple:
    """The columns of a table output (parquet, CSV) in which ``scanner`` finds values of ``kind``."""
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path).to_pandas()
        else:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, sep="\t" if path.suffix == ".tsv" else ",")
    except Exception:  # noqa: BLE001 - a file that does not read as a table: named without columns
        return ()
    found = []
    for col in table.columns:
        text = "\n".join([str(col)] + [str(v) for v in pd.unique(table[col].astype(str))])
        text = html.unescape(text)
        if kind in scanner.hits(text.lower() if text.isascii() else text.casefold()):
            found.append(str(col))
    return tuple(found)


#: Outputs read by columns (:func:`_table_words`).
TABLE_SUFFIXES = (".parquet", ".csv", ".tsv")


def _hits(path: Path, scanner, words: dict | None = None) -> dict[str, set[str]]:
    """What ``scanner`` finds in one output: a table's words are collected by columns first
    (:func:`_table_words`, or taken from ``words`` when it holds the path), and only the needles
    that may occur among them are sought in its text."""
    if path.suffix in TABLE_SUFFIXES and hasattr(scanner, "restricted"):
        words = words[path] if words and path in words else _table_words(path)
        if words is not None:
            scanner = scanner.restricted(words)
            if scanner is None:
                return {}
    return scanner.hits(_readable_text(path))


def _describe_origin(origin, shown: dict | None = None) -> str:
    """Where a value came from, in words (the export's name as published, never the value)."""
    if not origin:
        return ""
    source, row, column = (list(origin) + [None, None])[:3]
    source = (shown or {}).get(source, (source,))[0]
    if row is None and column is None:
        return f"the name of export {source}" if source != "the roster" else "the study's roster"
    if row is None:
        return f"{source}, column {column!r}"
    return f"{source} row {row}, column {column!r}"


def scan_outputs(folders, values: dict[str, set[str]], scanner=None, origins: dict | None = None,
                 words: dict | None = None) -> tuple[list[Leak], int]:
    """Search every public output file under ``folders`` for personal values.

    Case-insensitive, after undoing HTML escaping, and again after folding
    accents and compatibility forms (:class:`FoldedScanner`); names also with
    hyphens for spaces and with a possessive; phone-like values also sought
    with whitespace removed. Returns the leaks and the number of files read.
    ``scanner`` (built from ``values`` when not given) does the search; its
    cost grows with the size of the files, not with the number of values.
    ``origins`` (from :func:`personal_values`) says where values came from:
    a leak then names the export, row and column of the first value it found.
    ``words``: path -> :func:`_table_words` of that table output, already read.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "report.html").write_text("<p>mail JAN.JANSEN@example.nl</p>")
    >>> _ = (d / "private").mkdir(); _ = (d / "private" / "q.csv").write_text("jan.jansen@example.nl")
    >>> leaks, n = scan_outputs([d], {"email": {"jan.jansen@example.nl"}},
    ...                         origins={"email": {"jan.jansen@example.nl": ("post.csv", 3, "Email")}})
    >>> [str(leak) for leak in leaks], n  # doctest: +NORMALIZE_WHITESPACE
    (["report.html: 1 value(s) of kind 'email' (from post.csv row 3, column 'Email'); to fix: give the variable
      of the output column that holds it role: text in codebook.yaml (its answers are then scrubbed), or pii:
      true (dropped)"], 1)
    """
    if scanner is None:
        scanner = FoldedScanner(values)
    leaks, read = [], 0
    for path, rel in public_files(folders):
        read += 1
        for kind, hits in _hits(path, scanner, words).items():
            columns = _table_columns(path, scanner, kind) if path.suffix in TABLE_SUFFIXES else ()
            origin = ""
            if origins is not None and hasattr(scanner, "value_of"):
                for needle in sorted(hits):
                    value = scanner.value_of(kind, needle)
                    if value is not None and value in origins.get(kind, {}):
                        origin = _describe_origin(origins[kind][value], origins.get(SHOWN_SOURCES))
                        break
            leaks.append(Leak(rel.as_posix(), kind, len(hits), columns, origin, fix_for(kind)))
    return leaks, read


def public_files(folders) -> list[tuple[Path, Path]]:
    """The files the gate reads under ``folders`` (or the files given), with their paths relative to
    their folder: every file of :data:`SCANNED_SUFFIXES` not under a folder named ``private``."""
    found = []
    for folder in map(Path, folders):
        files = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*") if p.is_file())
        for path in files:
            rel = path.relative_to(folder) if path != folder else Path(path.name)
            if "private" not in rel.parts and path.suffix.lower() in SCANNED_SUFFIXES:
                found.append((path, rel))
    return found


def check_privacy(study, *folders) -> tuple[list[Leak], int]:
    """The leak gate: personal values of ``study``'s raw inputs found in ``folders``.

    Parameters
    ----------
    study : path-like or Study
    *folders : path-like
        Output folders or single files (``private/`` sub-folders are skipped).

    Returns
    -------
    leaks : list of Leak
        Empty when nothing leaked.
    files_read : int
    """
    if not isinstance(study, Study):
        study = load_study(study)
    origins: dict = {}
    values = personal_values(study, origins=origins)
    return scan_outputs(folders, values, origins=origins)


class Gate:
    """The leak gate of one study: what it looks for, where it came from, and the check itself.

    Built once from the raw exports (:meth:`from_raws`), kept under
    ``private/`` for later stages (:meth:`save`, :meth:`load`), and asked to
    check files (:meth:`check`).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "a.html").write_text("<p>JAN.JANSEN@example.nl</p>")
    >>> [(leak.file, leak.kind, leak.count) for leak in Gate({"email": {"jan.jansen@example.nl"}}).check([d])]
    [('a.html', 'email', 1)]
    """

    #: Where the gate is kept under ``private/``: a parquet table, a row per value (:meth:`save`).
    FILE = "gate.parquet"
    #: Where it was kept before (JSON), still read.
    OLD_FILE = "gate.json"

    def __init__(self, values: dict[str, set[str]], origins: dict | None = None, *, table=None):
        self.values = values
        self._origins = origins or ({} if table is None else None)
        self._table = table  # (origins made from it when a leak asks: :attr:`origins`)
        self._scanner = None

    @property
    def origins(self) -> dict:
        """Kind -> value -> where it was first seen (export, row, column), as :func:`personal_values` notes."""
        if self._origins is None:
            t = self._table.filter(self._table["olen"].is_valid()).to_pydict()
            origins: dict = {}
            for kind, value, n, a, b, c in zip(t["kind"], t["value"], t["olen"], t["o0"], t["o1"], t["o2"]):
                origins.setdefault(kind, {})[value] = (a, b, c)[:n]
            self._origins = origins
        return self._origins

    @classmethod
    def from_raws(cls, study: Study, raws: list, found: dict | None = None) -> Gate:
        """The gate of ``study`` from its raw exports; ``found``: what protecting them found
        (:attr:`analysis.protect.ProcessedStudy.personal`), reused."""
        origins: dict = {}
        values = personal_values(study, raws, origins, found)
        return cls(values, origins)

    def save(self, private: Path) -> Path:
        """Keep what the gate looks for and where it came from (raw values: under ``private/`` only).

        A parquet table (read in a fraction of the time JSON takes at a million values): a row per
        kind and value, whether the gate seeks it (``sought``), and its origin's parts (``o0``-``o2``,
        ``olen`` of them; null without one).

        Examples
        --------
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = Gate({"email": {"a@x.nl"}}, {"email": {"a@x.nl": ("pre.csv", 3, "Email")},
        ...                                  "(export names)": {"pre.csv": ("pre.csv",)}}).save(d)
        >>> gate = Gate.load(d)
        >>> gate.values, gate.origins["email"], gate.origins["(export names)"]
        ({'email': {'a@x.nl'}}, {'a@x.nl': ('pre.csv', 3, 'Email')}, {'pre.csv': ('pre.csv',)})
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        cols: dict[str, list] = {k: [] for k in ("kind", "value", "sought", "olen", "o0", "o1", "o2")}
        for kind in sorted(set(self.values) | set(self.origins)):
            sought, seen = self.values.get(kind, set()), self.origins.get(kind, {})
            keys = list(seen) + [v for v in sought if v not in seen]
            parts = [tuple(o)[:3] for o in seen.values()]  # (export, row, column) or (export name as shown,)
            cols["kind"] += [kind] * len(keys)
            cols["value"] += keys
            cols["sought"] += [v in sought for v in keys] if seen else [True] * len(keys)
            cols["olen"] += [len(o) for o in parts] + [None] * (len(keys) - len(parts))
            padded = [o + (None,) * (3 - len(o)) for o in parts]
            cols["o0"] += [None if o[0] is None else str(o[0]) for o in padded] + [None] * (len(keys) - len(parts))
            cols["o1"] += [None if o[1] is None else int(o[1]) for o in padded] + [None] * (len(keys) - len(parts))
            cols["o2"] += [None if o[2] is None else str(o[2]) for o in padded] + [None] * (len(keys) - len(parts))
        table = pa.table({"kind": pa.array(cols["kind"], pa.string()).dictionary_encode(),
                          "value": pa.array(cols["value"], pa.large_string()), "sought": pa.array(cols["sought"]),
                          "olen": pa.array(cols["olen"], pa.int8()),
                          "o0": pa.array(cols["o0"], pa.string()).dictionary_encode(),
                          "o1": pa.array(cols["o1"], pa.int64()),
                          "o2": pa.array(cols["o2"], pa.string()).dictionary_encode()})
        path = Path(private) / self.FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            pq.write_table(table, f)
        (Path(private) / self.OLD_FILE).unlink(missing_ok=True)  # (one record of what is sought)
        return path

    @classmethod
    def load(cls, private: Path) -> Gate:
        """The gate :meth:`save` kept (or an older ``gate.json``)."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        path = Path(private) / cls.FILE
        if not path.exists() and (Path(private) / cls.OLD_FILE).exists():
            return cls._load_json(Path(private) / cls.OLD_FILE)
        table = pq.read_table(path)
        table = table.set_column(0, "kind", table["kind"].cast("string"))
        sought = table.filter(table["sought"])
        values = {}
        for kind in pc.unique(sought["kind"]).to_pylist():
            values[kind] = set(sought.filter(pc.equal(sought["kind"], kind))["value"].to_pylist())
        return cls(values, table=table)

    @classmethod
    def _load_json(cls, path: Path) -> Gate:
        content = json.loads(path.read_text(encoding="utf-8"))
        if "values" not in content:  # written before origins were kept
            content = {"values": content, "origins": {}}
        return cls({kind: set(vals) for kind, vals in content["values"].items()},
                   {kind: {v: tuple(o) for v, o in found.items()} for kind, found in content["origins"].items()})

    def scanner(self) -> FoldedScanner:
        """The gate's search, built once: later checks of this gate reuse it."""
        if self._scanner is None:
            self._scanner = FoldedScanner(self.values)
        return self._scanner

    def check(self, paths, words: dict | None = None) -> list[Leak]:
        """Leaks in files or folders (``private/`` skipped); empty when nothing leaked. ``words``:
        the words of table outputs already read (:func:`scan_outputs`); the others are read two at a
        time, while the gate's search is built."""
        from concurrent.futures import ThreadPoolExecutor

        words = dict(words or {})
        tables = [path for path, _ in public_files(paths) if path.suffix in TABLE_SUFFIXES and path not in words]
        if tables:
            with ThreadPoolExecutor(max_workers=WORKERS) as pool:
                found = [pool.submit(_table_words, path) for path in tables]
                self.scanner()
                words.update(zip(tables, (job.result() for job in found)))
        return scan_outputs(paths, self.values, self.scanner(), _Origins(self), words)[0]


class _Origins:
    """A gate's origins, made only when a leak asks where a value came from (:attr:`Gate.origins`)."""

    def __init__(self, gate: Gate):
        self.gate = gate

    def get(self, kind, default=None):
        return self.gate.origins.get(kind, default)

    def __getitem__(self, kind):
        return self.gate.origins[kind]


# --- one publish step ------------------------------------------------------------------

def _write(path: Path, content, *, words: bool = False):
    """Write one output by its kind: a frame by the file's suffix (parquet: :func:`write_parquet`),
    a :class:`CsvTable` (:func:`write_csv`), a dict as JSON, text, bytes, or a writer. With
    ``words``, a table's words as written for the gate (None: the gate reads the file)."""
    if isinstance(content, CsvTable):
        return write_csv(content.frame, path, words=words)
    if callable(content):
        content(path)
    elif isinstance(content, pd.DataFrame):
        if path.suffix == ".parquet":
            return write_parquet(content, path, words=words)
        if path.suffix == ".csv":  # (small tables; large ones: write_csv)
            # no CR is left, so pandas quotes every cell holding a line break: a record never splits
            neutralise_formulas(remove_controls(content, path.name)[0]).to_csv(path, index=False)
        else:
            raise ValueError(f"no writer for a table as {path.name}")
    elif isinstance(content, dict):
        path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(str(content), encoding="utf-8")


def publish(out, files: dict, gate: Gate, *, private: dict | None = None) -> dict[str, Path]:
    """Write public ``files`` into ``out`` only if the leak gate finds no personal value in them.

    Parameters
    ----------
    out : path-like
        The results folder (created).
    files : dict
        File name (relative to ``out``) -> content: a DataFrame (``.parquet``,
        or ``.csv`` with formulas neutralised), a dict (JSON), text, bytes, or
        a callable that writes the file at the path it is given.
    gate : Gate
        The study's leak gate.
    private : dict, optional
        Files for ``out/private/`` (never gated, never public).

    Returns
    -------
    dict
        File name -> path of every public file written.

    Raises
    ------
    PrivacyLeak
        A staged file holds a personal value: none of ``files`` is kept.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp())
    >>> gate = Gate({"email": {"jan.jansen@example.nl"}})
    >>> sorted(publish(out, {"a.txt": "fine"}, gate))
    ['a.txt']
    >>> publish(out, {"b.txt": "mail Jan.Jansen@example.nl"}, gate)
    Traceback (most recent call last):
    ...
    analysis.publish.PrivacyLeak: b.txt: 1 value(s) of kind 'email'; to fix: ...
    >>> sorted(p.name for p in out.iterdir())
    ['a.txt']
    """
    import shutil
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folder = private_folder(out) if private else None
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))  # same file system: moves are renames
    try:
        staged = {name: staging / name for name in files}
        # Two at a time (pyarrow's writers and readers let go of the GIL): each public file written
        # and its words read for the gate (:func:`_table_words`), the private files, the gate's search.
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            jobs = [pool.submit(_write_staged, staged[name], content) for name, content in files.items()]
            jobs += [pool.submit(_write_private, folder / name, content) for name, content in (private or {}).items()]
            jobs.append(pool.submit(gate.scanner))
            words = dict(done for done in (job.result() for job in jobs) if isinstance(done, tuple))
        leaks = gate.check([staging], words)
        if leaks:
            raise PrivacyLeak(leaks)
        written = {}
        for name, path in staged.items():
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            path.replace(target)
            written[name] = target
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


#: Files written (and read by the gate) at once by :func:`publish`.
WORKERS = 2


def _write_staged(path: Path, content) -> tuple | None:
    """Write one public file; for a table output, also its words for the gate (as written, or read
    from the file): ``(path, words)``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    words = _write(path, content, words=True)
    if path.suffix not in TABLE_SUFFIXES:
        return None
    return path, words if words is not None else _table_words(path)


def _write_private(path: Path, content) -> None:
    _owner_only(path)
    _write(path, content)


def _owner_only(path: Path) -> None:
    """Create ``path`` readable by its owner only before anything is written into it (an existing
    file made so first): a writer that opens it then keeps that mode."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def private_folder(out) -> Path:
    """``out/private``, created readable by its owner only (an existing one made so before anything is
    written into it), with a README that says what it is."""
    folder = Path(out) / "private"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o077:
        folder.chmod(0o700)
    readme = folder / "README.txt"
    if not readme.exists():
        _owner_only(readme)
        readme.write_text("Raw values of a study (personal data): rows set aside while cleaning, and what the\n"
                          "leak gate looks for. Never share this folder; reports never read it.\n", encoding="utf-8")
    return folder


def write_processed(processed, out_dir) -> Path:
    """Publish a processed study: ``responses.parquet``/``.csv``, ``changes.csv``, ``summary.json``;
    the quarantine under ``private/``."""
    gate = Gate.from_raws(processed.study, processed.raws, processed.personal)
    publish(out_dir, {"responses.parquet": processed.data,
                      "responses.csv": CsvTable(processed.data),
                      "changes.csv": CsvTable(processed.changes), "summary.json": processed.summary}, gate,
            private={"quarantine.csv": lambda p: processed.quarantine.to_csv(p, index=False)})
    return Path(out_dir)
