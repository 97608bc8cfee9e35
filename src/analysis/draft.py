"""Start a study from its exports: see what the reader sees, then draft the study file and codebook.

:func:`inspect_export` describes one export as :func:`analysis.io.read_export`
reads it: the format detected and why, encoding, delimiter, header rows, and
each column under the name the reader gives it, with its number of answers,
its distinct values and what it looks like (:data:`KINDS`). Values are shown
only where they are answer options (a scale's labels, a multi-select's
options, a few-valued category seen at least :data:`MIN_SHOWN` times, numbers
and times as a range): never a name, an e-mail address or free text.

:func:`draft_study` turns the descriptions of several exports into a
``study.yaml`` and a ``codebook.yaml`` that clean as they are, each decision
it could not make marked with a ``# TODO:`` comment (constructs,
reverse-keyed items, the order of a scale it did not know, which identifier
links the waves, the entry point of each session).

Answer scales are recognised from :data:`KNOWN_SCALES`, common label sets in
English and Dutch; "don't know" and "not applicable" answers are kept apart as
missing codes. Statements of one grid question (Google Forms'
``Question [statement]``, Qualtrics' ``Question - statement``) on one scale
become one item block (see :func:`analysis.codebook.load_codebook`).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from analysis.codebook import _option_key, normalise_text
from analysis.errors import InputError
from analysis.io import FORMATS, PROVENANCE, ROW, _delimiter, detect, read_export

#: What a column can look like.
KINDS = ("empty", "scale", "multiselect", "option", "text", "email", "name", "identifier", "location",
         "timestamp", "number", "category", "group")
#: A category's value is shown only when at least this many answers give it (no rare, personal values).
MIN_SHOWN = 3
#: Missing-answer labels kept apart from the scale, by reason.
MISSING = {
    "dont_know": ("I don't know", "Don't know", "Do not know", "Weet ik niet", "Weet niet", "Geen idee"),
    "not_applicable": ("N/A", "n/a", "Not applicable", "n.v.t.", "nvt", "Niet van toepassing"),
    "no_opinion": ("No opinion", "Geen mening"),
}


_MISSING_TEXTS = {normalise_text(label) for labels in MISSING.values() for label in labels}


def _levels(en: list[str], nl: list[str], start: int = 1) -> list[dict]:
    return [{"code": start + k, "en": e, "nl": n} for k, (e, n) in enumerate(zip(en, nl))]


#: Common answer scales: name -> levels (code and label per language), lowest first.
KNOWN_SCALES = {
    "agree5": _levels(["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"],
                      ["Helemaal mee oneens", "Mee oneens", "Neutraal", "Mee eens", "Helemaal mee eens"]),
    "agree5b": _levels(["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"],
                       ["Helemaal oneens", "Oneens", "Niet eens, niet oneens", "Eens", "Helemaal eens"]),
    "agree7": _levels(["Strongly disagree", "Disagree", "Somewhat disagree", "Neither agree nor disagree",
                       "Somewhat agree", "Agree", "Strongly agree"],
                      ["Helemaal mee oneens", "Mee oneens", "Enigszins mee oneens", "Neutraal",
                       "Enigszins mee eens", "Mee eens", "Helemaal mee eens"]),
    "agree4": _levels(["Strongly disagree", "Disagree", "Agree", "Strongly agree"],
                      ["Helemaal mee oneens", "Mee oneens", "Mee eens", "Helemaal mee eens"]),
    "frequency5": _levels(["Never", "Rarely", "Sometimes", "Often", "Always"],
                          ["Nooit", "Zelden", "Soms", "Vaak", "Altijd"]),
    "satisfaction5": _levels(["Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"],
                             ["Zeer ontevreden", "Ontevreden", "Neutraal", "Tevreden", "Zeer tevreden"]),
    "quality5": _levels(["Very poor", "Poor", "Fair", "Good", "Excellent"],
                        ["Zeer slecht", "Slecht", "Redelijk", "Goed", "Uitstekend"]),
    "likely5": _levels(["Very unlikely", "Unlikely", "Neutral", "Likely", "Very likely"],
                       ["Zeer onwaarschijnlijk", "Onwaarschijnlijk", "Neutraal", "Waarschijnlijk",
                        "Zeer waarschijnlijk"]),
    "yesno": _levels(["No", "Yes"], ["Nee", "Ja"], start=0),
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_EMAIL_HEADER = re.compile(r"(?i)e-?mail")
_NAME_HEADER = re.compile(r"(?i)(^((full|first|last|your|sur|family|given)\s*)?names?\b|\bnames of\b|"
                          r"^(uw |je )?(voor|achter)?naam\b|^submitter$|^recipient(first|last)name$)")
_LOCATION_HEADER = re.compile(r"(?i)(ip ?addr|^ipaddress$|latitude|longitude|^network id$|^city$|^postal$)")
_ID_HEADER = re.compile(r"(?i)^(id|#|respondent id|response ?id|responseid|user ?id|participant( ?id)?|token|"
                        r"contact id|session ?id|collector id)$")
_GROUP_HEADER = re.compile(r"(?i)(workshop|session|sessie|training|cursus|bijeenkomst)")
_TIME = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?$")
_NUMBER = re.compile(r"^-?\d+([.,]\d+)?$")
_OTHER = re.compile(r"(?i)^(other|anders|overig|overige)(\.\d+)?$")
_SUFFIX = re.compile(r"\.\d+$")
_GRID = (re.compile(r"^(?P<stem>.+?)\s*\[(?P<item>[^\[\]]+)\]\s*$", re.DOTALL),
         re.compile(r"^(?P<stem>.+?) - (?P<item>[^-].*)$", re.DOTALL))
_SEPARATORS = ("; ", ";", ", ", " | ")
_NEGATIVE = re.compile(r"(?i)^(no\b|none\b|never\b|not\b|i don't|i do not|i have no|nee\b|geen\b|nooit\b|niet\b)")
_POSITIVE = re.compile(r"(?i)^(yes\b|always\b|i am an expert|expert\b|ja\b|altijd\b)")


@dataclass
class ColumnInfo:
    """One column as the reader names it, and what its answers look like (never personal values)."""

    column: str
    question: str
    answers: int
    distinct: int
    kind: str
    #: Kind-specific facts: ``scale`` (name), ``language``, ``labels`` seen, ``unknown`` count,
    #: ``missing`` labels seen, ``separator``, ``options``, ``range``, ``values`` shown.
    detail: dict = field(default_factory=dict)
    meta: bool = False
    #: Each distinct answer and how often it was given (for drafting; never shown).
    counts: Counter = field(default_factory=Counter, repr=False)

    def as_dict(self) -> dict:
        return {"column": self.column, "question": self.question, "answers": self.answers,
                "distinct": self.distinct, "kind": self.kind, "meta": self.meta, **self.detail}


@dataclass
class ExportInfo:
    """One export as the reader sees it (see :func:`inspect_export`)."""

    path: Path
    format: str
    why: str
    encoding: str
    delimiter: str | None
    header_rows: int
    rows: int
    columns: list
    #: Cell texts that look like R's "no answer" (``NA``) in a plain CSV export.
    na_values: tuple = ()
    #: Runs of columns that are one multi-select, one column per option: (first, last) positions.
    option_blocks: list = field(default_factory=list)
    format_given: bool = False

    def as_dict(self) -> dict:
        return {"path": str(self.path), "format": self.format, "why": self.why, "encoding": self.encoding,
                "delimiter": self.delimiter, "header_rows": self.header_rows, "rows": self.rows,
                "na_values": list(self.na_values),
                "option_blocks": [[self.columns[a].column, self.columns[b].column] for a, b in self.option_blocks],
                "columns": [c.as_dict() for c in self.columns]}


# --- recognising what a column holds ---------------------------------------------------

def _known_scale(values: Counter) -> dict | None:
    """The shipped scale that codes at least 90 % of the answers, as cleaning would code them.

    Label variants (case, spacing, ``3 - Neutral``) count as the label; "don't
    know" and "not applicable" answers count as its missing codes. Of several
    scales that fit, the one leaving fewest levels unused wins (agree5 before
    agree7 for answers on both). Returns the scale, language, labels seen,
    missing labels seen and how many answers it could not code.
    """
    from analysis.clean import code_label
    from analysis.codebook import Scale

    answers = sum(values.values())
    if all(re.fullmatch(r"-?\d+", v.strip()) for v in values):
        return None  # only numbers: a rating (see _rating), not labels
    best = None
    for name, levels in KNOWN_SCALES.items():
        for language in ("en", "nl"):
            scale = Scale(name, tuple((lv["code"], {language: lv[language]}) for lv in levels),
                          {k: v for k, v in MISSING.items()})
            coded = {v: code_label(v, scale) for v in values}
            on_scale = {c.code for c in coded.values() if c.missing is None}
            ok = sum(n for v, n in values.items() if coded[v].missing is None or coded[v].missing not in
                     ("invalid",))
            if not on_scale or ok < 0.9 * answers or (len(on_scale) < 2 and len(levels) > 2):
                continue
            score = (len(levels) - len(on_scale), -ok, len(levels))
            if best is None or score < best[0]:
                best = (score, name, language, coded, on_scale)
    if best is None:
        return None
    _, name, language, coded, on_scale = best
    unknown = [v for v in values if coded[v].missing == "invalid"]
    return {"scale": name, "language": language,
            "labels": [lv[language] for lv in KNOWN_SCALES[name] if lv["code"] in on_scale],
            "missing": sorted(v for v in values if coded[v].missing not in (None, "invalid", "blank")),
            "unknown": sum(values[v] for v in unknown),
            "unknown_shown": [v for v in unknown if values[v] >= MIN_SHOWN]}


def _rating(values: Counter) -> dict | None:
    """Whole numbers from 0 or 1 up to at most 10: a rating scale."""
    if not all(re.fullmatch(r"\d{1,2}", v) for v in values):
        return None
    numbers = sorted({int(v) for v in values})
    if len(numbers) < 3 or numbers[0] > 2 or numbers[-1] > 10:
        return None
    low = 0 if numbers[0] == 0 else 1  # a 1-based scale whose lowest level nobody chose still starts at 1
    return {"scale": f"rating{low}_{numbers[-1]}", "language": None,
            "labels": [str(n) for n in range(low, numbers[-1] + 1)], "missing": [], "unknown": 0}


def _tokens(cell: str, sep: str) -> list[str]:
    """A joined answer split on ``sep``, pieces re-joined while a parenthesis is open."""
    out, buf = [], ""
    for piece in cell.split(sep.strip()):
        buf = f"{buf}{sep.strip()}{piece}" if buf else piece
        if buf.count("(") <= buf.count(")"):
            out.append(buf.strip())
            buf = ""
    if buf:
        out.append(buf.strip())
    return [t for t in out if t]


def _joined(values: Counter) -> dict | None:
    """Options joined in one cell: pieces that recur, and also stand alone in some answers."""
    answers = sum(values.values())
    for sep in _SEPARATORS:
        with_sep = sum(n for v, n in values.items() if sep.strip() in v)
        if with_sep < max(2, 0.1 * answers):
            continue
        counts: Counter = Counter()
        for v, n in values.items():
            for t in dict.fromkeys(_tokens(v, sep)):
                counts[t] += n
        frequent = [t for t, n in counts.items() if n >= 2]
        if not frequent:
            continue
        recurring = sum(counts[t] for t in frequent) / sum(counts.values())
        alone = sum(1 for t in frequent if t in values) / len(frequent)
        if recurring >= 0.6 and alone >= 0.3 and len(frequent) < len(values):
            options = sorted(frequent, key=lambda t: (-counts[t], t))
            return {"separator": sep if sep != ";" else ";", "options": options,
                    "rare": len(counts) - len(frequent)}
    return None


def _classify(column: str, question: str, values: Counter, meta: bool) -> ColumnInfo:
    """What one column holds, from its header and how often each non-blank answer was given."""
    answers, distinct = sum(values.values()), len(values)
    info = ColumnInfo(column, question, answers, distinct, "empty", meta=meta)
    info.counts = values
    head = normalise_text(_SUFFIX.sub("", column))
    emails = sum(n for v, n in values.items() if _EMAIL.match(v))
    if _LOCATION_HEADER.search(column):
        info.kind = "location"
    elif (_EMAIL_HEADER.search(column) and (not answers or emails >= 0.5 * answers)) or (
            answers and emails >= 0.5 * answers):
        info.kind = "email"
    elif _NAME_HEADER.search(column) or _NAME_HEADER.search(question):
        info.kind = "name"
    elif not answers:
        info.kind = "empty"
    elif _ID_HEADER.match(column.strip()) and distinct >= 0.5 * answers:
        info.kind = "identifier"
    elif all(_TIME.match(v) for v in values):
        info.kind = "timestamp"
        info.detail = {"range": [min(values), max(values)]}
    elif distinct == 1 and normalise_text(next(iter(values))) == head and not _OTHER.match(column):
        info.kind = "option"
        info.detail = {"label": next(iter(values))}
    elif (found := _known_scale(values) or _rating(values)) is not None:
        info.kind, info.detail = "scale", found
    elif all(_NUMBER.match(v) for v in values):
        numbers = [float(v.replace(",", ".")) for v in values]
        info.kind, info.detail = "number", {"range": [_num(min(numbers)), _num(max(numbers))]}
    elif (found := _joined(values)) is not None:
        info.kind, info.detail = "multiselect", {"layout": "joined", **found}
    else:
        mean_length = sum(len(v) * n for v, n in values.items()) / answers
        repeated = sum(n for n in values.values() if n >= 2) / answers
        if distinct <= max(12, answers // 10) and repeated >= 0.7 and mean_length <= 120:
            info.kind = "group" if _GROUP_HEADER.search(question) else "category"
            shown = [v for v, n in values.most_common() if n >= MIN_SHOWN or normalise_text(v) in _MISSING_TEXTS]
            info.detail = {"values": shown, "not_shown": distinct - len(shown)}
        else:
            info.kind = "text"
            info.detail = {"mean_length": round(mean_length)}
    return info


def _num(x: float):
    return int(x) if float(x).is_integer() else round(x, 3)


def _option_blocks(columns: list[ColumnInfo]) -> list[tuple[int, int]]:
    """Runs of two or more option columns (one multi-select, a column per option); an "Other"
    column of free text right after a run belongs to it."""
    def unchosen(c: ColumnInfo) -> bool:  # an option nobody chose: no answers, headed like an option
        return c.kind == "empty" and len(c.column) <= 60 and "?" not in c.column and not _OTHER.match(c.column)

    blocks, k = [], 0
    while k < len(columns):
        if columns[k].kind != "option":
            k += 1
            continue
        start = k
        while start > 0 and unchosen(columns[start - 1]) and (start - 1 not in {b for _, b in blocks}):
            start -= 1
        end = k
        while end + 1 < len(columns) and (columns[end + 1].kind == "option" or unchosen(columns[end + 1])):
            end += 1
        if end + 1 < len(columns) and _OTHER.match(columns[end + 1].column):
            end += 1
        if end > start:
            blocks.append((start, end))
        k = end + 1
    return blocks


def inspect_export(path, fmt: str | None = None) -> ExportInfo:
    """Describe one export as the reader sees it.

    Parameters
    ----------
    path : path-like
        The export (never written to).
    fmt : str, optional
        A format of :data:`analysis.io.FORMATS`; detected when omitted.

    Examples
    --------
    >>> from analysis.paths import SAMPLE_DIR
    >>> info = inspect_export(SAMPLE_DIR / "raw" / "pre_google_forms.csv")
    >>> info.format, info.why, info.header_rows
    ('google_forms', "first header is 'Timestamp'", 1)
    >>> kinds = {c.column: c.kind for c in info.columns}
    >>> kinds["Email address"], kinds["Full name"], kinds["Timestamp"]
    ('email', 'name', 'timestamp')
    >>> grid = next(c for c in info.columns if c.question.endswith("[Social media tools confuse me]"))
    >>> grid.kind, grid.detail["scale"], grid.detail["language"]
    ('scale', 'agree5', 'en')
    >>> q = next(c for c in inspect_export(SAMPLE_DIR / "raw" / "post_qualtrics.csv").columns if c.column == "Q2_1")
    >>> q.detail["scale"], q.detail["language"], q.detail["missing"]
    ('agree5', 'nl', ['Weet ik niet'])
    """
    path = Path(path)
    detected, why = detect(path)
    raw = read_export(path, fmt or detected)
    delimiter = None
    if not FORMATS[raw.format].excel:
        with path.open("rb") as fh:
            delimiter = _delimiter(fh.read(1 << 16).decode("latin-1").lstrip("\ufeff").lstrip("\xef\xbb\xbf"))
    frame = raw.frame
    header_rows = int(frame[ROW].iloc[0]) - 1 if len(frame) else FORMATS[raw.format].header_rows
    answer_columns = [c for c in frame.columns if c not in PROVENANCE]
    na = Counter(c for c in answer_columns if (frame[c].str.strip() == "NA").any())
    # R writes NA for no answer; the suite reads it as an answer unless the source says na_values: [NA]
    na_values = ("NA",) if na and raw.format == "csv" else ()
    meta = set(FORMATS[raw.format].meta)
    columns = []
    for c in answer_columns:
        cells = frame[c].tolist()
        if na_values:
            cells = ["" if v.strip() in na_values else v for v in cells]
        columns.append(_classify(c, raw.questions.get(c, c), Counter(v.strip() for v in cells if v.strip()),
                                 c in meta))
    if fmt and fmt != detected:
        why = f"given as {fmt} (detection would say {detected}: {why})"
    return ExportInfo(path, raw.format, why, raw.encoding, delimiter, header_rows, len(frame), columns,
                      na_values, _option_blocks(columns), fmt is not None)


# --- showing it --------------------------------------------------------------------------

def _short(text: str, n: int = 60) -> str:
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", str(text))).strip()
    return text if len(text) <= n else text[: n - 3] + "..."


def describe(info: ColumnInfo) -> str:
    """What a column looks like, in a few words and without personal values.

    Examples
    --------
    >>> describe(ColumnInfo("Q1", "Q1", 40, 3, "scale", {"scale": "agree5", "language": "en",
    ...          "labels": ["Disagree", "Neutral", "Agree"], "missing": [], "unknown": 0}))
    'scale agree5 (en): Disagree, Neutral, Agree'
    >>> describe(ColumnInfo("Mail", "Mail", 40, 40, "email"))
    'e-mail addresses (personal: not shown)'
    """
    d = info.detail
    if info.kind == "scale":
        text = f"scale {d['scale']}" + (f" ({d['language']})" if d.get("language") else "")
        text += ": " + ", ".join(d["labels"])
        if d.get("missing"):
            text += f"; kept apart: {', '.join(d['missing'])}"
        if d.get("unknown"):
            shown = ", ".join(repr(_short(v, 20)) for v in d.get("unknown_shown", []))
            text += f"; {d['unknown']} answers not on it{' (' + shown + ')' if shown else ''}"
        return text
    if info.kind == "multiselect":
        return (f"multi-select joined by {d['separator']!r}: {', '.join(_short(o, 30) for o in d['options'][:8])}"
                f"{' ...' if len(d['options']) > 8 else ''}" + (f" (+{d['rare']} rarer, not shown)" if d["rare"] else ""))
    if info.kind == "option":
        return "one option of a multi-select (a column per option; cell = its label)"
    if info.kind in ("category", "group"):
        shown = ", ".join(_short(v, 30) for v in d["values"][:8])
        rest = d["not_shown"] + max(0, len(d["values"]) - 8)
        what = "session/group labels" if info.kind == "group" else "answers from a list"
        return f"{what}: {shown or '-'}" + (f" (+{rest} rarer, not shown)" if rest else "")
    if info.kind in ("timestamp", "number"):
        return f"{'timestamps' if info.kind == 'timestamp' else 'numbers'} from {d['range'][0]} to {d['range'][1]}"
    return {"text": f"free text (mean {d.get('mean_length', 0)} characters; not shown)",
            "email": "e-mail addresses (personal: not shown)", "name": "names of people (personal: not shown)",
            "identifier": "identifiers (not shown)", "location": "IP address or location (personal: not shown)",
            "empty": "no answers"}[info.kind]


def format_inspection(info: ExportInfo) -> str:
    """An export's description as text for a terminal."""
    delimiter = {",": "comma", ";": "semicolon", "\t": "tab"}.get(info.delimiter, "none (workbook)")
    lines = [f"{info.path}",
             f"  format {info.format}: {info.why}",
             f"  encoding {info.encoding}, delimiter {delimiter}, {info.header_rows} header row"
             f"{'s' if info.header_rows != 1 else ''}, {info.rows} rows, {len(info.columns)} columns"
             + (f"; cells 'NA' read as no answer (R's missing value; na_values: [NA])" if info.na_values else "")]
    in_block = {k: n for n, (a, b) in enumerate(info.option_blocks, 1) for k in range(a, b + 1)}
    width = len(str(len(info.columns)))
    for k, c in enumerate(info.columns):
        name = _short(c.column, 58)
        if normalise_text(c.question) != normalise_text(c.column):
            name += f"  (question: {_short(c.question, 50)})"
        what = describe(c)
        if k in in_block:
            what = f"multi-select {in_block[k]}, a column per option: " + (
                f"option {_short(c.detail['label'], 40)!r}" if c.kind == "option" else
                "no one chose this option" if c.kind == "empty" else "write-in beside the options (not shown)")
        meta = ", written by the tool" if c.meta else ""
        lines.append(f"  {k + 1:>{width}}. {name}")
        lines.append(f"  {'':>{width}}  {c.answers} answers, {c.distinct} distinct{meta}: {what}")
    return "\n".join(lines)


