"""Protect stage: keyed pseudonyms, free-text scrubbing, PII columns dropped.

Identifiers become HMAC-SHA256 pseudonyms computed after normalising the key
(case, Unicode form and whitespace), so one person gets one pseudonym in every
wave. Free text loses emails, URLs, handles, phone numbers and known names,
each replaced by a typed placeholder (:mod:`analysis.scrub`).

The key lives outside the repository: ``$ANALYSIS_PSEUDONYM_KEY``, else a file
``pseudonym.key`` in :func:`analysis.paths.user_config_dir`, created on first
use. The committed sample study uses :data:`DEMO_KEY`, which is public and so
protects nothing; it exists so that the sample's ``truth.json`` can be keyed by
the same pseudonyms the pipeline produces.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
import sys
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.clean import CleanResult, clean_study, normalise_key
from analysis.codebook import Study, load_study
from analysis.errors import InputError
from analysis.paths import user_config_dir
from analysis.scrub import (
    MAX_ANSWER_CHARS,
    PLACEHOLDERS,
    known_names,
    name_pattern,
    remove_controls,
    scrub_text,
)

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
    digest = hmac.digest(key.encode("utf-8"), normalise_key(value).encode("utf-8"), "sha256").hex()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX_CHARS]


def pseudonyms(values, key: str) -> pd.Series:
    """:func:`pseudonym` of each value (a text Series; missing stays missing), each distinct key hashed once.

    Keys are normalised by :func:`analysis.clean_fast.normalise_keys` (in C for plain ASCII), the
    HMAC is OpenSSL's one-shot digest.

    Examples
    --------
    >>> list(pseudonyms(["a@x.nl", "A@x.nl ", "Bé Ü"], DEMO_KEY)) == [
    ...     pseudonym("a@x.nl", DEMO_KEY)] * 2 + [pseudonym("bé ü", DEMO_KEY)]
    True
    """
    from analysis.clean_fast import normalise_keys

    if not (isinstance(values, pd.Series) and values.dtype == "str"):
        values = pd.Series(values, dtype="str")
    keys = pa.array(normalise_keys(values, normalise_key).array)
    encoded = pc.dictionary_encode(keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys)
    raw_key = key.encode("utf-8")
    digests = [PSEUDONYM_PREFIX + hmac.digest(raw_key, v.encode("utf-8"), "sha256").hex()[:PSEUDONYM_HEX_CHARS]
               for v in encoded.dictionary.to_pylist()]
    return pd.Series(pa.array(digests, pa.large_string()).take(encoded.indices).to_pandas().array,
                     index=values.index)


#: Values ``pseudonym_key:`` may take in a study file (omitted: the user's key).
KEY_SETTINGS = (None, "demo")
#: A study folder holding this file was written by ``analysis simulate``: synthetic data.
SYNTHETIC_MARK = "truth.json"


def resolve_key(setting: str | None, *, synthetic: bool = False, where="study file") -> str:
    """Return the pseudonym key a study asks for.

    Parameters
    ----------
    setting : str or None
        ``"demo"`` selects :data:`DEMO_KEY`, allowed only for synthetic data
        (the sample, or any study ``analysis simulate`` wrote). ``None``
        (omitted) reads ``$ANALYSIS_PSEUDONYM_KEY`` or the user's key file,
        creating it with a fresh random key, readable by its owner only, on
        first use. Any other value is an error.
    synthetic : bool
        The data is synthetic (the demo key may be used).
    where : str or path-like
        The study file, named in errors.

    Raises
    ------
    InputError
        ``demo`` for data that is not synthetic; an unknown setting; a key file
        that is empty or readable by others.

    Examples
    --------
    >>> resolve_key("demo", synthetic=True) == DEMO_KEY
    True
    >>> resolve_key("demo")
    Traceback (most recent call last):
    ...
    analysis.errors.InputError: study file, column 'pseudonym_key': expected no pseudonym_key for real data (the demo key is public: anyone can re-identify participants by hashing their e-mails with it); 'demo' is for synthetic data only (a study written by analysis simulate)
    """
    if setting not in KEY_SETTINGS:
        raise InputError(where, f"pseudonym_key to be omitted (your own key) or 'demo' (synthetic data only), "
                         f"got {setting!r}", column="pseudonym_key")
    if setting == "demo":
        if not synthetic:
            raise InputError(where, "no pseudonym_key for real data (the demo key is public: anyone can "
                             "re-identify participants by hashing their e-mails with it); 'demo' is for synthetic "
                             "data only (a study written by analysis simulate)", column="pseudonym_key")
        return DEMO_KEY
    if os.environ.get("ANALYSIS_PSEUDONYM_KEY"):
        return os.environ["ANALYSIS_PSEUDONYM_KEY"]
    path = user_config_dir() / "pseudonym.key"
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # created owner-only from the start (never readable by others, not even briefly)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secrets.token_hex(32) + "\n")
        print(f"Created a new pseudonym key at {path}. Keep it safe and out of the "
              "repository: with another key every pseudonym changes.", file=sys.stderr)
    if path.stat().st_mode & 0o077:
        raise InputError(path, f"a key file readable by its owner only (run: chmod 600 {path})")
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise InputError(path, "a pseudonym key (the file is empty); restore it from your backup, or delete "
                         "the file to create a new key (every pseudonym then changes)")
    return key


def is_synthetic(study: Study) -> bool:
    """Whether a study's data is synthetic: the committed sample, or a folder ``analysis simulate`` wrote
    (it holds :data:`SYNTHETIC_MARK`)."""
    return (study.root / SYNTHETIC_MARK).is_file()


def study_key(study: Study) -> str:
    """The pseudonym key of ``study`` (:func:`resolve_key` on its setting, errors naming its file)."""
    return resolve_key(study.pseudonym_key, synthetic=is_synthetic(study), where=study.path)


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
    #: Answers longer than MAX_ANSWER_CHARS, whole (private: ``private/long_answers.csv``).
    long_answers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["source", "source_row", "variable", "length", "text"]))
    #: Export name -> the name as published (scrubbed: an export may be named after a trainer).
    source_names: dict = field(default_factory=dict)
    #: What protecting found for the leak gate (private): ``values`` and ``origins`` of
    #: :func:`pii_values`, and ``names``, the known names among those values (:func:`known_names`).
    personal: dict = field(default_factory=dict, repr=False)


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


#: Columns survey tools write with who answered (dropped as tool columns, but their values are
#: known names and addresses: sought in free text and by the leak gate).
IDENTITY_COLUMNS = frozenset({
    "RecipientLastName", "RecipientFirstName", "RecipientEmail", "Recipient Last Name", "Recipient First Name",
    "Recipient Email", "ExternalReference", "ExternalDataReference",  # Qualtrics
    "Email", "Name",  # Microsoft Forms
    "Submitter", "Submitter Email",  # Indico
    "Email Address", "First Name", "Last Name",  # SurveyMonkey
    "IPAddress", "IP Address", "ipaddr",  # Qualtrics, SurveyGizmo/SurveyMonkey, LimeSurvey
})

_NAME_PAIRS = (("First Name", "Last Name"), ("RecipientFirstName", "RecipientLastName"),
               ("Recipient First Name", "Recipient Last Name"))


def _record_origins(origins: dict | None, kind: str, raw, col: str, cells: pd.Series) -> None:
    """Note where each value of ``cells`` (stripped text of ``raw``'s column ``col``) is first seen:
    ``origins[kind][value] = (export name, row, column)``; the first export and row seen is kept."""
    if origins is None:
        return
    from itertools import repeat

    from analysis.io import ROW

    first = ~cells.duplicated().to_numpy()
    rows = map(int, raw.frame[ROW].to_numpy()[first].tolist()) if ROW in raw.frame else repeat(None)
    seen = dict(zip(cells[first].tolist(), zip(repeat(raw.name), rows, repeat(col))))
    seen.pop("", None)
    known = origins.setdefault(kind, {})
    seen.update(known)  # earlier sightings win
    origins[kind] = seen


def _distinct(cells: pd.Series) -> set[str]:
    """The distinct values of stripped text cells (:func:`_stripped`), but for the empty one."""
    return {v for v in cells.unique().tolist() if isinstance(v, str) and v}


def _stripped(frame: pd.DataFrame, col: str) -> pd.Series:
    values = frame[col]
    return values.where(values.map(type) == str, "").str.strip() if values.dtype == object else values.str.strip()


def pii_values(study: Study, raws: list, origins: dict | None = None) -> dict[str, set[str]]:
    """Every value of an identifier or PII column in the raw exports, per variable.

    Also the values of the survey tools' own identity columns
    (:data:`IDENTITY_COLUMNS`), as kind ``"<column> (tool column)"``, whether
    or not the codebook names them. Used to find names in free text, and by
    the leak gate. With ``origins`` (a dict), where each value was first seen
    is noted in it: ``origins[kind][value] = (export name, row, column)``.
    """
    values: dict[str, set[str]] = {}
    pii_vars = {v.name for v in study.codebook.variables.values() if _personal(v)}
    for raw, columns, parts in _matched(study, raws):
        used = set()
        for name in pii_vars & columns.keys():
            for col in columns[name] + list(parts.get(name, {}).values()):
                used.add(col)
                cells = _stripped(raw.frame, col)
                values.setdefault(name, set()).update(_distinct(cells))
                _record_origins(origins, name, raw, col, cells)
        for col in raw.frame.columns:
            if col in IDENTITY_COLUMNS and col not in used:
                cells = _stripped(raw.frame, col)
                found = _distinct(cells)
                if found:
                    values.setdefault(f"{col} (tool column)", set()).update(found)
                    _record_origins(origins, f"{col} (tool column)", raw, col, cells)
        for first, last in _NAME_PAIRS:  # "Henk" and "Bakker" in one row: "Henk Bakker" is sought whole
            if first in raw.frame.columns and last in raw.frame.columns:
                a, b = _stripped(raw.frame, first), _stripped(raw.frame, last)
                full = (a + " " + b).where(a.ne("") & b.ne(""), "")
                if full.ne("").any():
                    values.setdefault("full name (tool columns)", set()).update(_distinct(full))
                    _record_origins(origins, "full name (tool columns)", raw, f"{first}, {last}", full)
    return values


def _double_encoded(text: str) -> str:
    """How ``text`` looks when its UTF-8 bytes are read as Windows-1252 (a repair's original)."""
    return text.encode("utf-8").decode("cp1252", errors="replace")


def protect(result: CleanResult, study: Study) -> ProcessedStudy:
    """Pseudonymise participants, scrub what people typed and drop PII columns.

    Scrubbed (:func:`analysis.scrub.scrub_text`, with the names of every
    identity column, every tool's identity columns and the roster): free-text
    answers, their slots and write-ins, group answers (a form's "Other: ..."),
    the export names in ``source`` and the logged values in the change log
    (answers off the scale; a repaired text's original, shown re-encoded from
    the scrubbed repair). Control characters and bidi overrides are removed
    from every text cell, line breaks made ``\n``. An answer longer than
    :data:`analysis.scrub.MAX_ANSWER_CHARS` is cut there, the cut logged, and
    the whole answer kept in ``long_answers`` (private).

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
    key = study_key(study)
    cb = study.codebook
    data = result.data.copy(deep=False)  # (copy on write: the clean data is never changed)
    data.insert(0, "participant", pseudonyms(data["key"], key))
    origins: dict = {}
    known = pii_values(study, result.raws, origins)
    pii_names = known_names(v for values in known.values() for v in sorted(values))
    names = name_pattern(pii_names + list(study.roster))
    scrubbed: Counter = Counter()
    log, long_answers = [], []
    position = {name: k for k, name in enumerate(cb.variables)}
    texts = sorted(dict.fromkeys((name, column) for _, name, column, _ in free_text_columns(study, result.raws)),
                   key=lambda t: position[t[0]])  # in codebook order
    texts += [(v.name, v.name) for v in cb.variables.values() if v.role == "group" and (v.name, v.name) not in texts]
    cache: dict[str, tuple[str, Counter | None]] = {}

    def scrubbed_text(text: str) -> tuple[str, Counter | None]:
        """``text`` scrubbed, and what was found (None: nothing; a million answers keep no empty counts)."""
        if text not in cache:
            clean, counts = scrub_text(text, names)
            cache[text] = (clean, counts or None)
        return cache[text]

    for name, column_name in texts:
        if column_name not in data:
            continue
        # each distinct answer cut and scrubbed once; only the rows it changed are logged, in row order
        codes, uniques = pd.factorize(data[column_name])
        uniques = [t if isinstance(t, str) else None for t in uniques]
        cut = [t is not None and len(t) > MAX_ANSWER_CHARS for t in uniques]
        done = [(None, None) if t is None else scrubbed_text(t[:MAX_ANSWER_CHARS]) for t in uniques]
        changed = np.array([c or bool(n) for c, (_, n) in zip(cut, done)] + [False])  # (codes -1: missing)
        rows = np.flatnonzero(changed[codes])
        for k, source, row in zip(rows.tolist(), data["source"].take(rows).tolist(),
                                  data["source_row"].take(rows).tolist()):
            text = uniques[codes[k]]
            where = {"source": source, "source_row": row, "variable": column_name}
            if cut[codes[k]]:
                long_answers.append({**where, "length": len(text), "text": text})
                log.append({**where, "old": f"[{len(text)} characters]", "new": f"[first {MAX_ANSWER_CHARS}]",
                            "rule": f"answer cut at {MAX_ANSWER_CHARS} characters (whole answer under private/)"})
            counts = done[codes[k]][1]
            if counts:
                scrubbed.update(counts)
                log.append({**where, "old": "[free text]", "new": "[scrubbed]",
                            "rule": "scrubbed " + ", ".join(f"{k} x{n}" for k, n in sorted(counts.items()))})
        typed = pa.array(data[column_name])  # (Arrow text as stored: not copied)
        if pa.types.is_large_string(typed.type):  # only the cells scrubbing altered are replaced
            altered = np.array([t is not None and s != t for t, (s, _) in zip(uniques, done)] + [False])[codes]
            if altered.any():
                new = pa.array([done[c][0] for c in codes[altered].tolist()], pa.large_string())
                fixed = pc.replace_with_mask(typed, pa.array(altered), new)
                data[column_name] = pd.Series(fixed.to_pandas().array, index=data.index)
        else:  # (other text, made Arrow text: every cell from its distinct answer)
            taken = pa.array([t for t, _ in done], pa.large_string()).take(pa.array(codes, mask=codes < 0))
            data[column_name] = pd.Series(taken.to_pandas().array, index=data.index)
    cache.clear()  # (every distinct answer, as typed and scrubbed: freed before the rest is made)
    uniques = done = None  # (and the last column's distinct answers)
    drop = ["key"] + [v.name for v in cb.variables.values() if _personal(v) and v.name in data]
    drop += [column for name, column in texts if column != name and _personal(cb.variables[name])]  # their parts
    data = data.drop(columns=[c for c in data.columns if c in drop or any(c == f"{d}_code" or c == f"{d}_missing" for d in drop)])
    # export names may hold a trainer's name ("feedback_Joran_2019.csv")
    codes, shown = pd.factorize(data["source"])
    sources = {s: scrubbed_text(s)[0] for s in {*map(str, shown), *(e["source"] for e in result.summary.get("sources", []))}}
    data["source"] = pd.Series(pd.array([sources.get(str(s), s) for s in shown], dtype="str").take(codes),
                               index=data.index)
    pii_vars = {v.name for v in cb.variables.values() if _personal(v)}
    changes = result.changes[~result.changes["variable"].isin(pii_vars)].copy()
    # A logged value may be anything a person typed (an answer off the scale, a repaired reflection).
    repaired = changes["rule"].eq("repaired double-encoded UTF-8")
    changes["new"] = changes["new"].map(lambda v: scrubbed_text(v)[0] if isinstance(v, str) else v)
    changes["old"] = changes["old"].map(lambda v: scrubbed_text(v)[0] if isinstance(v, str) else v)
    changes.loc[repaired, "old"] = changes.loc[repaired, "new"].map(
        lambda v: _double_encoded(v) if isinstance(v, str) else v)
    changes = pd.concat([changes, pd.DataFrame(log, columns=changes.columns)], ignore_index=True)
    changes["source"] = changes["source"].map(lambda v: sources.get(v, scrubbed_text(v)[0]) if isinstance(v, str) else v)
    # no control character or bidi override in any text cell (what is left after scrubbing)
    for frame in (data, changes):
        for column in frame.columns:
            if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column].dtype):
                fixed, removed = remove_controls(frame[[column]], column)
                if removed:
                    frame[column] = fixed[column]
                    scrubbed["control"] += removed  # counted in the summary
    summary = dict(result.summary)
    summary["sources"] = [{**e, "source": sources.get(e["source"], e["source"])} for e in summary.get("sources", [])]
    summary["scrubbed"] = {kind: int(scrubbed.get(kind, 0)) for kind in PLACEHOLDERS}
    summary["control_characters_removed"] = int(scrubbed.get("control", 0))
    summary["answers_cut"] = len(long_answers)
    summary["pseudonyms"] = ("demo key (public; sample data only)" if study.pseudonym_key == "demo"
                             else "user key (outside the repository)")
    summary["participants"] = int(data["participant"].nunique())
    long_frame = pd.DataFrame(long_answers, columns=["source", "source_row", "variable", "length", "text"])
    return ProcessedStudy(study, data, changes, result.quarantine, summary, result.raws, long_frame, sources,
                          {"values": known, "origins": origins, "names": pii_names})


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
