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

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.codebook import Study, load_study
from analysis.protect import free_text_columns, pii_values
from analysis.scrub import known_names, name_pattern, personal_spans, split_names

_WHITESPACE = re.compile(r"\s+")

_FORMULA_START = ("=", "+", "-", "@")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix ``'`` to text cells a spreadsheet would run as a formula.

    Column by column (vectorised string tests); columns without such a cell are
    not copied.

    Examples
    --------
    >>> neutralise_formulas(pd.DataFrame({"t": ["=1+1", "ok", None]}))["t"].tolist()
    ["'=1+1", 'ok', nan]
    """
    out = frame.copy(deep=False)
    for i, col in enumerate(frame.columns):
        values = frame.iloc[:, i]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
            continue
        if values.dtype == object:  # cells that are not text are never changed
            where = np.flatnonzero((values.map(type) == str).to_numpy())
            text = values.iloc[where].astype("str")
        else:
            where, text = None, values
        starts = text.str.startswith(_FORMULA_START).fillna(False).to_numpy(dtype=bool)
        if starts.any():
            risky = starts if where is None else np.isin(np.arange(len(values)), where[starts])
            fixed = values.copy()
            fixed.iloc[risky] = "'" + values.iloc[risky].astype("str")
            out.isetitem(i, fixed)
    return out


def write_csv(frame: pd.DataFrame, path) -> None:
    """Write ``frame`` as CSV with pyarrow's writer, formulas neutralised.

    Many times faster than :meth:`pandas.DataFrame.to_csv` on large tables;
    text is quoted, so values with commas, quotes or line breaks read back
    intact with :func:`pandas.read_csv`. Date-times without a fraction of a
    second are written as ``YYYY-MM-DD HH:MM:SS``. A frame pyarrow cannot
    convert (mixed types in one column) is written by pandas.

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

    frame = neutralise_formulas(frame)
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        frame.to_csv(path, index=False)
        return
    for i, column in enumerate(table.columns):
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pa.types.is_timestamp(column.type) and column.type.tz is None:
            if pc.all(pc.equal(pc.floor_temporal(column, unit="second"), column)).as_py() is not False:
                column = column.cast(pa.timestamp("s"))
        table = table.set_column(i, table.field(i).name, column)
    pa_csv.write_csv(table, path)


@dataclass(frozen=True)
class Leak:
    """Personal values of one kind found in one output file (never the values)."""

    file: str
    kind: str
    count: int

    def __str__(self) -> str:
        return f"{self.file}: {self.count} value(s) of kind {self.kind!r}"


class PrivacyLeak(Exception):
    """Public outputs contain personal values from the raw inputs."""

    def __init__(self, leaks: list[Leak]):
        self.leaks = leaks
        super().__init__("; ".join(map(str, leaks)))


#: Files the gate reads; anything under a folder named ``private`` is skipped.
SCANNED_SUFFIXES = (".csv", ".tsv", ".json", ".html", ".htm", ".ipynb", ".txt", ".md", ".yaml", ".yml",
                    ".parquet", ".xlsx")
_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+")


def personal_values(study: Study, raws: list | None = None) -> dict[str, set[str]]:
    """Every personal value seen in a study's raw inputs, per kind.

    Kinds: each identifier or PII variable of the codebook (its column values),
    and ``free text <kind>`` for details found in free-text answers (emails,
    URLs, handles, phones, known names).
    """
    if raws is None:
        from analysis.io import read_export

        raws = [read_export(s.path, s.format, s.name) for s in study.sources]
    values = pii_values(study, raws)
    if study.roster:
        values["roster name"] = set(study.roster)
    names = name_pattern(known_names(v for vs in values.values() for v in sorted(vs)))
    for raw, _, _, col in free_text_columns(study, raws):
        for text in set(raw.frame[col]):
            for start, end, kind in personal_spans(text, names):
                values.setdefault(f"free text {kind}", set()).add(text[start:end])
    return values


