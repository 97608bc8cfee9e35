"""Scrubbing of free text: personal details found and replaced by typed placeholders.

What a person typed may hold their own or someone else's e-mail address, web
address, social-media handle, phone number, bank account, national id number,
street address or name. :func:`personal_spans` finds them; :func:`scrub_text`
replaces each by a placeholder (:data:`PLACEHOLDERS`). Known names (from the
identity columns of the exports and the study's roster) are matched by the
:class:`Names` that :func:`name_pattern` builds.

Text is searched in one normal form (:func:`fold`: compatibility form, accents
and invisible characters removed, case folded), so full-width, zero-width-split
and decomposed (NFD) forms are found like plain ones. Dates, times, ISO
timestamps, year ranges and version numbers are never taken for a phone or an
id number.

Time is bounded: every pattern has bounded repeats and starts at a fixed
anchor or a token start, so a search is linear in the text; and only the first
:data:`MAX_ANSWER_CHARS` characters of an answer are searched (callers cut
answers there and keep the rest private, see :func:`analysis.protect.protect`).
"""

from __future__ import annotations

import bisect
import logging
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable

import numpy as np
import pandas as pd

import phonenumbers
from stdnum import iban as _iban
from stdnum.be import nn as _be_nn
from stdnum.de import idnr as _de_idnr
from stdnum.nl import bsn as _nl_bsn
from stdnum.us import ssn as _us_ssn

_WHITESPACE = re.compile(r"\s+")

#: Longest answer searched (and published): longer answers are cut here by
#: :func:`analysis.protect.protect`, the cut logged and the full text kept under ``private/``.
MAX_ANSWER_CHARS = 20_000

# --- one normalisation for finding people in text (scrubber and leak gate alike) -----------

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"), "-")
_APOSTROPHES = dict.fromkeys(map(ord, "\u2018\u2019\u201b\u02bc\u0060\u00b4\uff07"), "'")
_FOLD_CACHE: dict[str, str] = {}


def _fold_char(ch: str) -> str:
    """What one character becomes: compatibility form, no accents or invisible format characters,
    case folded, one kind of dash and apostrophe; whitespace becomes one space."""
    found = _FOLD_CACHE.get(ch)
    if found is None:
        if ch.isspace():
            found = " "
        else:
            parts = unicodedata.normalize("NFKD", ch)
            parts = "".join(c for c in parts if unicodedata.category(c) not in ("Mn", "Me", "Cf"))
            found = parts.casefold().translate(_DASHES).translate(_APOSTROPHES)
            found = " " if found.isspace() else found
        if len(_FOLD_CACHE) < 100_000:
            _FOLD_CACHE[ch] = found
    return found


def fold_with_positions(text: str) -> tuple[str, list[int]]:
    """:func:`fold` of ``text`` and, per character of the result, the position it came from.

    Examples
    --------
    >>> folded, at = fold_with_positions("Jöran  Çelik")
    >>> folded, at[6], "Jöran  Çelik"[at[6]]
    ('joran celik', 7, 'Ç')
    """
    out, at = [], []
    space = False
    for i, ch in enumerate(text):
        piece = ch.lower() if ch < "\x80" and not ch.isspace() else _fold_char(ch)
        for c in piece:
            if c == " ":
                if space:
                    continue
                space = True
            else:
                space = False
            out.append(c)
            at.append(i)
    return "".join(out), at


def fold(text: str) -> str:
    """Text as the scrubber and the leak gate compare it.

    Compatibility form (full-width letters, ligatures), accents and invisible
    format characters (zero-width spaces, bidi marks) removed, case folded,
    dashes and apostrophes of every kind made one, whitespace runs one space.
    Names and addresses typed with or without their diacritics then compare
    equal.

    Examples
    --------
    >>> fold("Ana\u00a0María ÇELİK’s ｊａｎ＠ｅｘａｍｐｌｅ．ｎｌ x\u200by")
    "ana maria celik's jan@example.nl xy"
    >>> fold(unicodedata.normalize("NFD", "Jörans")) == fold("Jorans")
    True
    """
    if text.isascii():
        return _WHITESPACE.sub(" ", text.lower())
    return fold_with_positions(text)[0]


def _searchable(text: str) -> tuple[str, list[int] | None]:
    """The folded text patterns run on, and where its characters came from (None: same places)."""
    if text.isascii():
        return text.lower(), None
    return fold_with_positions(text)