# --- drafting the study file and codebook -------------------------------------------------

_WAVE_WORDS = (("followup", r"follow[-_ ]?up|later|nameting|retention"),
               ("post", r"post|after|evaluat|exit|\bna\b|achteraf|feedback"),
               ("pre", r"pre|before|intake|registration|voor|vooraf|baseline"))


def guess_wave(path) -> str | None:
    """The wave a file name suggests, if any.

    Examples
    --------
    >>> guess_wave("raw/pre_google_forms.csv"), guess_wave("x/followup.xlsx"), guess_wave("2018/lund.csv")
    ('pre', 'followup', None)
    """
    stem = Path(path).stem.casefold().replace("_", " ")
    for wave, pattern in _WAVE_WORDS:
        if re.search(pattern, stem):
            return wave
    return None


def _slug(text: str, taken: set, limit: int = 32) -> str:
    words = [w for w in re.sub(r"[^0-9a-z]+", " ", normalise_text(re.sub(r"<[^>]+>", " ", text))).split()
             if w not in {"the", "a", "an", "of", "you", "your", "do", "is", "are", "what", "which", "how",
                          "de", "het", "een", "van", "u", "uw", "je", "wat", "welke", "hoe", "to", "in", "i"}]
    name = ""
    for w in words or ["column"]:
        if len(name) + len(w) + 1 > limit and name:
            break
        name = f"{name}_{w}" if name else w
    if name[0].isdigit():
        name = "q_" + name
    base, k = name, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