def _needles(values: dict[str, set[str]]) -> dict[str, set[str]]:
    """Values worth searching for: long enough and specific enough not to match ordinary text.

    A single word is not a usable needle for a name (``Test``, ``Jan``); full
    names, addresses, handles, numbers are.
    """
    needles: dict[str, set[str]] = {}
    for kind, vals in values.items():
        for value in vals:
            # a cell may list several names; details found in free text are one value each
            listed = "@" not in value and not kind.startswith("free text")
            pieces = [value] + (split_names(value) if listed else [])
            for v in {_WHITESPACE.sub(" ", p).strip().casefold() for p in pieces}:
                if len(v) < 5 or ("name" in kind and " " not in v):
                    continue
                needles.setdefault(kind, set()).add(v)
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
        distinct = pc.unique(column)
        try:
            rendered = distinct.cast(pa.large_string()).to_pylist()
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # nested values: as Python shows them
            rendered = [None if v is None else str(v) for v in distinct.to_pylist()]
        parts.extend(v for v in rendered if v is not None)
    return "\n".join(parts)


def _workbook_text(path: Path) -> str:
    """A workbook's sheet names and cell values, one cell a line (so a match never joins two cells)."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        parts = []
        for ws in wb.worksheets:
            parts.append(ws.title)
            parts.extend(str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None)
        return "\n".join(parts)
    finally:
        wb.close()


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
        text = path.read_text(encoding="utf-8", errors="replace")
    if "data:" in text:
        text = _DATA_URI.sub(" ", text)
    text = html.unescape(text)
    return text.lower() if text.isascii() else text.casefold()  # the same for ASCII, and much faster


_WORD = re.compile(r"\w+")


def _is_word(ch: str) -> bool:
    """``re``'s ``\\w`` for one character (checked over every code point)."""
    return ch.isalnum() or ch == "_"


def _anchor(needle: str) -> tuple[str, int] | None:
    """The needle's longest word run and its offset (the first if several); None without a word run."""
    best = None
    for m in _WORD.finditer(needle):
        if best is None or len(m.group()) > len(best[0]):
            best = (m.group(), m.start())
    return best


def _word_runs(text: str) -> set[str]:
    """The distinct ``\\w+`` runs of ``text``: split at whitespace in C, then split each distinct piece."""
    return set(_WORD.findall(" ".join(set(text.split()))))  # whitespace never lies inside a word


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
        self.kinds = [kind for kind, vals in needles.items() if vals]
        self.kinds_of: dict[str, list[str]] = {}
        self.by_anchor: dict[str, list[str]] = {}
        self._odd: set[str] = set()
        squeezed: dict[str, set[str]] = {}
        for kind in self.kinds:
            for v in needles[kind]:
                if v not in self.kinds_of:
                    self.kinds_of[v] = []
                    anchor = _anchor(v)
                    if anchor is None:
                        self._odd.add(v)
                    else:
                        self.by_anchor.setdefault(anchor[0], []).append(v)
                self.kinds_of[v].append(kind)
                if sum(ch.isdigit() for ch in v) >= 7:
                    squeezed.setdefault(v.replace(" ", ""), set()).add(kind)
        self.squeezed = squeezed
        self._automaton = None

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
        candidates = sorted(self._odd)
        if self.by_anchor:
            words = _word_runs(text)
            for anchor in words & self.by_anchor.keys():
                candidates += [v for v in self.by_anchor[anchor] if all(w in words for w in _WORD.findall(v))]
        per_kind: dict[str, list[tuple[int, int, str]]] = {}
        for occurrence in self._occurrences(text, candidates) if candidates else ():
            for kind in self.kinds_of[occurrence[2]]:
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


def scan_outputs(folders, values: dict[str, set[str]], scanner: Scanner | None = None) -> tuple[list[Leak], int]:
    """Search every public output file under ``folders`` for personal values.

    Case-insensitive, after undoing HTML escaping; phone-like values are also
    sought with whitespace removed. Returns the leaks and the number of files
    read. ``scanner`` (built from ``values`` when not given) does the search;
    its cost grows with the size of the files, not with the number of values.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "report.html").write_text("<p>mail JAN.JANSEN@example.nl</p>")
    >>> _ = (d / "private").mkdir(); _ = (d / "private" / "q.csv").write_text("jan.jansen@example.nl")
    >>> leaks, n = scan_outputs([d], {"email": {"jan.jansen@example.nl"}})
    >>> [str(leak) for leak in leaks], n
    (["report.html: 1 value(s) of kind 'email'"], 1)
    """
    if scanner is None:
        scanner = Scanner(_needles(values))
    leaks, read = [], 0
    for folder in map(Path, folders):
        files = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*") if p.is_file())
        for path in files:
            rel = path.relative_to(folder) if path != folder else Path(path.name)
            if "private" in rel.parts or path.suffix.lower() not in SCANNED_SUFFIXES:
                continue
            text = _readable_text(path)
            read += 1
            for kind, hits in scanner.hits(text).items():
                leaks.append(Leak(rel.as_posix(), kind, len(hits)))
    return leaks, read


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
    return scan_outputs(folders, personal_values(study))