# --- characters that never belong in an output -----------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;?]{0,32}[ -/]{0,4}[@-~]|\x1b[@-_]")
#: C0/C1 controls except tab and line feed; bidi embeddings, overrides and isolates; invisible
#: zero-width characters (not the joiner U+200D that emoji sequences need); byte-order marks.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e"
                      "\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]")


def strip_controls(text: str) -> tuple[str, int]:
    r"""Remove control characters, terminal escape sequences and bidi overrides; CR becomes LF.

    A bare carriage return would split a CSV record in some readers, so line
    breaks of every kind become ``\n``.

    Returns
    -------
    text : str
    removed : int
        Characters (or escape sequences) removed; line breaks are not counted.

    Examples
    --------
    >>> strip_controls("Goed gedaan\r=2*21\x00 \x1b[31mrood\x1b[0m \u202edcba")
    ('Goed gedaan\n=2*21 rood dcba', 4)
    """
    if text.isascii() and text.isprintable():
        return text, 0
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text, n_ansi = _ANSI.subn("", text)
    text, n_ctl = _CONTROL.subn("", text)
    return text, n_ansi + n_ctl


#: What never belongs in an output cell: control characters (not tab or LF), CR, bidi overrides.
_UNSAFE = r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]"
#: The same class in RE2's spelling (pyarrow's regular expressions; ``tests/test_scrub.py`` checks both
#: agree on every code point).
_UNSAFE_RE2 = (r"[\x00-\x08\x0b-\x1f\x7f-\x{9f}\x{200b}\x{200e}\x{200f}\x{202a}-\x{202e}\x{2060}-\x{2064}"
               r"\x{2066}-\x{2069}\x{feff}\x{fff9}-\x{fffb}]")


def matches(text: pd.Series, pattern: str, re2: str) -> np.ndarray:
    """Which cells of a text column hold ``pattern`` (``re.search``), as a boolean array (missing: False).

    ``re2`` is the same pattern in RE2's spelling: on a pyarrow-backed column it is
    run by pyarrow in C (pandas would run ``pattern`` in Python, cell by cell, since
    it spells characters as ``\\u`` escapes); the two must match the same cells.

    Examples
    --------
    >>> matches(pd.Series(["ok", "a\x07b", None], dtype="str"), _UNSAFE, _UNSAFE_RE2).tolist()
    [False, True, False]
    """
    arrow = getattr(text.array, "__arrow_array__", None)
    if arrow is not None and pd.api.types.is_string_dtype(text.dtype):
        import pyarrow as pa
        import pyarrow.compute as pc

        found = pc.fill_null(pc.match_substring_regex(arrow(), re2), False)
        return (found.to_numpy() if isinstance(found, pa.Array) else found.to_numpy()).astype(bool, copy=False)
    return text.str.contains(pattern).fillna(False).to_numpy(dtype=bool)

log = logging.getLogger(__name__)


def _text_cells(values: pd.Series):
    """Positions (None: all) and the text of a column's text cells (cells that are not text are never changed)."""
    if values.dtype == object:
        where = np.flatnonzero((values.map(type) == str).to_numpy())
        return where, values.iloc[where].astype("str")
    return None, values


def _is_text(values: pd.Series) -> bool:
    return values.dtype == object or pd.api.types.is_string_dtype(values.dtype)


def text_columns(frame: pd.DataFrame):
    """Each text column of ``frame``: its position, the column, and :func:`_text_cells` of it."""
    for i in range(frame.shape[1]):
        values = frame.iloc[:, i]
        if _is_text(values):
            yield (i, values, *_text_cells(values))


def remove_controls(frame: pd.DataFrame, name: str = "table") -> tuple[pd.DataFrame, int]:
    r"""Text cells without control characters or bidi overrides, line breaks as ``\n`` (logged).

    What :func:`strip_controls` does, for every text cell of a
    table an output is written from; only cells holding such a character are
    changed. The number removed is logged (warning) with ``name``.

    Examples
    --------
    >>> frame, n = remove_controls(pd.DataFrame({"t": ["ok", "a\rb\x07", "\u202eevil"]}))
    >>> frame["t"].tolist(), n
    (['ok', 'a\nb', 'evil'], 2)
    """
    out, removed = frame, 0
    for i, values, where, text in text_columns(frame):
        bad = matches(text, _UNSAFE, _UNSAFE_RE2)
        if not bad.any():
            continue
        if out is frame:
            out = frame.copy(deep=False)
        fixed = values.copy()
        rows = np.flatnonzero(bad) if where is None else where[bad]
        cleaned = [strip_controls(v) for v in values.iloc[rows]]
        fixed.iloc[rows] = [v for v, _ in cleaned]
        removed += sum(n for _, n in cleaned)
        out.isetitem(i, fixed)
    if removed:
        log.warning("%s: %d control character(s) or bidi override(s) removed", name, removed)
    return out, removed


