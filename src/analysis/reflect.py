"""Reflect: code the scrubbed free-text reflections, check the coding, and count the codes.

Every answer to a ``role: text`` variable, its slots and write-ins (after
:mod:`analysis.protect`: the text is scrubbed; write-ins beside closed
questions are not reflections, see :func:`text_variables`) is coded with a
small, readable lexicon:

1. **Junk first.** An answer with no letters ("-", "...", an emoji), a known
   non-answer ("n.v.t.", "geen", "nothing", "no comment") or keyboard mash
   ("asdf") gets no code at all.
2. **Language** per answer (Dutch or English) with ``py3langid``, which ships
   its model; words are lemmatised with ``simplemma`` in that language.
3. **Cues.** Each code (:data:`DEFAULT_CODES`, from ``codes.yaml`` beside this
   module, extended or replaced by a codebook's ``codes:`` section) lists cue
   words and phrases per language: a word matches the word or its lemma, a
   ``*`` makes it a stem, ``=`` the word as written only (not its lemma: Dutch
   "beter" has the lemma "goed"), ``..`` allows up to three words between. Cues of
   every language are tried, as short answers are often misjudged.
4. **Negation scope.** A negation in the same clause before the cue (up to
   three words: "not", "niet", "geen", "no longer"...), or a Dutch "niet" or
   "nooit" up to three words after it ("ik durf het niet"), negates the cue;
   a negated cue gives the code its definition names (``negated``: fear
   negated is courage, praise negated is criticism) or none.

The stage writes, through the leak gate, ``reflections.csv`` (one row per code
or tool found, with the cue that matched and who coded it), ``coding_sheet.xlsx``
(one row per reflection: the scrubbed text, the suggested codes as 0/1, empty
columns for a human coder; a filled-in sheet may come back as ``.xlsx`` or ``.csv``), ``reflection_shares.csv`` (share of participants
with each code per entry point and readiness profile, with intervals over
sessions), ``reflection_quotes.csv``, ``reflection_agreement.csv`` and
``reflections.json``. Filled-in sheets named by the study file
(``human_codes:``) are read back: agreement is reported per code (Cohen's
kappa; Krippendorff's alpha across all coders), and the human codes replace
the suggestions where they exist.

Examples
--------
>>> coder = Coder.default()
>>> c = coder.code("Ik vond het helemaal niet eng om op LinkedIn te posten!")
>>> c.language, sorted(c.codes), sorted(c.tools)
('nl', ['guts_courage'], ['linkedin'])
>>> coder.code("n.v.t.").junk, coder.code("n.v.t.").codes
(True, {})
>>> sorted(coder.code("I'm not afraid anymore, and I will write a blog every week.").codes)
['focus_goal', 'guts_courage']
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from analysis.errors import InputError

CODES_FILE = Path(__file__).with_name("codes.yaml")
#: Languages detected and lemmatised.
LANGUAGES = ("nl", "en")
#: Marked on a share whose cell has too few people or sessions (as the comparison marks them).
TOO_FEW = "too few to interpret"
#: Longest quote shown, in characters.
QUOTE_CHARS = 140
#: Quotes per code at most.
QUOTES_PER_CODE = 2

#: Whole answers that are not answers (after lower-casing and trimming punctuation and spaces).
JUNK = frozenset({
    "", "n.v.t", "nvt", "n v t", "n.v.t.", "nvt.", "geen", "geen opmerkingen", "geen opmerking", "niets", "niks",
    "nee", "nope", "no", "none", "nothing", "nothing to add", "nothing else", "n/a", "na", "no comment",
    "no comments", "idem", "x", "xx", "xxx", "test", "ok", "oke", "-", "--", "?", "...", ".", "asdf", "qwerty",
    "geen idee", "weet niet", "weet ik niet", "no idea", "nvt geen", "niet van toepassing", "not applicable",
})
_MASH = re.compile(r"^(?:[asdfghjkl]{4,}|[qwertyuiop]{4,}|[zxcvbnm]{4,}|(.)\1{3,})$")
_VOWELS = set("aeiouy")

NEGATORS = frozenset({"not", "no", "never", "nor", "without", "hardly", "cannot", "niet", "geen", "nooit",
                      "nauwelijks", "allerminst", "zonder"})
#: Negations that may follow the cue in Dutch word order ("ik durf het niet").
NEGATORS_AFTER = frozenset({"niet", "nooit"})
CLAUSE_BREAKS = frozenset({"but", "though", "although", "because", "that", "and", "while", "whereas",
                           "maar", "want", "omdat", "dat", "en", "hoewel", "toch", "terwijl"})
_TOKEN = re.compile(r"\[[a-z]+\]|[a-z0-9]+(?:'[a-z]+)?")
_CLAUSE = re.compile(r"[.,;:!?()\n]+")
WINDOW = 3


# --- text ---------------------------------------------------------------------------

def normalise(text: str) -> str:
    """Lower case, accents removed, curly apostrophes straight.

    >>> normalise("Ideeën  Uitwisselen’s")
    "ideeen  uitwisselen's"
    """
    text = unicodedata.normalize("NFKD", str(text).casefold().replace("\u2019", "'").replace("`", "'"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def tokens(text: str) -> list[str]:
    """Words of a normalised text (placeholders such as ``[name]`` are one word).

    >>> tokens(normalise("Don't  co-create with [NAME]!"))
    ["don't", 'co', 'create', 'with', '[name]']
    """
    return _TOKEN.findall(text)


def is_junk(text) -> bool:
    """An answer that says nothing: no letters, a known non-answer, or keyboard mash.

    >>> [is_junk(t) for t in ("-", "N.v.t.", "Nothing.", "asdf", "\\U0001F44D", "Leuk!", "geen tijd gehad")]
    [True, True, True, True, True, False, False]
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return True
    norm = normalise(text).strip()
    letters = [ch for ch in norm if ch.isalpha()]
    if not letters:
        return True
    bare = re.sub(r"[\s.!?,;:\-_/]+$", "", re.sub(r"^[\s.!?,;:\-_/]+", "", norm))
    if bare in JUNK or bare.replace(".", "") in JUNK or re.sub(r"\s+", " ", bare) in JUNK:
        return True
    words = tokens(norm)
    if len(words) == 1 and (_MASH.match(words[0]) or (len(words[0]) >= 4 and not set(words[0]) & _VOWELS)):
        return True
    return False


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE)
    ident.set_languages(list(LANGUAGES))
    return ident