@dataclass
class _Var:
    """A drafted variable: what the codebook entry says, and where it came from."""

    name: str
    role: str
    waves: list
    match: dict
    files: set
    scale: str | None = None
    pii: bool = False
    optional: bool = False
    options: list | None = None
    separator: str | None = None
    layout: str | None = None
    todo: str | None = None
    question: str = ""
    label: str | None = None
    grid: tuple | None = None  # (pattern, statement)


def _grid_of(question: str) -> tuple[str, str] | None:
    """(pattern with {item}, statement) when a question is one statement of a grid."""
    for rule in _GRID:
        m = rule.match(question)
        if m and not m.group("item").strip().isdigit():
            start, end = m.span("item")
            return question[:start] + "{item}" + question[end:], m.group("item").strip()
    return None


def _shared_wording(variables: list, taken: set) -> None:
    """Adjacent items on one scale whose questions differ only in a middle part become one grid.

    ("Since the workshop, have you used social media for networking in your work?" and
    "... for branding in your work?" -> pattern "... for {item} in your work?")
    """
    def run_key(v):
        return (v.role, v.scale, tuple(v.waves)) if v.role == "item" and v.scale and not v.grid else None

    k = 0
    while k < len(variables):
        key = run_key(variables[k])
        end = k
        while key and end + 1 < len(variables) and run_key(variables[end + 1]) == key:
            end += 1
        run = variables[k:end + 1]
        if len(run) >= 2:
            texts = [v.question for v in run]
            prefix = os.path.commonprefix(texts)
            suffix = os.path.commonprefix([t[::-1] for t in texts])[::-1]
            prefix = prefix[: prefix.rfind(" ") + 1] if " " in prefix else ""  # whole words
            suffix = suffix[suffix.find(" "):] if " " in suffix else ""
            middles = [t[len(prefix): len(t) - len(suffix)].strip() for t in texts]
            if len(prefix) >= 15 and all(middles) and len(set(middles)) == len(middles):
                for v, middle in zip(run, middles):
                    v.grid = (prefix + "{item}" + suffix, middle)
                    taken.discard(v.name)
                    v.name = _slug(middle, taken)
        k = end + 1