# --- shapes of personal details -------------------------------------------------------------

PLACEHOLDERS = {"email": "[EMAIL]", "url": "[URL]", "handle": "[HANDLE]", "iban": "[IBAN]",
                "id number": "[ID]", "address": "[ADDRESS]", "phone": "[PHONE]", "name": "[NAME]"}

# Anchors of an e-mail address: @ in any spelling (URL-encoded, HTML entity, written out).
_AT = re.compile(r"@|%40|&#0{0,3}64;|&commat;"
                 r"|\s{0,3}[\[({<]\s{0,3}(?:at|@|apenstaartje|ad)\s{0,3}[\])}>]\s{0,3}"
                 r"|\s{1,3}(?:at|apenstaartje)\s{1,3}")
_LABEL = r"[\w-]{1,63}"
_DOT_SIGN = r"(?:\.|%2e|&#0{0,3}46;)"
_DOT_WORD = r"(?:\s{0,3}[\[({<]\s{0,3}(?:dot|punt|\.)\s{0,3}[\])}>]\s{0,3}|\s{1,3}(?:dot|punt)\s{1,3})"
_TLD = r"[a-z]{2,24}(?![\w-])"


def _domain(dot: str) -> re.Pattern:
    return re.compile(rf"{_LABEL}(?:{dot}{_LABEL}){{0,8}}{dot}{_TLD}")


_DOMAIN_PLAIN = _domain(_DOT_SIGN)
_DOMAIN_ANY = _domain(rf"(?:{_DOT_SIGN}|{_DOT_WORD})")
_DOMAIN_WORDS = _domain(_DOT_WORD)


def _is_local(ch: str) -> bool:
    return ch.isalnum() or ch in "._+'-"


def _emails(s: str):
    """E-mail addresses: ``(start, end, kind)`` in the folded text; a fediverse ``@user@server``
    is a handle."""
    for m in _AT.finditer(s):
        a = m.start()
        i = a
        while i > 0 and a - i < 64 and _is_local(s[i - 1]):
            i -= 1
        while i < a and s[i] in ".'-":
            i += 1
        if i == a:
            continue
        token = m.group(0).strip()
        if token in ("@", "%40", "&commat;") or token.startswith("&#"):
            domain = _DOMAIN_PLAIN
        elif token[0] in "[({<":
            domain = _DOMAIN_ANY
        else:  # "greet at voorbeeld dot nl": the dots written out too, or it is just "at"
            domain = _DOMAIN_WORDS
        d = domain.match(s, m.end())
        if d is None:
            continue
        if i > 0 and s[i - 1] == "@":
            yield i - 1, d.end(), "handle"
        else:
            yield i, d.end(), "email"


_SCHEME_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'`]{1,2048}|\bwww\.[^\s<>\"'`]{1,2048}")
# linkedin.com/in/..., x.com/...: a domain directly followed by a path
_BARE_URL = re.compile(r"(?<![\w@.%/-])(?:[a-z0-9][a-z0-9-]{0,62}\.){1,6}[a-z]{2,24}/[^\s<>\"'`]{1,2048}")
_URL_TRAILING = ".,;:!?)]}'\"*"


def _urls(s: str):
    for pattern in (_SCHEME_URL, _BARE_URL):
        for m in pattern.finditer(s):
            end = m.end()
            while end > m.start() and s[end - 1] in _URL_TRAILING:
                end -= 1
            yield m.start(), end, "url"


# @lisa.zwart.art (dots inside, not at the end), @anouk (fediverse @user@server is found with emails)
_HANDLE = re.compile(r"@\w(?:[\w.]{0,28}\w)?")


def _handles(s: str):
    for m in _HANDLE.finditer(s):
        if m.start() > 0 and (s[m.start() - 1].isalnum() or s[m.start() - 1] in "@._"):
            continue
        if len(m.group(0)) >= 3:
            yield m.start(), m.end(), "handle"