def detect_language(text: str) -> str:
    """``nl`` or ``en`` (py3langid restricted to the two).

    >>> detect_language("Ik ga vaker lezen wat vakgenoten delen"), detect_language("I will share more")
    ('nl', 'en')
    """
    return _identifier().classify(str(text))[0]


@lru_cache(maxsize=20000)
def _lemma(word: str, language: str) -> str:
    import simplemma

    if word.startswith("["):
        return word
    return normalise(simplemma.lemmatize(word, lang=language))


# --- cues and codes -----------------------------------------------------------------

@dataclass(frozen=True)
class Cue:
    """One cue: its text as written and its words (``*`` stems, ``..`` gaps)."""

    text: str
    words: tuple

    @classmethod
    def parse(cls, text: str) -> Cue:
        words = []
        for part in normalise(text).split():
            if part == "..":
                words.append("..")
            elif part.startswith("=") and len(part) > 1:
                words.append(part)
            else:
                stem = part.endswith("*")
                words += [w + ("*" if stem and k == len(tokens(part)) - 1 else "")
                          for k, w in enumerate(tokens(part.rstrip("*")))]
        if not words or words[0] == ".." or words[-1] == "..":
            raise ValueError(f"cue {text!r} has no words, or starts or ends with '..'")
        return cls(str(text), tuple(words))

    def find(self, words: list[str], lemmas: list[str]) -> list[tuple[int, int]]:
        """(start, end) of each place the cue matches in a clause."""
        found = []
        for start in range(len(words)):
            end = self._match(words, lemmas, start, 0)
            if end is not None:
                found.append((start, end))
        return found

    def _match(self, words, lemmas, at: int, k: int):
        if k == len(self.words):
            return at
        cue = self.words[k]
        if cue == "..":
            for skip in range(0, WINDOW + 1):
                end = self._match(words, lemmas, at + skip, k + 1)
                if end is not None:
                    return end
            return None
        if at >= len(words) or not _word_matches(cue, words[at], lemmas[at]):
            return None
        return self._match(words, lemmas, at + 1, k + 1)


def _word_matches(cue: str, word: str, lemma: str) -> bool:
    if cue.startswith("="):
        return word == cue[1:]
    if cue.endswith("*"):
        return word.startswith(cue[:-1]) or lemma.startswith(cue[:-1])
    return word == cue or lemma == cue


@dataclass(frozen=True)
class Code:
    """One code: its name, label per language, definition, cues per language, and what its negation gives."""

    name: str
    label: dict
    definition: str
    cues: dict
    negated: str | None = None

    def shown(self, language: str = "en") -> str:
        return self.label.get(language) or self.label.get("en") or self.name


@dataclass
class Coded:
    """The coding of one answer."""

    text: str
    language: str | None
    junk: bool
    #: code -> the cue that matched first (negated cues written ``not <cue>``).
    codes: dict = field(default_factory=dict)
    tools: dict = field(default_factory=dict)


def _clauses(text: str) -> list[list[str]]:
    out = []
    for piece in _CLAUSE.split(text):
        clause = []
        for word in tokens(piece):
            if word in CLAUSE_BREAKS:
                if clause:
                    out.append(clause)
                clause = []
            else:
                clause.append(word)
        if clause:
            out.append(clause)
    return out


def _is_negator(word: str) -> bool:
    return word in NEGATORS or word.endswith("n't") or word in ("dont", "didnt", "doesnt", "wasnt", "isnt", "cant",
                                                                  "wont", "longer")