def _draft_scale(labels: list[str]) -> list[dict]:
    """Levels of a scale the suite did not know: negative labels first, positive last (a guess)."""
    def rank(label):
        return 0 if _NEGATIVE.match(label) else 2 if _POSITIVE.match(label) else 1
    ordered = sorted(labels, key=rank)  # stable: first seen within a rank
    return [{"code": k, "en": label} for k, label in enumerate(ordered, 1)]


def _merge_kind(infos: list[ColumnInfo]) -> ColumnInfo:
    """One question seen in several exports, described from all their answers together."""
    if len(infos) == 1:
        return infos[0]
    pooled: Counter = Counter()
    for c in infos:
        pooled.update(c.counts)
    first = max(infos, key=lambda c: c.answers)
    merged = _classify(first.column, first.question, pooled, first.meta)
    if merged.kind == "option":  # one label everywhere, but not in a run of options: a yes/blank question
        merged.kind = "category"
        merged.detail = {"values": list(pooled), "not_shown": 0}
    return merged


def _header_family(column: str) -> str | None:
    """The first word of a code-like header (``rating`` of ``rating_overall``), if it is one."""
    m = re.match(r"^([A-Za-z]+)_[A-Za-z0-9_]+$", column.strip())
    return m.group(1).casefold() if m else None


