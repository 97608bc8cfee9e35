"""Read stage: any supported survey export into a raw frame with provenance.

Raw files are only ever opened for reading. A reader returns every record of
the file as a row of strings (a blank answer is ``""``, never NaN), with the
original headers, the question text behind each header, and four columns the
later stages rely on:

``_source``
    the file name as the study file gives it;
``_row``
    the record's row number as a spreadsheet shows it (first header row = 1),
    so a user can find it; an answer with line breaks still counts as one row;
``_preview``
    the survey tool itself marks the record as a preview or test;
``_complete``
    the tool marks the submission as finished (True when it has no such mark).

Bytes as they come: UTF-8 with or without BOM, else Windows-1252, else
Latin-1; delimiter ``,`` ``;`` or tab (from the header record); CRLF, LF or
mixed line ends; line breaks inside quoted answers. Text that was UTF-8
encoded twice (``CafÃ©``) is repaired cell by cell where the repair is
unambiguous, and every repair is listed in :attr:`RawExport.repairs`. A large
UTF-8 file is parsed on all cores, in parts that start where a record ends; a
compressed file (``.csv.gz``) is refused with a clear error.

Formats (:data:`FORMATS`) are detected from the file, or named in the study file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io as _io
import mmap
import os
import re
import warnings
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import InputError, refuse_in_reports

SOURCE, ROW, PREVIEW, COMPLETE = "_source", "_row", "_preview", "_complete"
PROVENANCE = (SOURCE, ROW, PREVIEW, COMPLETE)


@dataclass(frozen=True)
class Format:
    """What one survey tool's export looks like."""

    name: str
    description: str
    header_rows: int = 1
    #: Columns the tool writes itself (times, ids, status): never a person's answer.
    meta: tuple = ()
    #: strftime pattern of the tool's timestamps (None: ISO-like, inferred).
    timestamp_format: str | None = None
    excel: bool = False


FORMATS = {f.name: f for f in (
    Format("google_forms", "Google Forms CSV (Timestamp first)", meta=("Timestamp",),
           timestamp_format="%m/%d/%Y %H:%M:%S"),
    Format("qualtrics", "Qualtrics CSV (column ids, question text and ImportId rows)", header_rows=3,
           meta=("StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished",
                 "RecordedDate", "ResponseId", "RecipientLastName", "RecipientFirstName", "RecipientEmail",
                 "ExternalReference", "ExternalDataReference", "LocationLatitude", "LocationLongitude",
                 "DistributionChannel", "UserLanguage"),
           timestamp_format="%Y-%m-%d %H:%M:%S"),
    Format("microsoft_forms", "Microsoft Forms XLSX", excel=True,
           meta=("ID", "Start time", "Completion time", "Email", "Name", "Last modified time")),
    Format("typeform", "Typeform CSV (HTML in headers, a column per multi-select option)",
           meta=("#", "Network ID", "Start Date (UTC)", "Submit Date (UTC)"), timestamp_format="%Y-%m-%d %H:%M:%S"),
    Format("indico", "Indico survey CSV (BOM, section prefixes in headers)",
           meta=("Submitter", "Submitter Email", "Submission Date")),
    Format("surveygizmo", "SurveyGizmo / Alchemer CSV (Status Partial/Complete, #1: slots)",
           meta=("Response ID", "Time Started", "Date Submitted", "Status", "Contact ID", "Legacy Comments",
                 "Comments", "Language", "Referer", "SessionID", "User Agent", "IP Address", "Longitude",
                 "Latitude", "Country", "City", "State/Region", "Postal"),
           timestamp_format=None),
    Format("surveymonkey", "SurveyMonkey CSV (question row and sub-option row)", header_rows=2,
           meta=("Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address", "Email Address",
                 "First Name", "Last Name", "Custom Data 1")),
    Format("limesurvey", "LimeSurvey CSV (id, submitdate, lastpage ...)",
           meta=("id", "submitdate", "lastpage", "startlanguage", "seed", "startdate", "datestamp", "ipaddr",
                 "refurl", "token")),
    Format("csv", "plain CSV or TSV with one header row"),
    Format("xlsx", "plain Excel workbook, first sheet", excel=True),
)}
#: Kept for callers that only need the pattern per format.
TIMESTAMP_FORMATS = {name: f.timestamp_format for name, f in FORMATS.items()}