_IBAN = re.compile(r"(?<![a-z0-9])[a-z]{2}\d{2}(?:[ -]?[a-z0-9]){11,30}")


def _ibans(s: str):
    """IBANs with a valid checksum (ISO 13616, via ``python-stdnum``), with or without spaces."""
    for m in _IBAN.finditer(s):
        chars = [(k, c) for k, c in enumerate(m.group(0)) if c.isalnum()]
        for length in range(len(chars), 14, -1):
            if _iban.is_valid("".join(c for _, c in chars[:length]).upper()):
                end = m.start() + chars[length - 1][0] + 1
                if end == len(s) or not s[end].isalnum():
                    yield m.start(), end, "iban"
                    break


_DIGIT_RUN = re.compile(r"(?<![\w.,/+-])\d(?:[ .\-/]?\d){7,12}(?!\w|[.,/-]\d)")
_NINO = re.compile(r"(?<![a-z0-9])[a-ceghj-pr-tw-z][a-ceghj-npr-tw-z] ?\d{2} ?\d{2} ?\d{2} ?[a-d](?![a-z0-9])")
_SSN = re.compile(r"^\d{3}-\d{2}-\d{4}$")


def _id_numbers(s: str):
    """National id numbers: Dutch BSN (elfproef), Belgian national number, German tax id, US SSN
    (as ``123-45-6789``), UK National Insurance number; checked with ``python-stdnum``."""
    for m in _DIGIT_RUN.finditer(s):
        raw = m.group(0)
        digits = re.sub(r"\D", "", raw)
        if ((len(digits) == 9 and _nl_bsn.is_valid(digits)) or (len(digits) == 11 and _be_nn.is_valid(digits))
                or (len(digits) == 11 and _de_idnr.is_valid(digits))
                or (_SSN.match(raw) and _us_ssn.is_valid(digits))):
            yield m.start(), m.end(), "id number"
    for m in _NINO.finditer(s):
        if m.group(0)[:2] not in ("bg", "gb", "nk", "kn", "tn", "nt", "zz"):
            yield m.start(), m.end(), "id number"


# Street addresses are matched on the original text: capitals tell a street from a phrase.
_POSTCODE = (r"(?:[1-9]\d{3} ?(?!SA|SD|SS)[A-Z]{2}(?![A-Za-z])|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}(?![A-Za-z])"
             r"|[A-Z]{2} \d{5}(?:-\d{4})?|\d{4,5})")
_CITY = r"(?: {1,2}[A-Z][\w'-]{1,40}(?: [A-Z][\w'-]{1,40})?)"
_TAIL = rf"(?:,? {{0,2}}(?:[A-Z][\w'-]{{1,40}},? {{1,2}})?{_POSTCODE}{_CITY}?)?"
_HOUSE = r"\d{1,5}(?: ?[a-zA-Z](?![\w]))?(?:[-/]\d{1,4})?"
_STREET_WORDS = ("straat|laan|weg|plein|gracht|kade|singel|dijk|steeg|dreef|hof|markt|pad|lei|baan|steenweg"
                 "|straße|strasse|str\\.|gasse|allee|ring|platz|damm|ufer|stieg")
_ADDRESS = re.compile(
    rf"(?<![\w])[A-Z][a-zà-öø-ÿß'-]{{0,40}}(?:{_STREET_WORDS}) {{1,2}}{_HOUSE}{_TAIL}"
    rf"|(?<![\w])(?:Rue|Avenue|Chaussée|Boulevard|Place|Quai) (?:(?:de|du|des|la|le|l')[ ']?){{0,3}}"
    rf"[A-Z][\w'-]{{1,40}}(?: [A-Z][\w'-]{{1,40}}){{0,2}},? {{1,2}}{_HOUSE}{_TAIL}"
    rf"|(?<![\w.,])\d{{1,5}}[A-Za-z]? (?:[A-Z][\w'-]{{1,30}} ){{1,3}}"
    rf"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Close|Way|Court|Ct|Place|Pl|Boulevard|Blvd"
    rf"|Terrace|Crescent|Gardens|Square|Sq|Hill|Row|Mews|Parkway)\b\.?{_TAIL}"
    # a postcode on its own: Dutch with its town, a full UK postcode
    rf"|(?<![\w])[1-9]\d{{3}} ?(?!SA|SD|SS)[A-Z]{{2}} {{1,2}}[A-Z][a-z][\w'-]{{1,40}}"
    rf"|(?<![\w])[A-Z]{{1,2}}\d[A-Z\d]? \d[A-Z]{{2}}(?![\w])")