def draft_study(exports: list[tuple[Path, str]], out, formats: dict | None = None) -> tuple[str, str]:
    """Draft ``study.yaml`` and ``codebook.yaml`` texts for exports and their waves.

    Parameters
    ----------
    exports : list of (path, wave)
        The exports, each with the wave it belongs to.
    out : path-like
        Folder the drafts are for: source paths are written relative to it.
    formats : dict, optional
        path -> format, for exports whose format is given rather than detected.

    Returns
    -------
    (study, codebook) : tuple of str
        YAML texts with ``# TODO:`` comments where a person must decide.
    """
    out = Path(out)
    formats = formats or {}
    order = {w: k for k, w in enumerate(("pre", "post", "followup"))}
    exports = sorted(exports, key=lambda pw: order.get(pw[1], len(order)))  # (stable: files in given order)
    infos = [(Path(p), wave, inspect_export(p, formats.get(str(p)))) for p, wave in exports]
    waves = list(dict.fromkeys(w for _, w, _ in infos))
    # one e-mail variable over all exports (it links the waves) where each has one e-mail question
    one_email = all(sum(c.kind == "email" and not c.meta for c in info.columns) <= 1 for _, _, info in infos)
    taken: set = set()
    variables: list[_Var] = []
    by_question: dict = {}  # (normalised question, kind family) -> _Var
    scales: dict = {}  # name -> levels
    drafted_scales: dict = {}  # tuple(labels) -> name
    scale_todo: dict = {}

    def scale_for(info: ColumnInfo) -> str:
        d = info.detail
        if d["scale"] in KNOWN_SCALES:
            scales.setdefault(d["scale"], KNOWN_SCALES[d["scale"]])
        elif d["scale"].startswith("rating"):
            scales.setdefault(d["scale"], [{"code": int(x), "en": x} for x in d["labels"]])
            scale_todo[d["scale"]] = (f"numbers {d['labels'][0]}..{d['labels'][-1]} seen: check the ends of the "
                                      "scale and what they mean (add labels in words if the survey showed any)")
        return d["scale"]

    for path, wave, info in infos:
        cols = info.columns
        counts = Counter(normalise_text(c.question) for c in cols)
        in_block = {k for a, b in info.option_blocks for k in range(a, b + 1)}
        for n, (a, b) in enumerate(info.option_blocks):
            labels = [c.detail["label"] if c.kind == "option" else _SUFFIX.sub("", c.column).strip()
                      for c in cols[a:b + 1]]
            key = ("options", tuple(normalise_text(x) for x in labels))
            var = by_question.get(key)
            if var is None:
                var = _Var(_slug("choice " + " ".join(labels[:2]), taken), "multiselect", [], {}, set(),
                           options=labels, layout="columns")
                var.any = [k for k, c in enumerate(cols[a:b + 1]) if _OTHER.match(c.column)]
                var.todo = ("name this multi-select after its question (the export heads its columns by the "
                            "options only)")
                by_question[key] = var
                variables.append(var)
            var.files.add(path)
            if wave not in var.waves:
                var.waves.append(wave)
        for k, c in enumerate(cols):
            if k in in_block:
                continue
            q = normalise_text(c.question)
            ambiguous = counts[q] > 1
            family = "personal" if c.kind in ("email", "name", "location", "identifier") else "answer"
            key = ("ambiguous" if ambiguous else "question", q, family)
            if c.kind == "email" and not c.meta and one_email and not ambiguous:
                key = ("email",)
            var = by_question.get(key)
            if var is None:
                var = _Var("", "", [], {}, set(), question=c.question)
                var.infos = []
                by_question[key] = var
                variables.append(var)
                var.ambiguous = ambiguous
            var.files.add(path)
            var.infos.append(c)
            if wave not in var.waves:
                var.waves.append(wave)

    # numbers under a header family where others are ratings (rating_overall beside rating_structure)
    merged = {id(v): _merge_kind(v.infos) for v in variables if v.role != "multiselect"}
    ratings = {}
    for v in variables:
        info = merged.get(id(v))
        if info is not None and info.kind == "scale" and info.detail["scale"].startswith("rating"):
            family = _header_family(info.column)
            if family:
                ratings[family] = max(ratings.get(family, 0), int(info.detail["labels"][-1]))
    for v in variables:
        info = merged.get(id(v))
        family = _header_family(info.column) if info is not None and info.kind == "number" else None
        if family in ratings and all(re.fullmatch(r"\d{1,2}", x) and int(x) <= ratings[family] for x in info.counts):
            low = 0 if "0" in info.counts else 1
            info.kind = "scale"
            info.detail = {"scale": f"rating{low}_{ratings[family]}", "language": None,
                           "labels": [str(n) for n in range(low, ratings[family] + 1)], "missing": [], "unknown": 0}

    # decide each variable from its columns
    for var in variables:
        if var.role == "multiselect":
            continue
        info = merged[id(var)]
        kind = info.kind
        question = info.question
        if var.ambiguous:
            var.name = _slug(question + " columns", taken)
            var.role, var.match = "ignore", {"normalised": [question]}
            var.todo = (f"{len(var.infos) // max(1, len(var.files))}+ columns share the header {_short(question, 40)!r}"
                        " (write-ins beside other questions?): give each a variable of its own, matched by "
                        "regex on its header, or leave them ignored")
            var.pii = False
            continue
        questions = list(dict.fromkeys(c.question for c in var.infos))
        if all(c.column == c.question for c in var.infos) and len(questions) == 1:
            var.match = {"text": questions}
        else:
            var.match = {"normalised": list(dict.fromkeys(normalise_text(q) for q in questions))}
            var.match["normalised"] = questions[:1] + [q for q in questions[1:]
                                                       if normalise_text(q) != normalise_text(questions[0])]
        grid = _grid_of(question)
        var.name = _slug("email" if len(questions) > 1 and kind == "email" else grid[1] if grid else question, taken)
        if info.meta and kind not in ("timestamp",):
            var.role, var.pii = "ignore", kind in ("email", "name", "location")
            var.todo = None
            continue
        if kind == "email":
            var.role, var.pii = "identifier", True
        elif kind == "name":
            var.role, var.pii = "identifier", True
        elif kind == "location":
            var.role, var.pii = "ignore", True
        elif kind == "identifier":
            var.role = "identifier"
        elif kind == "timestamp":
            var.role = "timestamp"
        elif kind == "number":
            var.role = "number"
        elif kind == "scale":
            var.role, var.scale = "item", scale_for(info)
            var.grid = grid
            if var.scale == "yesno" and re.search(r"(?i)\b(consent|agree that|toestemming|akkoord)\b", question):
                var.todo = ("consent? then role consent: rows not answering its highest level (Yes) are set aside")
        elif kind == "multiselect":
            var.role, var.separator, var.layout = "multiselect", info.detail["separator"], "joined"
            var.options = list(info.detail["options"])
            if info.detail.get("rare"):
                var.todo = ("answers that are none of these options are logged as 'unknown option': add any "
                            "option missing here")
        elif kind == "group":
            var.role = "group"
        elif kind == "category":
            missing = {normalise_text(x) for labels in MISSING.values() for x in labels}
            labels = [v for v in info.detail.get("values", []) if normalise_text(v) not in missing]
            shown_all = info.detail.get("not_shown", 0) == 0
            if 2 <= len(labels) <= 7 and shown_all:
                tag = tuple(sorted(normalise_text(x) for x in labels))
                if tag not in drafted_scales:
                    name = _slug(var.name + " scale", taken)
                    drafted_scales[tag] = name
                    scales[name] = _draft_scale(labels)
                    scale_todo[name] = ("a scale drafted from the answers seen: put its levels in order, lowest "
                                        "first, and rename it; if the answers have no order, make the variables "
                                        "using it role text and delete this scale")
                var.role, var.scale = "item", drafted_scales[tag]
                var.grid = grid
                if len(labels) == 2 and re.search(r"(?i)\b(consent|agree that|toestemming|akkoord)\b", question):
                    var.todo = ("consent? then role consent: rows not answering its highest level are set aside")
            else:
                var.role = "text"
                var.todo = "answers from a list: a group (role group), or a scale if they are ordered?"
        elif kind == "empty":
            var.role = "ignore"
            var.todo = "no answers in any export: delete, or give it its role"
        else:
            var.role = "text"
        if var.grid and var.scale is None:
            var.grid = None
    _shared_wording(variables, taken)
    # optional: a variable absent from some export of its waves
    for var in variables:
        files_of_waves = {p for p, w, _ in infos if w in var.waves}
        var.optional = bool(files_of_waves - var.files)
        var.waves = [w for w in waves if w in var.waves]

    return (_study_text(infos, waves, variables, out),
            _codebook_text(infos, variables, scales, scale_todo))