class Gate:
    """The leak gate of one study: what it looks for, and the check itself.

    Built once from the raw exports (:meth:`from_raws`), kept under
    ``private/`` for later stages (:meth:`save`, :meth:`load`), and asked to
    check files (:meth:`check`).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "a.html").write_text("<p>JAN.JANSEN@example.nl</p>")
    >>> [str(leak) for leak in Gate({"email": {"jan.jansen@example.nl"}}).check([d / "a.html"])]
    ["a.html: 1 value(s) of kind 'email'"]
    """

    FILE = "gate.json"

    def __init__(self, values: dict[str, set[str]]):
        self.values = values
        self._scanner = None

    @classmethod
    def from_raws(cls, study: Study, raws: list) -> Gate:
        return cls(personal_values(study, raws))

    def save(self, private: Path) -> Path:
        """Keep what the gate looks for (raw values: under ``private/`` only)."""
        path = Path(private) / self.FILE
        path.write_text(json.dumps({kind: sorted(vals) for kind, vals in sorted(self.values.items())},
                                   ensure_ascii=False), encoding="utf-8")
        return path

    @classmethod
    def load(cls, private: Path) -> Gate:
        path = Path(private) / cls.FILE
        return cls({kind: set(vals) for kind, vals in json.loads(path.read_text(encoding="utf-8")).items()})

    def check(self, paths) -> list[Leak]:
        """Leaks in files or folders (``private/`` skipped); empty when nothing leaked."""
        if self._scanner is None:  # built once: later checks of this gate reuse it
            self._scanner = Scanner(_needles(self.values))
        return scan_outputs(paths, self.values, self._scanner)[0]


# --- one publish step ------------------------------------------------------------------

def _write(path: Path, content) -> None:
    """Write one output by its kind: a frame by the file's suffix, a dict as JSON, text, bytes, or a writer."""
    if callable(content):
        content(path)
    elif isinstance(content, pd.DataFrame):
        if path.suffix == ".parquet":
            content.to_parquet(path, index=False)
        elif path.suffix == ".csv":
            neutralise_formulas(content).to_csv(path, index=False)  # small tables; large ones: write_csv
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
    analysis.publish.PrivacyLeak: b.txt: 1 value(s) of kind 'email'
    >>> sorted(p.name for p in out.iterdir())
    ['a.txt']
    """
    import shutil
    import tempfile

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if private:
        folder = private_folder(out)
        for name, content in private.items():
            _write(folder / name, content)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))  # same file system: moves are renames
    try:
        staged = {}
        for name, content in files.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            _write(path, content)
            staged[name] = path
        leaks = gate.check([staging])
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


def private_folder(out) -> Path:
    """``out/private``, created readable by its owner only, with a README that says what it is."""
    folder = Path(out) / "private"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    readme = folder / "README.txt"
    if not readme.exists():
        readme.write_text("Raw values of a study (personal data): rows set aside while cleaning, and what the\n"
                          "leak gate looks for. Never share this folder; reports never read it.\n", encoding="utf-8")
    return folder


def write_processed(processed, out_dir) -> Path:
    """Publish a processed study: ``responses.parquet``/``.csv``, ``changes.csv``, ``summary.json``;
    the quarantine under ``private/``."""
    gate = Gate.from_raws(processed.study, processed.raws)
    publish(out_dir, {"responses.parquet": processed.data,
                      "responses.csv": lambda p: write_csv(processed.data, p),
                      "changes.csv": lambda p: write_csv(processed.changes, p), "summary.json": processed.summary}, gate,
            private={"quarantine.csv": lambda p: processed.quarantine.to_csv(p, index=False)})
    return Path(out_dir)
