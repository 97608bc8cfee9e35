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

import hashlib
import hmac
import os
import re
import secrets
import sys
from collections import Counter
from dataclasses import dataclass

import pandas as pd

from analysis.clean import CleanResult, clean_study, normalise_key
from analysis.codebook import Study, load_study
from analysis.paths import user_config_dir
from analysis.scrub import PLACEHOLDERS, known_names, name_pattern, scrub_text

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