def _addresses(text: str):
    for m in _ADDRESS.finditer(text):
        yield m.start(), m.end(), "address"


# What a phone matcher must leave alone: dates, times, ISO timestamps, year and day ranges, versions.
_NOT_A_PHONE = re.compile(
    r"(?<![\d])(?:19|20)\d{2}-\d{1,2}-\d{1,2}(?:[t ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:z|[+-]\d{2}:?\d{2})?)?"
    r"|(?<![\d.\-/])\d{1,2}[-/.]\d{1,2}[-/.](?:19|20)?\d{2}(?![\d]|[-/.]\d)"
    r"|(?<![\d.\-/])(?:19|20)\d{2} ?[-/] ?(?:(?:19|20)\d{2}|\d{2})(?![\d]|[-/.]\d)"
    r"|(?<![\d.\-/])\d{1,2} ?- ?\d{1,2},? (?:[a-z]{3,9}\.?,? )?(?:19|20)\d{2}(?!\d)"
    r"|(?<![\d])\d{1,2}[:h.]\d{2}(?::\d{2})? ?- ?\d{1,2}[:h.]\d{2}(?::\d{2})?(?!\d)"
    r"|(?<![\d])\d{1,2}:\d{2}(?::\d{2})?(?!\d)"
    r"|(?<![\d.])v?\d{1,3}(?:\.\d{1,5}){1,3}(?![\d]|\.\d)")
# A number of 9 to 15 digits in phone shape (any country, with or without a country code).
_PHONE_SHAPE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d(?:[ .\-/()]{0,3}\d){8,14}(?!\w)")


def _phones(s: str, region: str):
    for m in phonenumbers.PhoneNumberMatcher(s, region, leniency=phonenumbers.Leniency.POSSIBLE,
                                             max_tries=sys.maxsize):
        # a short number ("order 12345", "ISO 27001") is possible somewhere, but no phone without its country code
        if m.raw_string.lstrip("(").startswith(("+", "00")) or sum(ch.isdigit() for ch in m.raw_string) >= 8:
            yield m.start, m.end, "phone"
    for m in _PHONE_SHAPE.finditer(s):
        yield m.start(), m.end(), "phone"


# --- names -----------------------------------------------------------------------------------

#: Name particles that are ordinary words on their own ("van" = "of").
NAME_PARTICLES = frozenset({"van", "von", "den", "der", "ter", "ten", "het", "del", "della", "des", "les",
                            "los", "las", "bin", "ben", "abu", "dos", "das", "mac", "de", "da", "di", "le",
                            "la", "du", "zu", "op", "in", "'t"})

#: Ordinary words (English, Dutch, German; survey and test words) that are never sought as a
#: name on their own: they reach the known names from test rows and e-mail local parts
#: ("test.trainer@...", "never.mind@..."). A full name that contains one is still sought whole.
COMMON_WORDS = frozenset("""
a about after again all also always an and any anonymous are as at back be because been before being
best better between both but by can could day did do does done during each even ever every few first
for from get give go good great had has have he her here him his how i if in into is it its just know
last less like little long make many may me more most much must my name never new next no none not
now of off often old on once one only or other our out over own people please really right said same
say see she should show so some still such take than thank thanks that the their them then there
these they thing think this those through time to too two under up us use used very want was way we
well were what when where which while who why will with work would yes yet you your
admin administrator anon info contact mail email office support team test tester testing trainer
trainers teacher student students participant participants user users workshop session sessions
feedback survey dummy example sample demo nobody someone somebody unknown none null nan noreply
no-reply webmaster hello hi dear organiser organizer course class group staff guest visitor
aan al alle als altijd ander andere ben bij dan dat deze die dit doen door een en er geen goed had
heb hebben heel hier hij hoe ik in is ja je jij kan kon maar meer met mij mijn misschien moet na naar
niet niets nog nooit nu of ons ook over om te tegen toch toen tot u uit veel voor waar wat we wel
werd wie wij worden zal ze zei zij zijn zo zou deelnemer docent cursus mooi leuk fijn prima top dank
bedankt groet groeten vriendelijke hallo beste
aber alle als am auch auf aus bei bin bis da das dass dem den der des die doch du ein eine er es für
gut hat ich ihr im ist ja kein mit nach nicht noch nur oder sehr sie sind so und uns von war was
wie wir zu danke hallo
""".split())


