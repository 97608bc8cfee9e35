"""Scrubbing of free text: personal details found and replaced by typed placeholders.

What a person typed may hold their own or someone else's e-mail address, web
address, social-media handle, phone number or name. :func:`personal_spans`
finds them; :func:`scrub_text` replaces each by a placeholder
(:data:`PLACEHOLDERS`). Known names (from the identity columns of the exports
and the study's roster) are matched by :func:`name_pattern`.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

import phonenumbers

_WHITESPACE = re.compile(r"\s+")

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