@dataclass
class RawExport:
    """One export as read, before any interpretation.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per record; answer columns under their original (de-duplicated)
        headers, all strings, plus the provenance columns.
    questions : dict
        Column -> question text (the header itself unless the tool writes the
        question elsewhere: Qualtrics' second row, SurveyMonkey's two rows,
        Indico without its section prefix).
    repairs : pandas.DataFrame
        Cells repaired from double-encoded UTF-8: ``source_row``, ``column``,
        ``old``, ``new``.
    parts : dict
        Column -> ``(question, part)`` for columns that hold one of several
        answers to a question: parts ``"1"``, ``"2"``... for SurveyGizmo's
        numbered slots (``Tool #1:What tools...?``), ``"other"`` for the
        write-in of a question that has a column of its own
        (``Other - Write In:How do you run it?``). See
        :meth:`analysis.codebook.Codebook.match_parts`.
    """

    path: Path
    name: str
    format: str
    frame: pd.DataFrame
    questions: dict = field(default_factory=dict)
    repairs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["source_row", "column", "old", "new"]))
    encoding: str = "utf-8"
    parts: dict = field(default_factory=dict)

    @property
    def answer_columns(self) -> list[str]:
        return [c for c in self.frame.columns if c not in PROVENANCE]

    @property
    def meta_columns(self) -> list[str]:
        """Columns the survey tool wrote itself (not a person's answers)."""
        meta = set(FORMATS[self.format].meta)
        return [c for c in self.answer_columns if c in meta]


# --- bytes to records ---------------------------------------------------------------

_BOM = b"\xef\xbb\xbf"
# UTF-8 bytes of the characters that double-encoded UTF-8 starts with (Ã, Â, â€).
_MOJIBAKE_BYTES = (b"\xc3\x83", b"\xc3\x82", b"\xc3\xa2\xe2\x82\xac")
_MOJIBAKE = re.compile("[ÃÂ][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013"
                       "\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]|â€")


def _encodings(path: Path) -> tuple[str, ...]:
    """Encodings to try in order: a BOM settles it, else UTF-8, Windows-1252, Latin-1."""
    with path.open("rb") as fh:
        if fh.read(3) == _BOM:
            return ("utf-8-sig",)
    return ("utf-8", "cp1252", "latin-1")


def _first_records(path: Path, encoding: str, n: int = 3) -> list[list[str]]:
    with path.open("rb") as fh:
        head = fh.read(1 << 16).decode(encoding, errors="replace")
    if encoding == "utf-8-sig":
        head = head.lstrip("\ufeff")
    delimiter = _delimiter(head)
    reader = csv.reader(_io.StringIO(head, newline=""), delimiter=delimiter)
    records = []
    try:
        for record in reader:
            records.append(record)
            if len(records) == n:
                break
    except csv.Error:
        pass
    return records


def _delimiter(head: str) -> str:
    """The delimiter of the header record: the most frequent of , ; tab outside quotes."""
    counts = {",": 0, ";": 0, "\t": 0}
    quoted = False
    for ch in head:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
        elif not quoted and ch in "\r\n":
            break
    return max(counts, key=counts.get) if any(counts.values()) else ","