def identifying_word(word: str) -> bool:
    """Whether one word of a known name is sought on its own (in text and by the leak gate).

    The rule: after :func:`fold`, at least three letters, not a name particle
    (:data:`NAME_PARTICLES`) and not an ordinary word (:data:`COMMON_WORDS`).
    So "Jöran" and "Çelik" are sought alone; "van", "Test" and "Trainer" only
    inside the full name they came with.

    Examples
    --------
    >>> [identifying_word(w) for w in ["Jöran", "Çelik", "van", "Test", "trainer", "Li"]]
    [True, True, False, False, False, False]
    """
    w = fold(word).strip("'")
    return len(w) >= 3 and any(ch.isalpha() for ch in w) and w not in NAME_PARTICLES and w not in COMMON_WORDS


_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")  # words; "_" and "." part them (file names, e-mail locals)
_NAME_SEPARATOR = re.compile(r"[ ._-]{1,3}")
_POSSESSIVE = ("", "s", "'s", "'")


def _bare(token: str) -> list[str]:
    """``token`` and ``token`` without each possessive ending it has (``"jans"`` -> ``jans``, ``jan``)."""
    return [token] + [token[:-len(p)] for p in _POSSESSIVE if p and token.endswith(p) and len(token) > len(p)]


class Names:
    """Known names, found in text after :func:`fold` (accents, case, hyphens, NFD alike).

    A full name is found with spaces or hyphens between its parts, a single
    part on its own only when :func:`identifying_word` says so, each with a
    Dutch or English possessive (``Jörans``, ``Joran's``, ``James'``). Longest
    names first, so "Jan Jansen" is one match. Matching goes token by token,
    so time is linear in the text whatever the number of names.

    Examples
    --------
    >>> names = Names(["Jöran Çelik", "Ana-María López"])
    >>> names.sub("[NAME]", "Thanks Joran Celik, Jörans talk and ana maria's slides; Çelik too")
    'Thanks [NAME], [NAME] talk and [NAME] slides; [NAME] too'
    """

    def __init__(self, names: Iterable[str]):
        self.index: dict[str, list[tuple[str, ...]]] = {}
        identifies: dict[str, bool] = {}  # identifying_word of each part, once per part (names share parts)
        for name in dict.fromkeys(map(str, names)):
            tokens = tuple(_TOKEN.findall(fold(name)))
            if not tokens:
                continue
            alone = [identifies[t] if t in identifies else identifies.setdefault(t, identifying_word(t))
                     for t in tokens]
            # the whole name and each run of two or more of its parts ("Ana María" of "Ana María López"),
            # when one of its words identifies; single parts by the rule of identifying_word
            variants = {tokens[i:j] for i in range(len(tokens)) for j in range(i + 2, len(tokens) + 1)
                        if any(alone[i:j])}
            variants.update((t,) for t, a in zip(tokens, alone) if a)
            for v in variants:
                self.index.setdefault(v[0], []).append(v)
        for first, seqs in self.index.items():
            self.index[first] = sorted(set(seqs), key=len, reverse=True)
        # for spans_folded: every name variant, and the most parts of one by its first part
        self._variants = {seq for seqs in self.index.values() for seq in seqs}
        self._longest = {first: len(seqs[0]) for first, seqs in self.index.items()}

    def __bool__(self) -> bool:
        return bool(self.index)

    def spans_folded(self, s: str):
        """``(start, end)`` of known names in already folded text ``s``.

        At each word, the longest name variant starting there is looked up
        whole (a few set look-ups per word), so time does not grow with the
        number of names sharing a first part. :meth:`spans_folded_plain` is
        the plain version it must agree with (property test in test_scrub).
        """
        tokens = [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(s)]
        # joined[k]: token k and token k + 1 stand apart by a name separator only
        joined = [_NAME_SEPARATOR.fullmatch(s, tokens[k][1], tokens[k + 1][0]) is not None
                  for k in range(len(tokens) - 1)]
        variants = self._variants
        k = 0
        while k < len(tokens):
            token = tokens[k][2]
            found = 0  # parts of the longest name found at k
            if token in self._longest:
                most = min(self._longest[token], len(tokens) - k)
                run = 1  # tokens k.. joined by separators
                while run < most and joined[k + run - 1]:
                    run += 1
                for size in range(run, 0, -1):
                    head = tuple(t[2] for t in tokens[k:k + size - 1])
                    last = tokens[k + size - 1][2]
                    # a possessive on the last part of a longer name; a single part is the word itself
                    if any(head + (bare,) in variants for bare in (_bare(last) if size > 1 else (last,))):
                        found = size
                        break
            elif token.endswith("s") and any((bare,) in variants for bare in _bare(token)[1:]):
                found = 1
            if found:
                end = tokens[k + found - 1][1]
                if s.startswith("'", end) and not s.startswith("'s", end - 1):
                    end += 1  # James'
                yield tokens[k][0], end
                k += found
            else:
                k += 1

    def spans_folded_plain(self, s: str):
        """The plain version of :meth:`spans_folded`: every name variant starting with the word is tried."""
        tokens = [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(s)]
        k = 0
        while k < len(tokens):
            found = None
            token = tokens[k][2]
            candidates = self.index.get(token, [])
            if not candidates and (token.endswith("'s") or token.endswith("s")):
                base = token[:-2] if token.endswith("'s") else token[:-1]
                candidates = [seq for seq in self.index.get(base, []) if len(seq) == 1]
            for seq in candidates:
                if k + len(seq) > len(tokens):
                    continue
                ok = True
                for j, part in enumerate(seq):
                    start, end, tok = tokens[k + j]
                    if j > 0 and not _NAME_SEPARATOR.fullmatch(s, tokens[k + j - 1][1], start):
                        ok = False
                        break
                    last = j == len(seq) - 1
                    if not (tok == part or (last and tok in {part + p for p in _POSSESSIVE})):
                        ok = False
                        break
                if ok:
                    end = tokens[k + len(seq) - 1][1]
                    if s.startswith("'", end) and not s.startswith("'s", end - 1):
                        end += 1  # James'
                    found = (tokens[k][0], end)
                    k += len(seq)
                    break
            if found:
                yield found
            else:
                k += 1

    def finditer(self, text: str):
        """``(start, end)`` of known names in ``text`` (original positions)."""
        s, at = _searchable(text)
        for start, end in self.spans_folded(s):
            yield _back(at, start, end, len(text))

    def sub(self, placeholder: str, text: str) -> str:
        for start, end in reversed(list(self.finditer(text))):
            text = text[:start] + placeholder + text[end:]
        return text