def _q(value) -> str:
    """A YAML scalar or flow collection on one line."""
    return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000).strip().removesuffix(
        "\n...").removesuffix("...").strip()


def _codebook_text(infos, variables: list[_Var], scales: dict, scale_todo: dict) -> str:
    files = ", ".join(p.name for p, _, _ in infos)
    lines = ["# Drafted by `python -m analysis init` from " + _short(files, 200) + ".",
             "# Every `# TODO:` says what to decide; the draft cleans as it is. The format: docs/codebook.md.",
             "version: 1"]
    if scales:
        lines.append("scales:")
        for name, levels in scales.items():
            if name in scale_todo:
                lines.append(f"  # TODO: {scale_todo[name]}")
            lines.append(f"  {name}:")
            lines.append("    levels:")
            for level in levels:
                lines.append(f"      - {_q(level)}")
            if name in KNOWN_SCALES or not name.startswith("rating"):
                lines.append(f"    missing: {_q({k: list(v) for k, v in MISSING.items()})}")
    lines.append("variables:")
    grids: dict = {}
    for var in variables:
        if var.grid:
            grids.setdefault((var.grid[0], var.scale, tuple(var.waves), var.optional), []).append(var)
    written = set()
    for var in variables:
        if var.name in written:
            continue
        group = grids.get((var.grid[0], var.scale, tuple(var.waves), var.optional)) if var.grid else None
        if group and len(group) >= 2:
            name = _slug_block(var.grid[0], written)
            lines.append("  # TODO: name the construct these statements measure (construct: ... here, or per item)"
                         " and mark reverse-keyed items ({text: ..., reverse: true})")
            lines.append(f"  {name}:")
            lines.append(f"    pattern: {_q(var.grid[0])}")
            lines.append(f"    scale: {var.scale}")
            lines.append(f"    waves: {_q(var.waves)}")
            if var.optional:
                lines.append("    optional: true")
            lines.append("    items:")
            for item in group:
                lines.append(f"      {item.name}: {_q(item.grid[1])}")
                written.add(item.name)
            continue
        written.add(var.name)
        if var.todo:
            lines.append(f"  # TODO: {var.todo}")
        elif var.role == "item":
            lines.append("  # TODO: the construct it measures (construct: ...), reverse: true if reverse-keyed,"
                         " or name it in an outcome")
        lines.append(f"  {var.name}:")
        lines.append(f"    role: {var.role}")
        if var.scale:
            lines.append(f"    scale: {var.scale}")
        if var.pii:
            lines.append("    pii: true")
        lines.append(f"    waves: {_q(var.waves)}")
        if var.optional:
            lines.append("    optional: true")
        if var.layout == "columns":
            lines.append("    layout: columns")
            lines.append("    options:")
            for k, label in enumerate(var.options):
                if k in var.any:
                    lines.append(f"      - {_q({'key': _option_key(label) + '_text', 'en': label, 'any_text': True})}"
                                 "   # its cells hold what people typed")
                else:
                    lines.append(f"      - {_q(label)}")
            continue
        lines.append(f"    match: {_q(var.match)}")
        if var.role == "multiselect":
            lines.append(f"    separator: {_q(var.separator)}")
            lines.append(f"    options: {_q(var.options)}")
    return "\n".join(lines) + "\n"