class Coder:
    """The lexicon coder: codes, tools, and how they match (see the module docstring)."""

    def __init__(self, codes: dict, tools: dict):
        self.codes = codes
        self.tools = tools
        self._memo: dict = {}  # (clause, language) -> its matches (:meth:`_clause_matches`)
        for code in codes.values():
            if code.negated is not None and code.negated not in codes:
                raise ValueError(f"code {code.name!r}: negated names an unknown code {code.negated!r}")

    @classmethod
    def default(cls) -> Coder:
        return cls(*_parse_codes(yaml.safe_load(CODES_FILE.read_text(encoding="utf-8")), CODES_FILE))

    @classmethod
    def for_codebook(cls, codebook_path) -> Coder:
        """The default codes with a codebook's ``codes:`` (and ``tools:``) over them."""
        default = yaml.safe_load(CODES_FILE.read_text(encoding="utf-8"))
        codes, tools = _parse_codes(default, CODES_FILE)
        if codebook_path is None or not Path(codebook_path).is_file():
            return cls(codes, tools)
        data = yaml.safe_load(Path(codebook_path).read_text(encoding="utf-8")) or {}
        if not data.get("codes") and not data.get("tools"):
            return cls(codes, tools)
        own_codes, own_tools = _parse_codes(data, Path(codebook_path))
        if data.get("codes_replace_defaults"):
            codes, tools = {}, {} if data.get("tools") else tools
        codes.update(own_codes)
        tools.update(own_tools)
        return cls(codes, tools)

    @cached_property
    def _cues(self) -> list[tuple[str, str, Cue, str | None]]:
        """(kind, name, cue, negated code) for every cue of every language; longer cues first."""
        found = []
        for code in self.codes.values():
            for language, cues in code.cues.items():
                found += [("code", code.name, cue, code.negated) for cue in cues]
        for tool, cues in self.tools.items():
            found += [("tool", tool, cue, None) for cue in cues]
        return sorted(found, key=lambda x: -len(x[2].words))

    @cached_property
    def _first_words(self) -> tuple[dict, dict, dict]:
        """Which cues can start at a word: by the cue's first word (as written or as lemma), by the
        word as written only (``=``), and by stem length then stem (``*``); values are indices into
        :attr:`_cues`, so only those cues are tried on a clause (the same matches, far fewer tries)."""
        plain, written, stems = {}, {}, {}
        for k, (_, _, cue, _) in enumerate(self._cues):
            first = cue.words[0]
            if first.startswith("="):
                written.setdefault(first[1:], []).append(k)
            elif first.endswith("*"):
                stems.setdefault(len(first) - 1, {}).setdefault(first[:-1], []).append(k)
            else:
                plain.setdefault(first, []).append(k)
        return plain, written, stems

    def _candidates(self, clause: list[str], lemmas: list[str]) -> list[int]:
        """Indices of the cues whose first word matches some word of the clause, in :attr:`_cues` order."""
        plain, written, stems = self._first_words
        found = set()
        for word, lemma in zip(clause, lemmas):
            found.update(plain.get(word, ()))
            found.update(plain.get(lemma, ()))
            found.update(written.get(word, ()))
            for size, by_stem in stems.items():
                found.update(by_stem.get(word[:size], ()) if len(word) >= size else ())
                found.update(by_stem.get(lemma[:size], ()) if len(lemma) >= size else ())
        return sorted(found)

    def _clause_matches(self, clause: tuple, language: str) -> list[tuple[str, str, str]]:
        """(kind, code or tool, cue as found) of every cue in one clause, in cue order; the same clause
        recurs across answers (a stock phrase), so each is matched once per language."""
        memo = self._memo
        key = (clause, language)
        if key in memo:
            return memo[key]
        cues, found = self._cues, []
        lemmas = [_lemma(w, language) for w in clause]
        for index in self._candidates(clause, lemmas):
            kind, name, cue, negated = cues[index]
            for start, end in cue.find(clause, lemmas):
                before = clause[max(0, start - WINDOW): start]
                after = clause[end: end + WINDOW]
                inside = any(_is_negator(w) for w in clause[start:end])
                neg = kind == "code" and not inside and (
                    any(_is_negator(w) for w in before) or any(w in NEGATORS_AFTER for w in after))
                target = (negated if neg else name)
                if target is not None:
                    found.append((kind, target, ("not " if neg else "") + cue.text))
        if len(memo) < 200_000:  # bounded: a study of unique texts does not grow it without end
            memo[key] = found
        return found

    def code(self, text) -> Coded:
        """Code one answer."""
        if is_junk(text):
            return Coded("" if text is None or not isinstance(text, str) else text, None, True)
        language = detect_language(text)
        coded = Coded(text, language, False)
        for clause in _clauses(normalise(text)):
            for kind, target, cue in self._clause_matches(tuple(clause), language):
                (coded.codes if kind == "code" else coded.tools).setdefault(target, cue)
        return coded


def _parse_codes(data: dict, path: Path) -> tuple[dict, dict]:
    codes = {}
    for name, spec in (data.get("codes") or {}).items():
        if not isinstance(spec, dict) or "cues" not in spec:
            raise InputError(path, "a code with label, definition and cues per language", column=f"codes.{name}")
        label = spec.get("label") or name
        label = label if isinstance(label, dict) else {"en": str(label)}
        cues = {}
        for language, words in (spec.get("cues") or {}).items():
            try:
                cues[str(language)] = tuple(Cue.parse(str(w)) for w in words or ())
            except ValueError as exc:
                raise InputError(path, str(exc), column=f"codes.{name}.cues.{language}") from None
        codes[str(name)] = Code(str(name), label, str(spec.get("definition", "")), cues, spec.get("negated"))
    tools = {}
    for name, words in (data.get("tools") or {}).items():
        tools[str(name)] = tuple(Cue.parse(str(w)) for w in words or ())
    return codes, tools


#: The codes the suite ships (``codes.yaml``).
DEFAULT_CODES = tuple(Coder.default().codes)


# --- agreement ----------------------------------------------------------------------

def cohen_kappa(a, b) -> float:
    """Cohen's kappa of two raters' labels (NaN when chance agreement is 1).

    Checked against :func:`sklearn.metrics.cohen_kappa_score` in the tests.

    >>> round(cohen_kappa([1, 1, 0, 0, 1, 0], [1, 0, 0, 0, 1, 1]), 4)
    0.3333
    """
    a, b = np.asarray(a), np.asarray(b)
    if len(a) == 0:
        return math.nan
    labels = np.union1d(a, b)
    po = float(np.mean(a == b))
    pe = float(sum(np.mean(a == x) * np.mean(b == x) for x in labels))
    return math.nan if pe == 1 else (po - pe) / (1 - pe)