def name_pattern(names: Iterable[str]) -> Names | None:
    """Known names as one matcher (:class:`Names`), or None when there are none.

    Examples
    --------
    >>> name_pattern(["Jan van der Berg"]).sub("[NAME]", "thanks jan van der berg, JAN and Berg van Dam")
    'thanks [NAME], [NAME] and [NAME] van Dam'
    >>> name_pattern(["test trainer"]) is None
    True
    """
    found = Names(names)
    return found if found else None


def _back(at: list[int] | None, start: int, end: int, length: int) -> tuple[int, int]:
    """Positions in the folded text back to positions in the original."""
    if at is None:
        return start, end
    return at[start], (at[end - 1] + 1 if end > start else at[start])


# --- finding and replacing -------------------------------------------------------------------

class _Intervals:
    """Disjoint ``[start, end)`` intervals, sorted; asking whether a span is free is a bisection."""

    def __init__(self):
        self.starts: list[int] = []
        self.ends: list[int] = []

    def free(self, start: int, end: int) -> bool:
        k = bisect.bisect_right(self.starts, start)
        if k and self.ends[k - 1] > start:
            return False
        return k == len(self.starts) or self.starts[k] >= end

    def add(self, start: int, end: int) -> None:
        k = bisect.bisect_right(self.starts, start)
        self.starts.insert(k, start)
        self.ends.insert(k, end)