def _slug_block(pattern: str, taken: set) -> str:
    return _slug(pattern.replace("{item}", "") + " grid", taken)


def _study_text(infos, waves: list, variables: list[_Var], out: Path) -> str:
    lines = ["# Drafted by `python -m analysis init`. Every `# TODO:` says what to decide; the draft cleans as it is.",
             "study: TODO title of the study   # TODO: the study's title, as reports show it",
             "codebook: codebook.yaml"]
    ids = [v for v in variables if v.role == "identifier" and not v.optional]
    linking = [v for v in ids if set(v.waves) == set(waves)]
    linking.sort(key=lambda v: 0 if v.pii and "mail" in v.name else 1)
    if linking and len(waves) > 1:
        lines.append(f"participant_key: {linking[0].name}   # TODO: check that this identifier links a person's "
                     "answers across the waves")
    else:
        lines.append("# TODO: participant_key: <identifier variable>  (none is asked in every wave: each row "
                     "counts as its own participant)")
    lines.append(f"waves: {_q(waves)}")
    lines.append("sources:")
    for path, wave, info in infos:
        rel = os.path.relpath(path.resolve(), out.resolve())
        entry = {"path": rel, "wave": wave, "format": info.format}
        if info.na_values:
            entry["na_values"] = list(info.na_values)
        lines.append(f"  - {_q(entry)}   # format: {_short(info.why, 90)}")
        if guess_wave(path) is None and len(infos) > 1:
            lines.append(f"    # TODO: check the wave: nothing in the file name says which it is (--wave {wave}=FILE)")
    groups = [v for v in variables if v.role == "group"]
    if groups:
        lines.append("groups:")
        lines.append(f"  workshop: {groups[0].name}")
        lines.append("  # TODO: which entry point each session used, by exact label and/or by pattern:")
        lines.append(f"  # entry_point: {{from: {groups[0].name}, map: {{'<session label>': strategy-first}}, "
                     "patterns: {'(?i)online': tool-first}}")
    else:
        lines.append("# TODO: groups: {workshop: <variable naming the session>, entry_point: {from: ..., map: {...}}}")
    lines.append("# TODO: analysis: {readiness: [<constructs measured in the first wave>]}  (profiles and the "
                 "comparison stay 'not available' until constructs are named)")
    return "\n".join(lines) + "\n"


