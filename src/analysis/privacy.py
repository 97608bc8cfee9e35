"""Privacy stage: keyed pseudonyms, free-text scrubbing, PII columns dropped.

Identifiers become HMAC-SHA256 pseudonyms computed after normalising the key
(case, Unicode form and whitespace), so one person gets one pseudonym in every
wave. Free text loses emails, URLs, handles, phone numbers and known names,
each replaced by a typed placeholder.

The key lives outside the repository: ``$ANALYSIS_PSEUDONYM_KEY``, else a file
``pseudonym.key`` in :func:`analysis.paths.user_config_dir`, created on first
use. The committed sample study uses :data:`DEMO_KEY`, which is public and so
protects nothing; it exists so that the sample's ``truth.json`` can be keyed by
the same pseudonyms the pipeline produces.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import os
import re
import secrets
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import phonenumbers

from analysis.clean import CleanResult, clean_study, normalise_key
from analysis.codebook import Study, load_study
from analysis.paths import user_config_dir

#: Public key of the committed sample study. Never use it for real data.
DEMO_KEY = "workshop-analysis-demo-key (public, sample data only)"
PSEUDONYM_PREFIX = "P"
PSEUDONYM_HEX_CHARS = 12

_WHITESPACE = re.compile(r"\s+")


def pseudonym(value: str, key: str) -> str:
    """Keyed pseudonym of one identifier (HMAC-SHA256 of the normalised value).

    Examples
    --------
    >>> a = pseudonym("Jan.Jansen@example.nl", DEMO_KEY)
    >>> a == pseudonym(" jan.jansen@EXAMPLE.nl", DEMO_KEY)
    True
    >>> a == pseudonym("jan.jansen@example.nl", "another key")
    False
    >>> len(a)
    13
    """
    digest = hmac.new(key.encode("utf-8"), normalise_key(value).encode("utf-8"),
                      hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX_CHARS]


def resolve_key(setting: str | None) -> str:
    """Return the pseudonym key a study asks for.

    Parameters
    ----------
    setting : str or None
        ``"demo"`` selects :data:`DEMO_KEY` (sample data only). Anything else
        (or ``None``) reads ``$ANALYSIS_PSEUDONYM_KEY`` or the user's key file,
        creating the file with a fresh random key on first use.

    Examples
    --------
    >>> resolve_key("demo") == DEMO_KEY
    True
    """
    if setting == "demo":
        return DEMO_KEY
    if os.environ.get("ANALYSIS_PSEUDONYM_KEY"):
        return os.environ["ANALYSIS_PSEUDONYM_KEY"]
    path = user_config_dir() / "pseudonym.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
        path.chmod(0o600)
        print(f"Created a new pseudonym key at {path}. Keep it safe and out of the "
              "repository: with another key every pseudonym changes.", file=sys.stderr)
    return path.read_text(encoding="utf-8").strip()


# --- free-text scrubbing -----------------------------------------------------

_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
# Mastodon @user@server (before emails, which it contains), then @user.
_FEDIVERSE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_]{1,30}@[\w-]+(?:\.[\w-]+)+")
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{2,30}")
PLACEHOLDERS = {"email": "[EMAIL]", "url": "[URL]", "handle": "[HANDLE]",
                "phone": "[PHONE]", "name": "[NAME]"}


#: Name particles that are ordinary words on their own ("van" = "of").
NAME_PARTICLES = frozenset({"van", "von", "den", "der", "ter", "ten", "het", "del", "della", "des", "les",
                            "los", "las", "bin", "ben", "abu", "dos", "das", "mac"})


def name_pattern(names: Iterable[str]) -> re.Pattern | None:
    """Compile known names into one case-insensitive whole-word pattern.

    Full names come first so "Jan Jansen" is replaced whole; a single name
    part is matched on its own too, unless it is shorter than three letters or
    a particle such as "van" or "der", which would hit ordinary words.

    Examples
    --------
    >>> name_pattern(["Jan van der Berg"]).sub("[NAME]", "thanks jan van der berg, JAN and Berg van Dam")
    'thanks [NAME], [NAME] and [NAME] van Dam'
    """
    parts: set[str] = set()
    for name in names:
        name = _WHITESPACE.sub(" ", str(name)).strip()
        if len(name) >= 3:
            parts.add(name)
        parts.update(p for p in name.split(" ") if len(p) >= 3 and p.casefold() not in NAME_PARTICLES)
    if not parts:
        return None
    alternatives = sorted(parts, key=len, reverse=True)
    body = "|".join(r"\s+".join(map(re.escape, p.split(" "))) for p in alternatives)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


def personal_spans(text: str, names: re.Pattern | None = None,
                   region: str = "NL") -> list[tuple[int, int, str]]:
    """Locate personal details in free text: ``(start, end, kind)``, in order.

    Kinds are tried in a fixed priority (fediverse handle, email, URL, handle,
    phone, name); a later kind never claims text an earlier one matched.
    Phones are found by the ``phonenumbers`` library (Dutch numbers without a
    country code are read with ``region``).

    Examples
    --------
    >>> personal_spans("mail a@b.nl of bel 06 1234 5678")
    [(5, 11, 'email'), (19, 31, 'phone')]
    """
    spans: list[tuple[int, int, str]] = []

    def claim(start: int, end: int, kind: str) -> None:
        if all(end <= s or start >= e for s, e, _ in spans):
            spans.append((start, end, kind))

    for pattern, kind in ((_FEDIVERSE, "handle"), (_EMAIL, "email"), (_URL, "url"), (_HANDLE, "handle")):
        for m in pattern.finditer(text):
            claim(m.start(), m.end(), kind)
    for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
        claim(m.start, m.end, "phone")
    if names is not None:
        for m in names.finditer(text):
            claim(m.start(), m.end(), "name")
    return sorted(spans)


def scrub_text(text: str, names: re.Pattern | None = None,
               region: str = "NL") -> tuple[str, Counter]:
    """Replace personal details in free text by typed placeholders.

    Parameters
    ----------
    text : str
        One free-text answer.
    names : re.Pattern, optional
        Known names (from :func:`name_pattern`).
    region : str
        Default region for phone numbers written without a country code.

    Returns
    -------
    scrubbed : str
    counts : collections.Counter
        Replacements per kind (``email``, ``url``, ``handle``, ``phone``, ``name``).

    Examples
    --------
    >>> scrub_text("Mail JAN@Uni.example.nl or call 06 1234 5678, @jan_j")[0]
    'Mail [EMAIL] or call [PHONE], [HANDLE]'
    >>> scrub_text("zie https://example.org/blog?x=1 en bel +31 20 123 4567")[0]
    'zie [URL] en bel [PHONE]'
    """
    counts: Counter = Counter()
    for start, end, kind in reversed(personal_spans(text, names, region)):
        text = text[:start] + PLACEHOLDERS[kind] + text[end:]
        counts[kind] += 1
    return text, counts


# --- the processed study: what later stages and reports may see -------------------

@dataclass
class ProcessedStudy:
    """A cleaned study with identities protected.

    ``data`` carries ``participant`` (pseudonym) instead of identifiers and no
    PII column; its free text is scrubbed. ``changes`` and ``summary`` are
    safe to publish. ``quarantine`` holds raw values and stays private.
    """

    study: Study
    data: pd.DataFrame
    changes: pd.DataFrame
    quarantine: pd.DataFrame
    summary: dict
    raws: list  # the raw exports as read; private, for the leak gate


def _matched(study: Study, raws: list):
    """Per export: the raw export, its variables' columns and its variables' parts (slots, write-ins)."""
    for source, raw in zip(study.sources, raws):
        columns = study.codebook.match_columns(raw.questions, source.wave, raw.name, raw.parts)
        yield raw, columns, study.codebook.match_parts(columns, raw.parts, raw.name)


def free_text_columns(study: Study, raws: list) -> list[tuple]:
    """Where people typed free text: ``(raw export, variable, clean-data column, export column)``.

    The columns of variables of role ``text``, and the slots and write-ins of
    every variable (``<var>_1``, ``<var>_other``: typed, whatever the role).
    """
    found = []
    for raw, columns, parts in _matched(study, raws):
        for name, cols in columns.items():
            if study.codebook.variables[name].role == "text":
                found += [(raw, name, name, col) for col in cols]
            found += [(raw, name, column, col) for column, col in parts.get(name, {}).items()]
    return found


def _personal(var) -> bool:
    return var.pii or var.role == "identifier"


def pii_values(study: Study, raws: list) -> dict[str, set[str]]:
    """Every value of an identifier or PII column in the raw exports, per variable.

    Used to find names in free text, and by the leak gate.
    """
    values: dict[str, set[str]] = {}
    pii_vars = {v.name for v in study.codebook.variables.values() if _personal(v)}
    for raw, columns, parts in _matched(study, raws):
        for name in pii_vars & columns.keys():
            for col in columns[name] + list(parts.get(name, {}).values()):
                found = {v.strip() for v in raw.frame[col] if v.strip()}
                values.setdefault(name, set()).update(found)
    return values


_NAME_LIST = re.compile(r"\s*(?:[\n;,/&+]|\band\b|\ben\b)\s*", re.IGNORECASE)


def split_names(value: str) -> list[str]:
    r"""The individual names in a cell that may list several (one per line, "and", commas).

    Examples
    --------
    >>> split_names("Tom Griffiths\nJessica Hamrick and Ann Lee")
    ['Tom Griffiths', 'Jessica Hamrick', 'Ann Lee']
    """
    return [n for n in _NAME_LIST.split(value) if n and any(ch.isalpha() for ch in n)]


def known_names(values) -> list[str]:
    """Names found among identifier values: name columns, and first.last email addresses.

    Examples
    --------
    >>> known_names(["Jan de Vries", "anouk.bakker@uu.example.nl", "info@example.org", "192.0.2.1"])
    ['Jan de Vries', 'anouk bakker']
    """
    names = []
    for value in values:
        if "@" in value:
            local = value.split("@", 1)[0]
            parts = [p for p in re.split(r"[._+-]+", local) if p.isalpha()]
            if len(parts) >= 2:
                names.append(" ".join(parts))
        elif any(ch.isalpha() for ch in value):
            names.extend(split_names(value))
    return names


def protect(result: CleanResult, study: Study) -> ProcessedStudy:
    """Pseudonymise participants, scrub free text and drop PII columns.

    Parameters
    ----------
    result : CleanResult
        From :func:`analysis.clean.clean_study`.
    study : Study
        The same study (its codebook says what is PII).

    Returns
    -------
    ProcessedStudy
    """
    key = resolve_key(study.pseudonym_key)
    cb = study.codebook
    data = result.data.copy()
    data.insert(0, "participant", [pseudonym(k, key) for k in data["key"]])
    known = pii_values(study, result.raws)
    names = name_pattern(known_names(v for values in known.values() for v in sorted(values)) + list(study.roster))
    scrubbed: Counter = Counter()
    log = []
    position = {name: k for k, name in enumerate(cb.variables)}
    texts = sorted(dict.fromkeys((name, column) for _, name, column, _ in free_text_columns(study, result.raws)),
                   key=lambda t: position[t[0]])  # in codebook order
    for name, column_name in texts:
        if column_name not in data:
            continue
        cache: dict[str, tuple[str, Counter]] = {}
        column = data[column_name]
        new = []
        for row, text in zip(data.index, column):
            if pd.isna(text):
                new.append(pd.NA)
                continue
            if text not in cache:
                cache[text] = scrub_text(text, names)
            clean_text, counts = cache[text]
            if counts:
                scrubbed.update(counts)
                log.append({"source": data.at[row, "source"], "source_row": data.at[row, "source_row"],
                            "variable": column_name, "old": "[free text]", "new": "[scrubbed]",
                            "rule": "scrubbed " + ", ".join(f"{k} x{n}" for k, n in sorted(counts.items()))})
            new.append(clean_text)
        data[column_name] = pd.array(new, dtype="str")
    drop = ["key"] + [v.name for v in cb.variables.values() if _personal(v) and v.name in data]
    drop += [column for name, column in texts if column != name and _personal(cb.variables[name])]  # their parts
    data = data.drop(columns=[c for c in data.columns if c in drop or any(c == f"{d}_code" or c == f"{d}_missing" for d in drop)])
    pii_vars = {v.name for v in cb.variables.values() if _personal(v)}
    changes = result.changes[~result.changes["variable"].isin(pii_vars)].copy()
    # A logged value may be anything a person typed (an answer off the scale, a repaired reflection).
    for column in ("old", "new"):
        changes[column] = changes[column].map(lambda v: scrub_text(v, names)[0] if isinstance(v, str) else v)
    changes = pd.concat([changes, pd.DataFrame(log, columns=changes.columns)], ignore_index=True)
    summary = dict(result.summary)
    summary["scrubbed"] = {kind: int(scrubbed.get(kind, 0)) for kind in PLACEHOLDERS}
    summary["pseudonyms"] = ("demo key (public; sample data only)" if study.pseudonym_key == "demo"
                             else "user key (outside the repository)")
    summary["participants"] = int(data["participant"].nunique())
    return ProcessedStudy(study, data, changes, result.quarantine, summary, result.raws)


def process_study(study) -> ProcessedStudy:
    """Load, clean and protect a study: what notebooks and later stages use.

    Parameters
    ----------
    study : path-like or Study

    Examples
    --------
    >>> from analysis.paths import SAMPLE_STUDY
    >>> processed = process_study(SAMPLE_STUDY)
    >>> {"email", "name", "key"} & set(processed.data.columns)
    set()
    >>> bool(processed.data["participant"].str.match(r"^P[0-9a-f]{12}$").all())
    True
    """
    if not isinstance(study, Study):
        study = load_study(study)
    return protect(clean_study(study), study)


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


PUBLIC_FILES = ("responses.parquet", "responses.csv", "changes.csv", "summary.json")


def write_processed(processed: ProcessedStudy, out_dir) -> Path:
    """Write the processed study: public files in ``out_dir``, raw values under ``private/``.

    Files: ``responses.parquet``, ``responses.csv``, ``changes.csv``,
    ``summary.json``, ``private/quarantine.csv``. The leak gate then reads
    the public files; on a leak they are removed and :class:`PrivacyLeak`
    is raised.
    """
    out = Path(out_dir)
    (out / "private").mkdir(parents=True, exist_ok=True)
    processed.data.to_parquet(out / "responses.parquet", index=False)
    neutralise_formulas(processed.data).to_csv(out / "responses.csv", index=False)
    neutralise_formulas(processed.changes).to_csv(out / "changes.csv", index=False)
    (out / "summary.json").write_text(json.dumps(processed.summary, indent=2, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    processed.quarantine.to_csv(out / "private" / "quarantine.csv", index=False)
    (out / "private" / "README.txt").write_text(
        "Rows set aside while cleaning, with their raw values (personal data).\n"
        "Never share this folder; reports never read it.\n", encoding="utf-8")
    leaks, _ = scan_outputs([out / name for name in PUBLIC_FILES], personal_values(processed.study, processed.raws))
    if leaks:
        for name in PUBLIC_FILES:
            (out / name).unlink(missing_ok=True)
        raise PrivacyLeak(leaks)
    return out


# --- leak gate: no personal value from the raw inputs in any public output -----------

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
            pieces = [value] + (split_names(value) if "@" not in value else [])
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