def personal_spans(text: str, names: Names | None = None, region: str = "NL",
                   limit: int | None = MAX_ANSWER_CHARS) -> list[tuple[int, int, str]]:
    """Locate personal details in free text: ``(start, end, kind)``, in order.

    Kinds are tried in a fixed priority (e-mail and fediverse handle, URL,
    handle, IBAN, id number, address, phone, name); a later kind never claims
    text an earlier one matched. Phones are found by the ``phonenumbers``
    library (numbers without a country code read with ``region``, no cap on
    its tries) and by shape (9 to 15 digits); neither takes a date, time,
    timestamp, year range or version number.

    Parameters
    ----------
    text : str
    names : Names, optional
        Known names (from :func:`name_pattern`).
    region : str
        Default region for phone numbers written without a country code.
    limit : int or None
        Only the first ``limit`` characters are searched (None: all); see
        :data:`MAX_ANSWER_CHARS`.

    Examples
    --------
    >>> personal_spans("mail a@b.nl of bel 06 1234 5678")
    [(5, 11, 'email'), (19, 31, 'phone')]
    >>> personal_spans("Online 2017-09-22, OSU - Sept 19-20 2016, versie 2.10.3")
    []
    """
    if limit is not None and len(text) > limit:
        text = text[:limit]
    s, at = _searchable(text)
    spans: list[tuple[int, int, str]] = []
    taken, blocked = _Intervals(), _Intervals()

    def free(start: int, end: int) -> bool:
        return taken.free(start, end) and blocked.free(start, end)

    def claim(found, folded: bool = True) -> None:
        for start, end, kind in found:
            if end > start and free(start, end):
                taken.add(start, end)
                spans.append((*(_back(at, start, end, len(text)) if folded else (start, end)), kind))

    claim(_emails(s))
    claim(_urls(s))
    claim(_handles(s))
    claim(_ibans(s))
    phones = list(_phones(s, region))
    claim(p for p in phones if s[p[0]] in "+(" or s.startswith("00", p[0]))  # a country code: a phone
    claim(_id_numbers(s))  # checksums tell them from dates
    # a date, time or version is no phone; nine digits or more are no version ("278.683.873")
    for m in _NOT_A_PHONE.finditer(s):
        if (sum(ch.isdigit() for ch in m.group(0)) < 9 or ":" in m.group(0) or "-" in m.group(0)) \
                and taken.free(m.start(), m.end()):
            blocked.add(m.start(), m.end())
    # addresses are matched on the original text; their spans are mapped into the folded text's places
    if at is None:
        claim(_addresses(text), folded=False)
    else:
        where: dict[int, int] = {}
        for k, i in enumerate(at):
            where.setdefault(i, k)
        for start, end, kind in _addresses(text):
            fs = where.get(start)
            fe = next((where[j] for j in range(end, len(text)) if j in where), len(s))
            if fs is not None and free(fs, fe):
                taken.add(fs, fe)
                spans.append((start, end, kind))
    claim(phones)
    blocked = _Intervals()  # names may sit beside a date
    if names:
        claim((start, end, "name") for start, end in names.spans_folded(s))
    return sorted(spans)


def scrub_text(text: str, names: Names | None = None,
               region: str = "NL") -> tuple[str, Counter]:
    """Replace personal details in free text by typed placeholders; remove control characters.

    Parameters
    ----------
    text : str
        One free-text answer (callers cut answers at :data:`MAX_ANSWER_CHARS`;
        past it nothing is searched).
    names : Names, optional
        Known names (from :func:`name_pattern`).
    region : str
        Default region for phone numbers written without a country code.

    Returns
    -------
    scrubbed : str
    counts : collections.Counter
        Replacements per kind (the keys of :data:`PLACEHOLDERS`), and
        ``control`` for control characters removed (:func:`strip_controls`).

    Examples
    --------
    >>> scrub_text("Mail JAN@Uni.example.nl or call 06 1234 5678, @jan_j")[0]
    'Mail [EMAIL] or call [PHONE], [HANDLE]'
    >>> scrub_text("zie https://example.org/blog?x=1 en bel +31 20 123 4567")[0]
    'zie [URL] en bel [PHONE]'
    >>> scrub_text("henk [at] voorbeeld [dot] nl, linkedin.com/in/henk, @lisa.zwart.art")[0]
    '[EMAIL], [URL], [HANDLE]'
    >>> scrub_text("Kerkstraat 12, 1234 AB Utrecht; NL91 ABNA 0417 1643 00")[0]
    '[ADDRESS]; [IBAN]'
    """
    counts: Counter = Counter()
    text, removed = strip_controls(text)
    if removed:
        counts["control"] += removed
    for start, end, kind in reversed(personal_spans(text, names, region)):
        text = text[:start] + PLACEHOLDERS[kind] + text[end:]
        counts[kind] += 1
    return text, counts


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