def krippendorff_alpha(ratings) -> float:
    """Krippendorff's alpha for nominal data; ``ratings`` is raters x units, NaN where a rater gave none.

    Units with fewer than two ratings are left out (Krippendorff 2011, "Computing
    Krippendorff's alpha-reliability", the coincidence-matrix method).

    >>> nan = float("nan")  # Krippendorff (2011), section C: four coders, twelve units: alpha = 0.743
    >>> r = [[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan], [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    ...      [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan], [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]
    >>> round(krippendorff_alpha(r), 3)
    0.743
    """
    data = np.asarray(ratings, dtype=float)
    values = np.unique(data[~np.isnan(data)])
    if len(values) < 2:
        return math.nan
    index = {v: k for k, v in enumerate(values)}
    o = np.zeros((len(values), len(values)))
    for unit in data.T:
        vals = unit[~np.isnan(unit)]
        m = len(vals)
        if m < 2:
            continue
        counts = np.zeros(len(values))
        for v in vals:
            counts[index[v]] += 1
        o += (np.outer(counts, counts) - np.diag(counts)) / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    if n <= 1:
        return math.nan
    observed = n - np.trace(o)
    expected = (n * n - np.sum(n_c ** 2)) / (n - 1)
    return math.nan if expected == 0 else float(1 - observed / expected)


def code_metrics(truth: pd.DataFrame, predicted: pd.DataFrame, codes=None) -> pd.DataFrame:
    """Per code: support, precision, recall, F1 and Cohen's kappa of 0/1 tables of the same reflections.

    ``truth`` and ``predicted`` share their index (one row per reflection) and
    have a 0/1 column per code. A last row ``macro`` averages F1 (and kappa)
    over the codes with at least one true or predicted case.

    >>> t = pd.DataFrame({"a": [1, 1, 0, 0], "b": [0, 1, 0, 0]})
    >>> p = pd.DataFrame({"a": [1, 0, 0, 0], "b": [0, 1, 0, 1]})
    >>> m = code_metrics(t, p).set_index("code")
    >>> m.loc["a", ["precision", "recall"]].tolist(), float(round(m.loc["b", "f1"], 3)), float(round(m.loc["macro", "f1"], 3))
    ([1.0, 0.5], 0.667, 0.667)
    """
    codes = list(codes if codes is not None else truth.columns)
    rows = []
    for code in codes:
        t = truth[code].to_numpy(int) if code in truth else np.zeros(len(truth), int)
        p = predicted[code].to_numpy(int) if code in predicted else np.zeros(len(predicted), int)
        tp, fp, fn = int(((t == 1) & (p == 1)).sum()), int(((t == 0) & (p == 1)).sum()), int(((t == 1) & (p == 0)).sum())
        precision = tp / (tp + fp) if tp + fp else math.nan
        recall = tp / (tp + fn) if tp + fn else math.nan
        f1 = 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else math.nan
        rows.append({"code": code, "support": int(t.sum()), "predicted": int(p.sum()), "precision": precision,
                     "recall": recall, "f1": f1, "kappa": cohen_kappa(t, p)})
    table = pd.DataFrame(rows)
    used = table[(table["support"] > 0) | (table["predicted"] > 0)]
    macro = {"code": "macro", "support": int(table["support"].sum()), "predicted": int(table["predicted"].sum()),
             "precision": math.nan, "recall": math.nan, "f1": used["f1"].fillna(0).mean(),
             "kappa": used["kappa"].mean()}
    return pd.concat([table, pd.DataFrame([macro])], ignore_index=True)


# --- the coding of a study ---------------------------------------------------------

KEY = ["participant", "wave", "variable"]


def answers(data: pd.DataFrame, variables) -> pd.DataFrame:
    """Every non-empty answer to the free-text ``variables``: participant, wave, variable, text.

    >>> d = pd.DataFrame({"participant": ["P1", "P2"], "wave": ["post", "post"], "r": ["Leuk", None]})
    >>> answers(d, ["r"]).to_dict("records")
    [{'participant': 'P1', 'wave': 'post', 'variable': 'r', 'text': 'Leuk'}]
    """
    parts = []
    for var in variables:
        if var not in data:
            continue
        part = data[["participant", "wave", var]].rename(columns={var: "text"})
        part = part[part["text"].notna() & (part["text"].astype(str).str.strip() != "")]
        parts.append(part.assign(variable=var, text=part["text"].astype(str))[KEY + ["text"]])
    if not parts:
        return pd.DataFrame(columns=KEY + ["text"])
    return pd.concat(parts, ignore_index=True).sort_values(KEY, kind="stable").reset_index(drop=True)


def code_answers(texts: pd.DataFrame, coder: Coder) -> pd.DataFrame:
    """Code each answer: ``texts`` plus language, junk, codes (dict code -> cue), tools (dict).

    Each distinct text is coded once (the same words give the same codes).
    """
    once: dict = {}
    coded = [once[t] if t in once else once.setdefault(t, coder.code(t)) for t in texts["text"]]
    return texts.assign(language=[c.language for c in coded], junk=[c.junk for c in coded],
                        codes=[c.codes for c in coded], tools=[c.tools for c in coded])


def coding_sheet(coded: pd.DataFrame, codes) -> pd.DataFrame:
    """The sheet for human coders: one row per reflection, the suggestions as ``auto_<code>`` 0/1,
    an empty column per code for the coder (fill in 1 or 0; leave a whole row empty to skip it)."""
    sheet = coded[KEY + ["language", "junk", "text"]].copy()
    sheet["junk"] = sheet["junk"].astype(int)
    for code in codes:
        sheet[f"auto_{code}"] = [int(code in c) for c in coded["codes"]]
    sheet["auto_tools"] = [" ".join(sorted(t)) for t in coded["tools"]]
    for code in codes:
        sheet[code] = ""
    sheet["note"] = ""
    return sheet