def wave_plan(paths: list[str], given: list[str]) -> list[tuple[Path, str]]:
    """Each export with its wave: ``--wave WAVE=FILE`` first, then the file name, else the first wave.

    Raises
    ------
    InputError
        A ``--wave`` that is not ``WAVE=FILE`` or names a file not among the exports.
    """
    chosen = {}
    for spec in given:
        wave, sep, file = spec.partition("=")
        if not sep or not wave.strip() or not file.strip():
            raise InputError("command line", f"--wave WAVE=FILE (e.g. pre=a.csv), got {spec!r}", column="--wave")
        hits = [p for p in paths if Path(p) == Path(file) or Path(p).name == file or Path(p).match(file)]
        if not hits:
            raise InputError("command line", f"a file among the exports for --wave {spec!r}", column="--wave")
        for p in hits:
            chosen[p] = wave.strip()
    out = []
    for p in paths:
        out.append((Path(p), chosen.get(p) or guess_wave(p) or "pre"))
    return out


def write_drafts(paths: list[str], out, waves: list[str] = (), force: bool = False) -> list[Path]:
    """Write ``study.yaml`` and ``codebook.yaml`` drafted from ``paths`` into ``out``; return their paths.

    Raises
    ------
    InputError
        A draft that would overwrite an existing file (unless ``force``).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    targets = [out / "study.yaml", out / "codebook.yaml"]
    for target in targets:
        if target.exists() and not force:
            raise InputError(target, "a folder without a study.yaml or codebook.yaml (use --force to overwrite)")
    study, codebook = draft_study(wave_plan(list(paths), list(waves)), out)
    targets[0].write_text(study, encoding="utf-8")
    targets[1].write_text(codebook, encoding="utf-8")
    return targets
