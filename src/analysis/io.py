"""Read stage: any supported survey export into a raw frame with provenance.

Raw files are only ever opened for reading. A reader returns every record of
the file as a row of strings (a blank answer is ``""``, never NaN), with the
original headers, the question text behind each header, and four columns the
later stages rely on:

``_source``
    the file name as the study file gives it;
``_row``
    the record's row number as a spreadsheet shows it (first header row = 1),
    so a user can find it; answers with line breaks still count as one row;
``_preview``
    the survey tool itself marks the record as a preview or test;
``_complete``
    the tool marks the submission as finished (True when it has no such mark).

Supported formats (auto-detected, or named in the study file): ``google_forms``,
``qualtrics`` (three header rows), ``microsoft_forms`` (XLSX), and plain ``csv``
and ``xlsx``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io as _io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.errors import InputError

SOURCE, ROW, PREVIEW, COMPLETE = "_source", "_row", "_preview", "_complete"
PROVENANCE = (SOURCE, ROW, PREVIEW, COMPLETE)
FORMATS = ("google_forms", "qualtrics", "microsoft_forms", "csv", "xlsx")
#: How each tool writes its timestamps (``None``: let pandas infer ISO-like text).
TIMESTAMP_FORMATS = {"google_forms": "%m/%d/%Y %H:%M:%S", "qualtrics": "%Y-%m-%d %H:%M:%S",
                     "microsoft_forms": "%Y-%m-%d %H:%M:%S", "csv": None, "xlsx": None}
_ENCODINGS = ("utf-8-sig", "cp1252")


@dataclass
class RawExport:
    """One export as read, before any interpretation.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per record; answer columns under their original (de-duplicated)
        headers, all strings, plus the provenance columns.
    questions : dict
        Column -> question text (the header itself unless the tool writes
        question text in a row of its own, as Qualtrics does).
    """

    path: Path
    name: str
    format: str
    frame: pd.DataFrame
    questions: dict = field(default_factory=dict)

    @property
    def answer_columns(self) -> list[str]:
        return [c for c in self.frame.columns if c not in PROVENANCE]


def _decode(path: Path) -> str:
    data = path.read_bytes()
    for encoding in _ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(path, "text in UTF-8 or Windows-1252")  # pragma: no cover - cp1252 rarely fails


def _records(path: Path) -> list[list[str]]:
    """All CSV records of a text file, delimiter sniffed among , ; and tab."""
    text = _decode(path)
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    try:
        return list(csv.reader(_io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise InputError(path, f"well-formed CSV ({exc})") from None


def _unique(headers: list[str]) -> list[str]:
    """Make repeated headers unique the way pandas does (``Other``, ``Other.1``...)."""
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


def _frame(path: Path, name: str, header: list[str], rows: list[list[str]], first_row: int) -> pd.DataFrame:
    width = len(header)
    for k, r in enumerate(rows):
        if len(r) > width and any(c.strip() for c in r[width:]):
            raise InputError(path, f"at most {width} fields as in the header, found {len(r)}",
                             row=first_row + k)
    body = [(r + [""] * width)[:width] for r in rows]
    frame = pd.DataFrame(body, columns=_unique(header), dtype="str")
    frame[SOURCE] = name
    frame[ROW] = range(first_row, first_row + len(rows))
    frame[PREVIEW] = False
    frame[COMPLETE] = True
    return frame


def _drop_trailing_blank(rows: list[list[str]]) -> list[list[str]]:
    # A final newline yields one empty record; it is not a row of the file.
    while rows and rows[-1] == []:
        rows = rows[:-1]
    return rows


def read_google_forms(path, name: str | None = None) -> RawExport:
    """Read a Google Forms CSV (``Timestamp`` first, one header row).

    Examples
    --------
    >>> from analysis.paths import SAMPLE_DIR
    >>> raw = read_google_forms(SAMPLE_DIR / "raw" / "pre_google_forms.csv")
    >>> raw.frame.columns[0], int(raw.frame[ROW].iloc[0])
    ('Timestamp', 2)
    """
    return _read_plain_csv(path, name, "google_forms")


def _read_plain_csv(path, name, fmt) -> RawExport:
    path = Path(path)
    records = _drop_trailing_blank(_records(path))
    if not records:
        raise InputError(path, "a header row, found an empty file")
    header = [h.strip() for h in records[0]]
    frame = _frame(path, name or path.name, header, [r for r in records[1:]], first_row=2)
    return RawExport(path, name or path.name, fmt, frame, dict(zip(frame.columns, header)))


def read_csv_export(path, name: str | None = None) -> RawExport:
    """Read a plain CSV with one header row (delimiter , ; or tab)."""
    return _read_plain_csv(path, name, "csv")


def read_qualtrics(path, name: str | None = None) -> RawExport:
    """Read a Qualtrics CSV: column ids, question text and ImportId rows, then data.

    ``Status`` (choice text "Survey Preview"/"Spam", or numeric 1/8) marks
    previews; ``Finished`` marks complete submissions.

    Examples
    --------
    >>> from analysis.paths import SAMPLE_DIR
    >>> raw = read_qualtrics(SAMPLE_DIR / "raw" / "post_qualtrics.csv")
    >>> raw.questions["Q4"], int(raw.frame[ROW].iloc[0])
    ('Hoe tevreden bent u over deze workshop?', 4)
    >>> int(raw.frame[PREVIEW].sum())
    2
    """
    path = Path(path)
    records = _drop_trailing_blank(_records(path))
    if len(records) < 3 or not records[2] or not records[2][0].lstrip().startswith("{"):
        raise InputError(path, "a Qualtrics export: three header rows, the third with ImportId JSON",
                         row=3)
    ids = [h.strip() for h in records[0]]
    frame = _frame(path, name or path.name, ids, records[3:], first_row=4)
    status = frame.get("Status", pd.Series("", index=frame.index)).str.strip().str.casefold()
    frame[PREVIEW] = status.isin({"survey preview", "spam", "survey test", "1", "8"}).to_numpy()
    if "Finished" in frame:
        frame[COMPLETE] = frame["Finished"].str.strip().str.casefold().isin({"true", "1"}).to_numpy()
    texts = (records[1] + [""] * len(ids))[: len(ids)]
    return RawExport(path, name or path.name, "qualtrics", frame,
                     {col: (t.strip() or col) for col, t in zip(frame.columns, texts)})


def _cell_text(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_xlsx_export(path, name: str | None = None, fmt: str = "xlsx") -> RawExport:
    """Read the first sheet of an Excel workbook; dates become ISO text.

    Examples
    --------
    >>> from analysis.paths import SAMPLE_DIR
    >>> raw = read_xlsx_export(SAMPLE_DIR / "raw" / "followup_microsoft_forms.xlsx")
    >>> raw.frame["Start time"].iloc[0][:4], int(raw.frame[ROW].iloc[0])
    ('2026', 2)
    """
    from openpyxl import load_workbook

    path = Path(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise InputError(path, f"a readable .xlsx workbook ({type(exc).__name__})") from None
    rows = [[_cell_text(v) for v in row] for row in wb.worksheets[0].iter_rows(values_only=True)]
    wb.close()
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows:
        raise InputError(path, "a header row, found an empty sheet")
    header = [h.strip() for h in rows[0]]
    while header and not header[-1]:
        header.pop()
    frame = _frame(path, name or path.name, header, rows[1:], first_row=2)
    return RawExport(path, name or path.name, fmt, frame, dict(zip(frame.columns, header)))


def read_microsoft_forms(path, name: str | None = None) -> RawExport:
    """Read a Microsoft Forms XLSX (``ID``, ``Start time``, ``Completion time``...)."""
    return read_xlsx_export(path, name, "microsoft_forms")


READERS = {"google_forms": read_google_forms, "qualtrics": read_qualtrics,
           "microsoft_forms": read_microsoft_forms, "csv": read_csv_export, "xlsx": read_xlsx_export}


def detect_format(path) -> str:
    """Guess the export format from the file's extension and first rows.

    Examples
    --------
    >>> from analysis.paths import SAMPLE_DIR
    >>> [detect_format(p) for p in sorted((SAMPLE_DIR / "raw").iterdir())]
    ['microsoft_forms', 'qualtrics', 'google_forms']
    """
    path = Path(path)
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        raw = read_xlsx_export(path)
        return "microsoft_forms" if {"ID", "Start time", "Completion time"} <= set(raw.frame.columns) else "xlsx"
    records = _records(path)[:3]
    if len(records) == 3 and "ResponseId" in records[0] and records[2] and records[2][0].lstrip().startswith("{"):
        return "qualtrics"
    if records and records[0] and records[0][0].strip() == "Timestamp":
        return "google_forms"
    return "csv"


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
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "an existing export file")
    fmt = fmt or detect_format(path)
    if fmt not in READERS:
        raise InputError(path, f"a format among {', '.join(FORMATS)}, got {fmt!r}", column="format")
    return READERS[fmt](path, name)
