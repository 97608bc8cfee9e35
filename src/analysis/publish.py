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

import pandas as pd

from analysis.codebook import Study, load_study
from analysis.protect import free_text_columns, pii_values
from analysis.scrub import known_names, name_pattern, personal_spans, split_names

_WHITESPACE = re.compile(r"\s+")

_FORMULA_START = ("=", "+", "-", "@")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix ``'`` to text cells a spreadsheet would run as a formula.

    Examples
    --------
    >>> neutralise_formulas(pd.DataFrame({"t": ["=1+1", "ok", None]}))["t"].tolist()
    ["'=1+1", 'ok', nan]
    """
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            out[col] = out[col].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v)
    return out


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
                    ".parquet")
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


def _readable_text(path: Path) -> str:
    if path.suffix == ".parquet":
        text = pd.read_parquet(path).to_csv(index=False)
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
    return html.unescape(_DATA_URI.sub(" ", text)).casefold()


def scan_outputs(folders, values: dict[str, set[str]]) -> tuple[list[Leak], int]:
    """Search every public output file under ``folders`` for personal values.

    Case-insensitive, after undoing HTML escaping; phone-like values are also
    sought with whitespace removed. Returns the leaks and the number of files read.

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
    needles = _needles(values)
    patterns = {kind: re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, sorted(vals, key=len, reverse=True)))
                                 + r")(?!\w)") for kind, vals in needles.items() if vals}
    squeezed = {kind: {v.replace(" ", "") for v in vals if sum(ch.isdigit() for ch in v) >= 7}
                for kind, vals in needles.items()}
    leaks, read = [], 0
    for folder in map(Path, folders):
        files = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*") if p.is_file())
        for path in files:
            rel = path.relative_to(folder) if path != folder else Path(path.name)
            if "private" in rel.parts or path.suffix.lower() not in SCANNED_SUFFIXES:
                continue
            text = _readable_text(path)
            read += 1
            compact = _WHITESPACE.sub("", text)
            for kind, pattern in patterns.items():
                hits = {m.group(0) for m in pattern.finditer(text)}
                hits |= {v for v in squeezed.get(kind, ()) if v in compact}
                if hits:
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
        return scan_outputs(paths, self.values)[0]


# --- one publish step ------------------------------------------------------------------

def _write(path: Path, content) -> None:
    """Write one output by its kind: a frame by the file's suffix, a dict as JSON, text, bytes, or a writer."""
    if callable(content):
        content(path)
    elif isinstance(content, pd.DataFrame):
        if path.suffix == ".parquet":
            content.to_parquet(path, index=False)
        elif path.suffix == ".csv":
            neutralise_formulas(content).to_csv(path, index=False)
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
    publish(out_dir, {"responses.parquet": processed.data, "responses.csv": processed.data,
                      "changes.csv": processed.changes, "summary.json": processed.summary}, gate,
            private={"quarantine.csv": lambda p: processed.quarantine.to_csv(p, index=False)})
    return Path(out_dir)