def _repair(text: str) -> str | None:
    """Undo one round of UTF-8 read as Windows-1252, if that gives valid UTF-8.

    Examples
    --------
    >>> _repair("CafÃ© â€“ niÃ±o"), _repair("Café"), _repair("Ã is a letter")
    ('Café – niño', None, None)
    """
    try:
        fixed = text.encode("cp1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    return fixed if fixed != text else None


# --- one pass over a file's bytes, and reading a large file in parts -------------------------

_QUOTE, _LINE_END = ord('"'), ord("\n")
_BLOCK = 4 << 20  # bytes looked at at a time
_LOOK = 1 << 16  # how far past a block's start a line end outside quotes is looked for


@dataclass(frozen=True)
class _Bytes:
    """What one pass over a file's bytes finds, per block of ``block`` bytes.

    ``quotes`` counts the ``"`` of each block. ``ends[b, p]`` is the offset
    just after the first line end among the block's first ``_LOOK`` bytes that
    has an even (``p = 0``) or odd (``p = 1``) number of the block's quotes
    before it, -1 if there is none. ``mojibake``: a double-encoded character
    (``_MOJIBAKE_BYTES``) occurs somewhere.
    """

    size: int
    quotes: np.ndarray
    ends: np.ndarray
    mojibake: bool

    def record_ends(self) -> np.ndarray:
        """Per block, the offset after its first line end outside quotes (-1: none near its start).

        In CSV every ``"`` opens or closes a quoted value or is one of the pair
        that stands for a quote inside one, so a line end is outside quotes
        when an even number of quotes comes before it in the file. (A stray
        quote inside an unquoted value breaks this; :func:`_parse_in_parts`
        notices and reads the file in one piece.)
        """
        before = (np.cumsum(self.quotes) - self.quotes) % 2
        return self.ends[np.arange(len(before)), before]


def _marked(chunk: np.ndarray) -> bool:
    """Whether one of ``_MOJIBAKE_BYTES`` starts in ``chunk`` (a numpy array of bytes)."""
    lead = np.flatnonzero(chunk == _MOJIBAKE_BYTES[0][0])  # all markers start with this byte
    for marker in _MOJIBAKE_BYTES:
        at = lead[lead + len(marker) <= len(chunk)]
        for k in range(1, len(marker)):
            at = at[chunk[at + k] == marker[k]]
        if len(at):
            return True
    return False


def _scan(path: Path, workers: int = 1, block: int | None = None) -> _Bytes:
    """One pass over the bytes of ``path`` in blocks, ``workers`` at a time (numpy releases the GIL).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "export.csv"
    ...     _ = path.write_bytes('q,"a\\nb"\\n1,CafÃ©\\n'.encode())
    ...     facts = _scan(path, block=8)
    >>> facts.quotes.tolist(), facts.record_ends().tolist(), facts.mojibake
    ([2, 0, 0], [8, -1, 18], True)
    """
    block = block or _BLOCK
    size = path.stat().st_size
    if not size:
        return _Bytes(0, np.zeros(0, dtype=np.int64), np.zeros((0, 2), dtype=np.int64), False)
    longest = max(len(marker) for marker in _MOJIBAKE_BYTES)
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        data = np.frombuffer(mm, dtype=np.uint8)

        def look(start: int) -> tuple[int, list, bool]:
            own = data[start: start + block]
            near = own[:_LOOK]
            at = np.flatnonzero(near == _LINE_END)
            odd = np.cumsum(near == _QUOTE)[at] % 2
            ends = [start + int(found[0]) + 1 if len(found) else -1 for found in (at[odd == 0], at[odd == 1])]
            # the marker check runs on into the next block, for a marker that starts at the end of this one
            return int(np.count_nonzero(own == _QUOTE)), ends, _marked(data[start: start + block + longest - 1])

        with ThreadPoolExecutor(max_workers=workers) as pool:
            found = list(pool.map(look, range(0, size, block)))
        del data  # (the map cannot close while an array points into it)
    return _Bytes(size, np.array([q for q, _, _ in found], dtype=np.int64),
                  np.array([e for _, e, _ in found], dtype=np.int64).reshape(-1, 2), any(m for _, _, m in found))


class _Ranges(_io.RawIOBase):
    """Byte ranges of a file, read one after the other as if they were one file."""

    def __init__(self, path: Path, ranges: list[tuple[int, int]]):
        super().__init__()
        self._fh = path.open("rb", buffering=0)
        self._ranges = [r for r in ranges if r[1] > r[0]]

    def readable(self) -> bool:
        return True

    def readinto(self, out) -> int:
        while self._ranges:
            start, end = self._ranges[0]
            n = os.preadv(self._fh.fileno(), [memoryview(out)[: end - start]], start)
            if n:
                self._ranges[0] = (start + n, end)
                if start + n >= end:
                    self._ranges.pop(0)
                return n
            self._ranges = []  # the file is shorter than it was
        return 0

    def close(self) -> None:
        self._fh.close()
        super().close()


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _parse_in_parts(path: Path, encoding: str, options: dict, facts: _Bytes, parts: int,
                    workers: int) -> pd.DataFrame | None:
    """``pd.read_csv(path, encoding=encoding, **options)``, parsed in about ``parts`` parts at once.

    pandas splits a large file itself, but at any line end; in an export with
    line breaks inside answers the split lands inside one, and pandas then
    reads the whole file again on one core. Here each part starts at a line
    end outside quotes (see :meth:`_Bytes.record_ends`) and is parsed after
    the file's first record, so that its columns are read as text as they are
    in one piece (the record is dropped again).

    The result is exactly the one-piece result, or ``None``: the parser
    starts each part in the state it is in after a record, and a part that
    does not end outside quotes fails with "EOF inside string", so every part
    that parses was cut where a record ends. Anything that fails (a stray
    quote, a malformed row, a record longer than ``_LOOK``...) gives ``None``,
    and the caller reads the file in one piece, which also reports the error
    with the right line number. Bytes that are not UTF-8 raise
    ``UnicodeDecodeError`` as the one-piece read does (parts start after a
    line end: no character is cut).
    """
    ends = facts.record_ends()
    ends = ends[(ends > 0) & (ends < facts.size)]  # (increasing: one per block at most)
    bounds = [0]
    for k in range(1, parts):  # the first record end from k/parts of the file on
        later = ends[(ends >= k * facts.size // parts) & (ends > bounds[-1])]
        if len(later):
            bounds.append(int(later[0]))
    bounds.append(facts.size)
    if len(bounds) < 3:
        return None
    first = int(ends[0])  # the end of the first record (checked below)

    def parse(ranges: list) -> pd.DataFrame:
        with _Ranges(path, ranges) as raw:
            return pd.read_csv(_io.BufferedReader(raw, 1 << 20), encoding=encoding, **options)

    try:
        # (warnings are filtered here, not in the threads: the filters are global state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a part's warning would come once per part
            if len(parse([(0, first)])) != 1:  # the first record is one record on its own
                return None
            with ThreadPoolExecutor(max_workers=workers) as pool:
                pieces = list(pool.map(parse, [[(0, b)] if a == 0 else [(0, first), (a, b)]
                                               for a, b in zip(bounds, bounds[1:])]))
    except UnicodeDecodeError:
        raise
    except Exception:  # noqa: BLE001 - see above: the one-piece read decides
        return None
    if len({piece.shape[1] for piece in pieces}) > 1:
        return None
    return pd.concat([pieces[0]] + [piece.iloc[1:] for piece in pieces[1:]], ignore_index=True)


def _read_records(path: Path) -> tuple[pd.DataFrame, str, bool]:
    """Every record of a delimited text file as a frame of strings (positional columns).

    Returns the frame, the encoding and whether double-encoded UTF-8 may be in
    it. pandas' C parser does the work, on a large UTF-8 file in parts on all
    cores (:func:`_parse_in_parts`); a file that is not UTF-8 fails fast and
    is read again with the next encoding.

    The parser is left to infer column types, because that builds text columns
    several times faster than ``dtype=str``; with the header row among the
    records nearly every column is text anyway, and a column taken for numbers
    or booleans is read again as text, so ``"01"`` stays ``"01"``.
    """
    with path.open("rb") as fh:
        head = fh.read(1 << 16).decode("latin-1").lstrip("\ufeff").lstrip("\xef\xbb\xbf")
    options = dict(sep=_delimiter(head), header=None, keep_default_na=False, na_filter=False,
                   skip_blank_lines=False, engine="c")
    workers = _cores()
    facts = None
    try:
        for encoding in _encodings(path):
            try:
                frame = None
                if encoding.startswith("utf-8"):
                    facts = _scan(path, workers)
                    if workers > 1 and facts.size >= 4 * _BLOCK:
                        frame = _parse_in_parts(path, encoding, options, facts, workers, workers)
                if frame is None:
                    frame = pd.read_csv(path, encoding=encoding, **options)
                break
            except UnicodeDecodeError:
                continue
        else:  # only after a byte-order mark: no other encoding is tried
            raise InputError(path, "UTF-8 text after its byte-order mark, found bytes that are not UTF-8")
        inferred = [k for k, dtype in enumerate(frame.dtypes) if dtype != "str"]
        if inferred:
            again = pd.read_csv(path, encoding=encoding, dtype=str, usecols=inferred, **options)
            for k in inferred:
                frame[k] = again[k]
    except pd.errors.EmptyDataError:
        raise InputError(path, "a header row, found an empty file") from None
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            width, line, saw = map(int, found.groups())
            raise InputError(path, f"at most {width} fields as in the header, found {saw}", row=line) from None
        raise InputError(path, f"well-formed CSV ({str(exc).strip().splitlines()[-1]})") from None
    return frame.fillna(""), encoding, encoding.startswith("utf-8") and facts.mojibake


def _unique(headers: list[str]) -> list[str]:
    """Make repeated headers unique the way pandas does (``Other``, ``Other.1``...).

    Examples
    --------
    >>> _unique(["Other", "Q", "Other", "Other"])
    ['Other', 'Q', 'Other.1', 'Other.2']
    """
    seen: dict[str, int] = {}
    out = []
    for h in headers:
        if h in seen:
            seen[h] += 1
            out.append(f"{h}.{seen[h]}")
        else:
            seen[h] = 0
            out.append(h)
    return out


def _assemble(path: Path, name: str, fmt: str, records: pd.DataFrame, header: list[str],
              questions: list[str] | None = None, encoding: str = "utf-8",
              header_rows: int | None = None, mojibake: bool = True) -> RawExport:
    """Data records under their headers, with provenance and double-encoding repairs.

    Cells are looked at for double-encoded UTF-8 only when ``mojibake`` (the
    bytes of a text file hold a marker: see :func:`_read_records`).
    """
    header_rows = FORMATS[fmt].header_rows if header_rows is None else header_rows
    body = records.iloc[header_rows:].reset_index(drop=True)
    while header and not header[-1] and not (body.iloc[:, len(header) - 1] != "").any():
        header = header[:-1]  # trailing unnamed, unused columns (an Excel re-save)
        body = body.iloc[:, : len(header)]
    wide = body.iloc[:, len(header):]
    if wide.shape[1] and (wide != "").any(axis=None):
        k = int(np.flatnonzero((wide != "").any(axis=1).to_numpy())[0])
        raise InputError(path, f"at most {len(header)} fields as in the header",
                         row=header_rows + k + 1)
    body = body.iloc[:, : len(header)]
    body.columns = _unique([h.strip() for h in header])
    body = body.astype("str")
    repairs = []
    if mojibake:
        for col in body.columns:
            suspect = body[col].str.contains(_MOJIBAKE, regex=True)
            for k in np.flatnonzero(suspect.to_numpy()):
                fixed = _repair(body.at[k, col])
                if fixed is not None:
                    repairs.append({"source_row": header_rows + k + 1, "column": col,
                                    "old": body.at[k, col], "new": fixed})
                    body.at[k, col] = fixed
    body[SOURCE] = name
    body[ROW] = np.arange(header_rows + 1, header_rows + 1 + len(body))
    body[PREVIEW] = False
    body[COMPLETE] = True
    texts = questions if questions is not None else header
    return RawExport(path, name, fmt, body, dict(zip(body.columns, (t.strip() for t in texts))),
                     pd.DataFrame(repairs, columns=["source_row", "column", "old", "new"]), encoding)


def _header_rows(records: pd.DataFrame, n: int) -> list[list[str]]:
    return [records.iloc[k].tolist() for k in range(min(n, len(records)))]


# --- one reader per tool ----------------------------------------------------------------

def _read_simple(path: Path, name: str, fmt: str) -> RawExport:
    records, encoding, mojibake = _read_records(path)
    return _assemble(path, name, fmt, records, _header_rows(records, 1)[0], encoding=encoding, mojibake=mojibake)


def _read_qualtrics(path: Path, name: str, fmt: str) -> RawExport:
    records, encoding, mojibake = _read_records(path)
    rows = _header_rows(records, 3)
    if len(rows) < 3 or not rows[2][0].lstrip().startswith("{"):
        raise InputError(path, "a Qualtrics export: three header rows, the third with ImportId JSON", row=3)
    ids, texts = rows[0], [t or i for t, i in zip(rows[1], rows[0])]
    raw = _assemble(path, name, fmt, records, ids, texts, encoding, mojibake=mojibake)
    status = raw.frame["Status"].str.strip().str.casefold() if "Status" in raw.frame else None
    if status is not None:  # choice-text export says "Survey Preview", numeric export 1 (preview) / 8 (spam)
        raw.frame[PREVIEW] = status.isin({"survey preview", "spam", "survey test", "1", "8"}).to_numpy()
    if "Finished" in raw.frame:
        raw.frame[COMPLETE] = raw.frame["Finished"].str.strip().str.casefold().isin({"true", "1"}).to_numpy()
    return raw


def _read_indico(path: Path, name: str, fmt: str) -> RawExport:
    records, encoding, mojibake = _read_records(path)
    header = _header_rows(records, 1)[0]
    # "Background information: Which workshop ...?" -> the question without its section title;
    # a title is a prefix that heads at least two columns.
    prefixes = [h.split(": ", 1)[0] for h in header if ": " in h]
    sections = {p for p in prefixes if prefixes.count(p) >= 2}
    texts = [h.split(": ", 1)[1] if ": " in h and h.split(": ", 1)[0] in sections else h for h in header]
    return _assemble(path, name, fmt, records, header, texts, encoding, mojibake=mojibake)


# "Tool / Application #1:What tools...?": the first of several answers to one question
_SLOT = re.compile(r"^[^:#]*#(\d+):\s*(.+)$", re.DOTALL)
# "Other - Write In:How do you run it?", "Other word(s)::Select all the words...": a write-in
_WRITE_IN = re.compile(r"^([^:]*(?:other|write|anders|overig)[^:]*):{1,2}\s*(.+)$", re.DOTALL | re.IGNORECASE)


def question_parts(header: list[str]) -> dict[int, tuple[str, str]]:
    """The columns of a SurveyGizmo header that hold a part of a question: position -> (question, part).

    Numbered slots (at least two of one question) are parts ``"1"``, ``"2"``...;
    a write-in beside its question's own column is part ``"other"``.

    Examples
    --------
    >>> question_parts(["How do you run it?", "Other - Write In:How do you run it?", "Tool #1:Which tools?",
    ...                 "Tool #2:Which tools?", "Python:Which languages?", "Session #1:Rate it"])
    {1: ('How do you run it?', 'other'), 2: ('Which tools?', '1'), 3: ('Which tools?', '2')}
    """
    plain = {h.strip() for h in header}
    slots = {k: _SLOT.match(h.strip()) for k, h in enumerate(header)}
    slots = {k: (m[2].strip(), str(int(m[1]))) for k, m in slots.items() if m}
    asked = Counter(question for question, _ in slots.values())
    found = {k: slot for k, slot in slots.items() if asked[slot[0]] >= 2}  # one "#1:" alone is a header
    for k, h in enumerate(header):
        write_in = _WRITE_IN.match(h.strip())
        if k not in slots and write_in and write_in[2].strip() in plain:  # only beside its own question
            found[k] = (write_in[2].strip(), "other")
    return dict(sorted(found.items()))


def _read_surveygizmo(path: Path, name: str, fmt: str) -> RawExport:
    records, encoding, mojibake = _read_records(path)
    header = _header_rows(records, 1)[0]
    raw = _assemble(path, name, fmt, records, header, encoding=encoding, mojibake=mojibake)
    answers = raw.answer_columns  # in header order (less trailing blank headers)
    raw.parts = {answers[k]: part for k, part in question_parts(header).items() if k < len(answers)}
    if "Status" in raw.frame:
        status = raw.frame["Status"].str.strip().str.casefold()
        raw.frame[COMPLETE] = (status == "complete").to_numpy()
        raw.frame[PREVIEW] = status.isin({"test", "deleted"}).to_numpy()
    return raw


_UNNAMED = re.compile(r"^(Column\d+|Unnamed: \d+(_level_\d+)?)?$")
_SUB_GENERIC = {"response", "open-ended response", ""}


def _read_surveymonkey(path: Path, name: str, fmt: str) -> RawExport:
    """Two header rows: the question (once, over all its columns) and the sub-option.

    Re-saved exports may have lost the second row, their blank headers renamed
    ``Column12`` or ``Unnamed: 12``; such a column continues the question
    before it and its question text gets the column's position in that block.
    """
    records, encoding, mojibake = _read_records(path)
    top, sub = (_header_rows(records, 2) + [[], []])[:2]
    two_rows = any(c.strip().casefold() in {"response", "open-ended response"} for c in sub)
    questions, header, current, position = [], [], "", 0
    for k, head in enumerate(top):
        head = head.strip()
        if not _UNNAMED.match(head):
            current, position = head, 1
        else:
            position += 1
        option = sub[k].strip() if two_rows and k < len(sub) else ""
        if option.casefold() not in _SUB_GENERIC:
            text = f"{current} - {option}"
        else:
            text = current if position == 1 else f"{current} [{position}]"
        questions.append(text)
        header.append(head if not _UNNAMED.match(head) else text)
    return _assemble(path, name, fmt, records, header, questions, encoding, header_rows=2 if two_rows else 1,
                     mojibake=mojibake)


def _read_limesurvey(path: Path, name: str, fmt: str) -> RawExport:
    raw = _read_simple(path, name, fmt)
    if "submitdate" in raw.frame:
        raw.frame[COMPLETE] = (raw.frame["submitdate"].str.strip() != "").to_numpy()
    return raw


def _cell_text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_excel(path: Path, name: str, fmt: str) -> RawExport:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise InputError(path, f"a readable .xlsx workbook ({type(exc).__name__})") from None
    sheet = wb.worksheets[0]
    sheet.reset_dimensions()  # some writers (R's writexl) store a wrong sheet size
    rows = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    wb.close()
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows:
        raise InputError(path, "a header row, found an empty sheet")
    width = max(len(r) for r in rows)
    records = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype="str")
    return _assemble(path, name, fmt, records, records.iloc[0].tolist())


READERS: dict[str, Callable[[Path, str, str], RawExport]] = {
    "google_forms": _read_simple, "qualtrics": _read_qualtrics, "microsoft_forms": _read_excel,
    "typeform": _read_simple, "indico": _read_indico, "surveygizmo": _read_surveygizmo,
    "surveymonkey": _read_surveymonkey, "limesurvey": _read_limesurvey, "csv": _read_simple, "xlsx": _read_excel,
}


def detect_format(path) -> str:
    """Guess the export format from the file's extension and first records.

    Examples
    --------
    >>> from analysis.paths import SAMPLE_DIR
    >>> [detect_format(p) for p in sorted((SAMPLE_DIR / "raw").iterdir())]
    ['microsoft_forms', 'qualtrics', 'google_forms']
    """
    return detect(path)[0]


#: SurveyMonkey re-saved without its second header row: blank headers become ``Column12``.
_COLUMN_N = re.compile(r"^Column\d+$")


def detect(path) -> tuple[str, str]:
    """The export format guessed from the file, and why (the headers or rows that told).

    Examples
    --------
    >>> from analysis.paths import SAMPLE_DIR
    >>> detect(SAMPLE_DIR / "raw" / "pre_google_forms.csv")
    ('google_forms', "first header is 'Timestamp'")
    """
    path = Path(path)
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True)
            header = [_cell_text(v) for v in next(wb.worksheets[0].iter_rows(values_only=True), ())]
            wb.close()
        except Exception:
            return "xlsx", "an Excel workbook whose first row could not be read"
        if {"ID", "Start time", "Completion time"} <= set(header):
            return "microsoft_forms", "workbook headers 'ID', 'Start time', 'Completion time'"
        return "xlsx", "an Excel workbook without Microsoft Forms' 'ID', 'Start time', 'Completion time'"
    records = _first_records(path, _encodings(path)[0])
    if not records:
        return "csv", "no records to tell from"
    header = {h.strip() for h in records[0]}

    def having(*names):
        return "headers " + ", ".join(repr(n) for n in names if n in header)

    if "ResponseId" in header and len(records) >= 3 and records[2] and records[2][0].lstrip().startswith("{"):
        return "qualtrics", "header 'ResponseId' and a third header row of ImportIds ({...})"
    if records[0] and records[0][0].strip() == "Timestamp":
        return "google_forms", "first header is 'Timestamp'"
    if {"Submit Date (UTC)", "Start Date (UTC)"} & header:
        return "typeform", having("Start Date (UTC)", "Submit Date (UTC)")
    if {"Submitter", "Submission Date"} <= header:
        return "indico", having("Submitter", "Submission Date")
    if {"Time Started", "Date Submitted", "Status"} <= header:
        return "surveygizmo", having("Time Started", "Date Submitted", "Status")
    if {"Respondent ID", "Collector ID"} <= header:
        return "surveymonkey", having("Respondent ID", "Collector ID")
    numbered = [h for h in records[0] if _COLUMN_N.match(h.strip())]
    if len(numbered) >= 2 and records[0] and not _COLUMN_N.match(records[0][0].strip()):
        return "surveymonkey", (f"{len(numbered)} headers named like {numbered[0].strip()!r}: SurveyMonkey's "
                                "blank headers of a question's further options, second header row removed")
    if {"submitdate", "lastpage"} <= header:
        return "limesurvey", having("submitdate", "lastpage")
    return "csv", "no survey tool's own headers found: read as plain CSV with one header row"


#: What a file's first bytes say it is (when that is not a text export).
_MAGIC = ((b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook is one)"),
          (b"\xd0\xcf\x11\xe0", "an old Excel .xls (or other Office) file"), (b"%PDF", "a PDF document"),
          (b"\x1f\x8b", "a gzip-compressed file"), (b"BZh", "a bzip2-compressed file"),
          (b"\xfd7zXZ", "an xz-compressed file"), (b"\x28\xb5\x2f\xfd", "a zstd-compressed file"),
          (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"))


def _check_bytes(path: Path) -> None:
    """One-line error when a file's bytes say it is not what its name says (an .xlsx renamed .csv)."""
    with open(path, "rb") as f:
        head = f.read(8)
    excel = path.suffix.lower() in {".xlsx", ".xlsm"}
    found = next((what for magic, what in _MAGIC if head.startswith(magic)), None)
    if excel and found is None and head:
        raise InputError(path, "an Excel workbook as its name says, found a file that is not one (a CSV renamed "
                         ".xlsx? give it the name it has: .csv)")
    if found and not (excel and head.startswith(b"PK")):
        hint = ("rename it .xlsx" if head.startswith(b"PK") else
                "save it as .xlsx or CSV" if head.startswith(b"\xd0\xcf") else "give the export itself")
        raise InputError(path, f"a text export as its name says, found {found}: {hint}")


_COMPRESSED = (".gz", ".bz2", ".zip", ".xz", ".zst", ".tar")  # names of compressed files (not read)


def read_export(path, fmt: str | None = None, name: str | None = None) -> RawExport:
    """Read one export with the reader for ``fmt`` (detected when ``None``).

    Parameters
    ----------
    path : path-like
        The export; never written to.
    fmt : str, optional
        One of :data:`FORMATS`.
    name : str, optional
        Name recorded in ``_source`` (default: the file name).

    Examples
    --------
    >>> from analysis.paths import SAMPLE_DIR
    >>> raw = read_export(SAMPLE_DIR / "raw" / "post_qualtrics.csv")
    >>> raw.format, raw.questions["Q4"], int(raw.frame[ROW].iloc[0]), int(raw.frame[PREVIEW].sum())
    ('qualtrics', 'Hoe tevreden bent u over deze workshop?', 4, 2)
    """
    refuse_in_reports("reading a raw export")
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "an existing export file")
    if path.name.lower().endswith(_COMPRESSED):  # its bytes are not the export's: unpacked, it is read
        raise InputError(path, "an export as the survey tool wrote it, found a compressed file: unpack it first")
    _check_bytes(path)
    fmt = fmt or detect_format(path)
    if fmt not in READERS:
        raise InputError(path, f"a format among {', '.join(FORMATS)}, got {fmt!r}", column="format")
    return READERS[fmt](path, name or path.name, fmt)