#: The coding sheet's file name in the results folder.
SHEET_FILE = "coding_sheet.xlsx"
#: Date stamped into the workbook and its zip entries, so the same sheet gives the same bytes.
_STAMP = (2000, 1, 1, 0, 0, 0)


def sheet_workbook(sheet: pd.DataFrame, codes) -> bytes:
    """The coding sheet as an Excel workbook (bytes): the same sheet gives the same bytes.

    The header row is frozen, the text column wide and wrapped, the
    suggestions grey, and each coder column accepts only 0, 1 or nothing
    (Excel's and LibreOffice's data validation). Every text cell is stored as
    text, so an answer starting with ``=`` is never run as a formula.

    >>> sheet = pd.DataFrame({"participant": ["P1"], "wave": ["post"], "variable": ["r"], "text": ["=1+1"],
    ...                       "auto_networking": [1], "networking": [""]})
    >>> data = sheet_workbook(sheet, ["networking"])
    >>> data == sheet_workbook(sheet, ["networking"]), data[:2]
    (True, b'PK')
    >>> read_sheet_frame(data).loc[0, ["text", "auto_networking", "networking"]].tolist()
    ['=1+1', '1', '']
    """
    import io
    from datetime import datetime

    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook()
    wb.properties.created = wb.properties.modified = datetime(*_STAMP)
    wb.properties.creator = "analysis.reflect"
    ws = wb.active
    ws.title = "coding"
    columns = list(sheet.columns)
    ws.append(columns)

    def value(v):
        return (ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else
                (None if v is None or (isinstance(v, float) and math.isnan(v)) else
                 (int(v) if isinstance(v, (bool, np.integer)) else v)))

    # openpyxl makes the header and the first reflection's row (and so every style); the other rows'
    # XML is written directly in the same form (:func:`_sheet_rows`): openpyxl's cell objects cost
    # minutes per 100,000 reflections
    rows = sheet.itertuples(index=False)
    for row in [next(rows)] if len(sheet) else []:
        ws.append([value(v) for v in row])
    for cells in ws.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, even when it starts with "="
    bold, grey = Font(bold=True), PatternFill("solid", fgColor="EEEEEE")
    for cell in ws[1]:
        cell.font = bold
    ws.freeze_panes = "A2"
    coder = [k for k, c in enumerate(columns, 1) if c in set(codes)]
    for k, name in enumerate(columns, 1):
        letter = get_column_letter(k)
        ws.column_dimensions[letter].width = 60 if name == "text" else max(6, min(len(str(name)) + 2, 24))
        if name == "text":
            for cell in ws[letter][1:]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        elif str(name).startswith("auto_"):
            for cell in ws[letter][1:]:
                cell.fill = grey
    if coder and len(sheet):
        check = DataValidation(type="list", formula1='"0,1"', allow_blank=True, showErrorMessage=True,
                               errorTitle="0 or 1", error="Fill in 1 (the code applies), 0 (it does not) or nothing.")
        check.add(f"{get_column_letter(min(coder))}2:{get_column_letter(max(coder))}{len(sheet) + 1}")
        ws.add_data_validation(check)
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()  # not save_workbook: it stamps the time of saving
    # each column's style as the writer numbered it (asking earlier would number them first)
    styles = [ws.cell(2, k).style_id if ws.cell(2, k).has_style else None for k in range(1, len(columns) + 1)]
    fixed = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():  # zip entries carry the time they were written: stamp them
            data = src.read(item.filename)
            if item.filename == f"xl/worksheets/{ws.path.rsplit('/', 1)[-1]}" and len(sheet) > 1:
                last = f"{get_column_letter(len(columns))}{len(sheet) + 1}"
                data = data.replace(f'<dimension ref="A1:{get_column_letter(len(columns))}2" />'.encode(),
                                    f'<dimension ref="A1:{last}" />'.encode(), 1)
                body = _sheet_rows(([value(v) for v in row] for row in rows), styles, first_row=3)
                head, tail = data.split(b"</sheetData>", 1)
                data = head + body.encode("utf-8") + b"</sheetData>" + tail
            out.writestr(zipfile.ZipInfo(item.filename, date_time=_STAMP), data, compress_type=zipfile.ZIP_DEFLATED)
    return fixed.getvalue()


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _sheet_rows(rows, styles: list, first_row: int) -> str:
    """Worksheet rows as openpyxl writes them (inline strings, numbers; a cell without a value is left
    out unless styled); ``styles`` is each column's style id or None. ``tests/test_reflect.py`` checks the
    bytes against openpyxl's own."""
    from openpyxl.compat import safe_string
    from openpyxl.utils import get_column_letter

    letters = [get_column_letter(k) for k in range(1, len(styles) + 1)]
    starts = [f'<c r="{c}' for c in letters]
    marks = ["" if s is None else f' s="{s}"' for s in styles]
    out = []
    for r, row in enumerate(rows, first_row):
        out.append(f'<row r="{r}">')
        for start, mark, v in zip(starts, marks, row):
            if isinstance(v, str):
                v = v[:32767]  # openpyxl's limit
                if v == "":
                    out.append(f'{start}{r}"{mark} t="inlineStr" />')
                else:
                    stripped = v.strip()
                    space = ' xml:space="preserve"' if stripped and stripped != v else ""
                    out.append(f'{start}{r}"{mark} t="inlineStr"><is><t{space}>{_xml_text(v)}</t></is></c>')
            elif v is None:
                if mark:
                    out.append(f'{start}{r}"{mark} t="n" />')
            else:
                out.append(f'{start}{r}"{mark} t="n"><v>{safe_string(v)}</v></c>')
        out.append("</row>")
    return "".join(out)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_sheet_frame(source) -> pd.DataFrame:
    """A coding sheet as text cells (empty cells ``""``): an ``.xlsx`` workbook (its first sheet; a path
    or bytes) or a CSV file. A spreadsheet's numbers ``1.0`` read as ``"1"``."""
    import io

    if isinstance(source, bytes) or Path(source).suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(source) if isinstance(source, bytes) else source, read_only=True,
                           data_only=True)
        try:
            rows = [[_cell_text(v) for v in row] for row in wb.worksheets[0].iter_rows(values_only=True)]
        finally:
            wb.close()
        if not rows:
            return pd.DataFrame()
        header = [h.strip() for h in rows[0]]
        width = len(header)
        body = [(r + [""] * width)[:width] for r in rows[1:]]
        return pd.DataFrame(body, columns=header, dtype=object)
    return pd.read_csv(source, dtype=str, keep_default_na=False)


def read_sheet(path: Path, codes) -> pd.DataFrame:
    """A filled-in coding sheet (``.xlsx`` or ``.csv``): the rows a coder filled, indexed by participant,
    wave, variable, a 0/1 column per code (an empty cell in a filled row counts as 0)."""
    try:
        sheet = read_sheet_frame(path)
    except FileNotFoundError:
        raise InputError(path, "a filled-in coding sheet (named in the study file's human_codes)") from None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InputError(path, f"a coding sheet as .xlsx or .csv ({type(exc).__name__})") from None
    missing = [c for c in KEY + list(codes) if c not in sheet.columns]
    if missing:
        raise InputError(path, f"the coding sheet's columns (missing: {', '.join(missing)})")
    values = sheet[list(codes)].apply(lambda s: s.str.strip())
    bad = ~values.isin(["", "0", "1"])
    if bad.any().any():
        row, column = next((r, c) for c in values.columns for r in values.index[bad[c]])
        raise InputError(path, f"1, 0 or an empty cell, got {values.at[row, column]!r}", row=int(row) + 2,
                         column=column)
    filled = (values != "").any(axis=1)
    out = values[filled].replace("", "0").astype(int)
    out.index = pd.MultiIndex.from_frame(sheet.loc[filled, KEY])
    return out


def human_code_files(study) -> dict[str, Path]:
    """Coder name -> filled-in sheet, from the study file's ``human_codes:`` (a list, or a mapping)."""
    data = yaml.safe_load(Path(study.path).read_text(encoding="utf-8")) or {}
    spec = data.get("human_codes") or {}
    if isinstance(spec, (str, list)):
        spec = {Path(p).stem: p for p in ([spec] if isinstance(spec, str) else spec)}
    if not isinstance(spec, dict):
        raise InputError(study.path, "a list of coding sheets, or coder: sheet", column="human_codes")
    return {str(name): (study.root / str(p)).resolve() for name, p in spec.items()}


def auto_table(coded: pd.DataFrame, codes) -> pd.DataFrame:
    """0/1 per code per reflection, indexed by participant, wave, variable."""
    table = pd.DataFrame({c: [int(c in x) for x in coded["codes"]] for c in codes})
    table.index = pd.MultiIndex.from_frame(coded[KEY])
    return table


def agreement(auto: pd.DataFrame, humans: dict[str, pd.DataFrame], codes) -> pd.DataFrame:
    """Per code (and ``all``): Cohen's kappa of the auto-coder with each coder and between coders,
    on the reflections both coded; Krippendorff's alpha across every rater.

    Columns: code, rater_a, rater_b, n, agreement (share equal), kappa, alpha.
    """
    raters = {"auto": auto, **humans}
    names = list(raters)
    rows = []
    for code in list(codes) + ["all"]:
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                both = raters[a].index.intersection(raters[b].index)
                if code == "all":
                    x = raters[a].loc[both, list(codes)].to_numpy().ravel()
                    y = raters[b].loc[both, list(codes)].to_numpy().ravel()
                else:
                    x, y = raters[a].loc[both, code].to_numpy(), raters[b].loc[both, code].to_numpy()
                rows.append({"code": code, "rater_a": a, "rater_b": b, "n": len(both),
                             "agreement": float(np.mean(x == y)) if len(x) else math.nan,
                             "kappa": cohen_kappa(x, y)})
        units = auto.index
        cols = list(codes) if code == "all" else [code]
        matrix = []
        for name in names:
            frame = raters[name].reindex(units)[cols]
            matrix.append(frame.to_numpy(float).ravel())
        rows.append({"code": code, "rater_a": "all raters", "rater_b": "", "n": int(sum(len(h) for h in humans.values())),
                     "agreement": math.nan, "kappa": math.nan, "alpha": krippendorff_alpha(np.vstack(matrix))})
    return pd.DataFrame(rows, columns=["code", "rater_a", "rater_b", "n", "agreement", "kappa", "alpha"])


def final_codes(auto: pd.DataFrame, humans: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.Series]:
    """The codes used: the human coders' where any coded a reflection (a code kept when at least half
    of them gave it), else the suggestions; and per reflection who coded it."""
    final = auto.copy()
    by = pd.Series("auto", index=auto.index, dtype=object)
    if humans:
        stacked = pd.concat([h.reindex(auto.index) for h in humans.values()], keys=list(humans))
        votes = stacked.groupby(level=[1, 2, 3]).mean().reindex(auto.index)
        count = stacked.notna().any(axis=1).groupby(level=[1, 2, 3]).sum().reindex(auto.index).fillna(0)
        names = [sorted(n for n, h in humans.items() if idx in h.index) for idx in auto.index]
        done = count.to_numpy() > 0
        final.loc[done] = (votes.loc[done] >= 0.5).astype(int).to_numpy()
        by[done] = ["human: " + ", ".join(n) for n, d in zip(names, done) if d]
    return final, by


# --- shares per entry point and profile ---------------------------------------------

def weighted_share(y: np.ndarray, w: np.ndarray, session: np.ndarray | None, confidence: float) -> dict:
    """Share ``sum(w y) / sum(w)`` with a delete-one-session jackknife interval (t, sessions - 1 df).

    Without sessions the interval is NaN. Bounds are clipped to [0, 1].

    >>> y = np.array([1, 0, 1, 1, 0, 0.]); w = np.ones(6); s = np.array([0, 0, 1, 1, 2, 2])
    >>> r = weighted_share(y, w, s, 0.95); round(r["share"], 3), r["sessions"], round(r["ci_high"], 3)
    (0.5, 3, 1.0)
    """
    total = float(w.sum())
    share = float((w * y).sum() / total) if total > 0 else math.nan
    out = {"share": share, "n": total, "sessions": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    if session is None or total <= 0:
        return out
    groups = [g for g in np.unique(session) if w[session == g].sum() > 0]
    out["sessions"] = len(groups)
    if len(groups) < 2:
        return out
    reps = []
    for g in groups:
        keep = session != g
        reps.append((w[keep] * y[keep]).sum() / w[keep].sum())
    reps = np.asarray(reps)
    G = len(groups)
    se = math.sqrt((G - 1) / G * np.sum((reps - reps.mean()) ** 2))
    half = stats.t.ppf(0.5 + confidence / 2, G - 1) * se
    out["ci_low"], out["ci_high"] = max(0.0, share - half), min(1.0, share + half)
    return out


def shares(people: pd.DataFrame, labels: pd.DataFrame, *, posteriors: pd.DataFrame | None,
           confidence: float, min_n: int, min_sessions: int, kind: str = "code") -> pd.DataFrame:
    """Share of writers with each label, for everyone, per entry point, per profile and per both.

    Parameters
    ----------
    people : DataFrame indexed by participant
        ``workshop`` and ``entry_point`` (either may be all missing): every
        participant who wrote at least one reflection that is not junk.
    labels : DataFrame indexed by participant
        0/1 per code (or tool): any of their reflections has it.
    posteriors : DataFrame, optional
        Profile probabilities (a person counts in each profile with that weight).

    Returns
    -------
    DataFrame: kind, code, entry_point ("all" or an arm), profile ("all" or a
    name), share, ci_low, ci_high, n (people, sum of weights), sessions,
    interpretable ("yes"/"no").
    """
    labels = labels.reindex(people.index).fillna(0)
    session = people["workshop"].astype("category").cat.codes.to_numpy() if people["workshop"].notna().any() else None
    weights = {"all": np.ones(len(people))}
    if posteriors is not None:
        aligned = posteriors.reindex(people.index).fillna(0.0)
        weights.update({str(p): aligned[p].to_numpy(float) for p in posteriors.columns})
    arms = {"all": np.ones(len(people), bool)}
    if people["entry_point"].notna().any():
        arms.update({str(a): (people["entry_point"] == a).to_numpy() for a in sorted(people["entry_point"].dropna().unique())})
    rows = []
    for code in labels.columns:
        y = labels[code].to_numpy(float)
        for arm, on in arms.items():
            for profile, w in weights.items():
                r = weighted_share(y, w * on, session, confidence)
                ok = r["n"] >= min_n and (session is None or r["sessions"] >= min_sessions)
                rows.append({"kind": kind, "code": code, "entry_point": arm, "profile": profile, **r,
                             "interpretable": "yes" if ok else "no"})
    return pd.DataFrame(rows, columns=["kind", "code", "entry_point", "profile", "share", "ci_low", "ci_high",
                                       "n", "sessions", "interpretable"])


def shorten(text: str, limit: int = QUOTE_CHARS) -> str:
    """At most ``limit`` characters, cut at a word, with an ellipsis.

    >>> shorten("one two three four", 10)
    'one two…'
    """
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def quotes(coded: pd.DataFrame, final: pd.DataFrame, people: pd.DataFrame, cells: pd.Series, *,
           min_n: int, seed: int, per_code: int = QUOTES_PER_CODE) -> pd.DataFrame:
    """Example quotes per code, HTML-escaped and shortened, only from cells of at least ``min_n`` writers.

    ``cells`` gives each writer's cell (entry point and most likely profile);
    a quote from a smaller cell could point to a person, so none is taken.
    Columns: code, quote, entry_point, cell_n.
    """
    size = cells.value_counts()
    rng = np.random.default_rng(seed)
    rows = []
    data = coded.set_index(KEY)
    usable = ~data["junk"].reindex(final.index).to_numpy(bool)
    big = final.index.get_level_values(0).map(cells.map(size).ge(min_n)).to_numpy(dtype=object)
    usable &= np.asarray(big == True)  # noqa: E712 (writers missing from cells: NaN, not usable)
    for code in final.columns:
        idx = list(final.index[(final[code] == 1).to_numpy() & usable])
        for k in rng.permutation(len(idx))[:per_code]:
            i = idx[k]
            rows.append({"code": code, "quote": html.escape(shorten(data.at[i, "text"]), quote=False),
                         "entry_point": people.at[i[0], "entry_point"] if pd.notna(people.at[i[0], "entry_point"]) else "",
                         "cell_n": int(size[cells[i[0]]])})
    return pd.DataFrame(rows, columns=["code", "quote", "entry_point", "cell_n"])


# --- the stage ----------------------------------------------------------------------

def text_variables(codebook, columns) -> list[str]:
    """The free-text columns coded: every ``role: text`` variable, with its numbered slots and write-ins.

    Every open question is ``role: text`` (``analysis init`` drafts any free-text
    question so, a closing "anything else?" as much as "what will you take
    away?"), so all of them are coded. Not coded: the write-in beside a closed
    question (``<item>_other``, a form's "Other: ..." of a multiselect or
    group). It names an option missing from the list, not what someone took
    away, and coding it would count everyone who ticked "other" as having
    written a reflection (the shares are of writers). Such write-ins are still
    scrubbed (:func:`analysis.protect.free_text_columns`).

    >>> from types import SimpleNamespace as V
    >>> cb = V(variables={"reflection": V(role="text"), "tools": V(role="multiselect"), "sat": V(role="item")})
    >>> text_variables(cb, ["participant", "reflection", "reflection_2", "reflection_other", "tools_other", "sat_other"])
    ['reflection', 'reflection_2', 'reflection_other']
    """
    names = [name for name, var in codebook.variables.items() if var.role == "text"]
    found = []
    for name in names:
        found += [c for c in columns if c == name or re.fullmatch(re.escape(name) + r"_(\d+|other)", str(c))]
    return list(dict.fromkeys(found))  # a write-in can be a variable of its own too


def _people(data: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in ("workshop", "entry_point") if c in data]
    people = data.groupby("participant")[cols].first() if cols else pd.DataFrame(index=data["participant"].unique())
    for c in ("workshop", "entry_point"):
        if c not in people:
            people[c] = np.nan
    return people[["workshop", "entry_point"]]


def reflect_study(study, data: pd.DataFrame, *, posteriors: pd.DataFrame | None, confidence: float,
                  min_n: int, min_sessions: int, seed: int) -> dict | None:
    """Code a study's free text and count the codes; the public files by name (None: no free text).

    Parameters
    ----------
    study : analysis.codebook.Study
        For the codebook (codes, free-text variables) and ``human_codes:``.
    data : DataFrame
        The protected responses (``responses.parquet``): scrubbed text only.
    posteriors : DataFrame, optional
        Profile probabilities per participant.
    """
    variables = text_variables(study.codebook, data.columns)
    texts = answers(data, variables)
    if texts.empty:
        return None
    coder = Coder.for_codebook(study.codebook.path)
    codes = list(coder.codes)
    coded = code_answers(texts, coder)
    auto = auto_table(coded, codes)
    humans = {name: read_sheet(path, codes) for name, path in human_code_files(study).items()}
    humans = {name: h[h.index.isin(auto.index)] for name, h in humans.items()}
    final, by = final_codes(auto, humans)
    junk = pd.Series(coded["junk"].to_numpy(bool), index=auto.index)
    final[junk.to_numpy()] = 0

    rows = []
    # one pass over plain lists (not iterrows and .at: those cost seconds per 10,000 answers)
    marks, coded_by = final.to_numpy(), by.tolist()
    for r, (key, is_junk_, found_codes, tools, language) in enumerate(zip(
            auto.index, coded["junk"].tolist(), coded["codes"].tolist(), coded["tools"].tolist(),
            coded["language"].tolist())):
        if is_junk_:
            continue
        for j in np.flatnonzero(marks[r]):  # a human's code keeps the cue only where the coder found it too
            rows.append((*key, codes[j], "code", found_codes.get(codes[j], ""), coded_by[r], language))
        for tool, cue in tools.items():
            rows.append((*key, tool, "tool", cue, "auto", language))
    found = pd.DataFrame(rows, columns=KEY + ["code", "kind", "cue", "coded_by", "language"])

    people = _people(data)
    writers = sorted(set(coded.loc[~coded["junk"], "participant"]))
    people = people.reindex(writers)
    kept = final[~junk.to_numpy()]
    labels = kept.groupby(level="participant").max().reindex(writers).fillna(0).astype(int)
    tool_names = list(coder.tools)
    tool_labels = pd.DataFrame(
        {t: [int(t in x) for x in coded["tools"]] for t in tool_names}, index=coded["participant"]
    ).groupby(level=0).max().reindex(writers).fillna(0).astype(int)
    post = posteriors.reindex(writers).dropna(how="all") if posteriors is not None else None
    options = dict(posteriors=post, confidence=confidence, min_n=min_n, min_sessions=min_sessions)
    share_table = pd.concat([shares(people, labels, **options, kind="code"),
                             shares(people, tool_labels, **options, kind="tool")], ignore_index=True)
    if post is not None:
        modal = post.idxmax(axis=1).reindex(writers).fillna("")
    else:
        modal = pd.Series("", index=writers)
    cells = people["entry_point"].fillna("").astype(str) + " | " + modal.astype(str)
    quote_table = quotes(coded, final, people, cells, min_n=min_n, seed=seed)
    info = {
        "variables": variables, "answers": int(len(coded)), "junk": int(coded["junk"].sum()),
        "writers": len(writers), "languages": {str(k): int(v) for k, v in coded["language"].value_counts().items()},
        "codes": {c.name: {"label": c.label, "definition": c.definition, "negated": c.negated}
                  for c in coder.codes.values()},
        "tools": tool_names,
        "coders": {name: int(len(h)) for name, h in humans.items()},
        "human_coded": int((by != "auto").sum()),
        "by_profile": post is not None,
        "by_entry_point": bool(people["entry_point"].notna().any()),
        "min_n": min_n,
    }
    files = {"reflections.csv": found, SHEET_FILE: sheet_workbook(coding_sheet(coded, codes), codes),
             "reflection_shares.csv": share_table.round(6), "reflection_quotes.csv": quote_table,
             "reflections.json": info}
    if humans:
        files["reflection_agreement.csv"] = agreement(auto, humans, codes).round(6)
    return files
