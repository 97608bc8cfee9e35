"""The message catalogue: every word a report shows, in English and Dutch.

Each sentence, heading, table label and caption a report shows has a key
(``"summary.title"``) and a text per language in
``locale/<language>/LC_MESSAGES/analysis.po`` (gettext PO files, read with
Babel when this module is imported; no compile step). A text is a
:meth:`str.format` template with named fields (``{n}``, ``{arm}``); numbers
are formatted for the language before they go in (:func:`number`,
:func:`percent`): Dutch writes a decimal comma.

To add a message: use a new key in the code (``text(language, "section.what",
x=...)`` or ``plural(language, "count.thing", n)``), then add an entry with that
``msgid`` to both PO files (for a plural: ``msgid``, ``msgid_plural`` set to
the key plus ``".many"``, and ``msgstr[0]``/``msgstr[1]``).
``tests/test_messages.py`` fails on a key missing from a catalogue or an
empty translation.

Examples
--------
>>> text("en", "list.and", rest="focus", last="guts")
'focus and guts'
>>> plural("nl", "count.session", 3)
'3 sessies'
>>> number("nl", 0.3), number("en", -1.25, signed=True), percent("nl", 0.975)
('0,30', '-1.25', '97,5%')
>>> join("nl", ["a", "b", "c"])
'a, b en c'
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

from analysis.settings import LANGUAGES

#: Folder of the catalogues: ``<language>/LC_MESSAGES/analysis.po``.
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "analysis"


def po_path(language: str) -> Path:
    """The PO file of one language."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def catalogue(language: str) -> gettext.GNUTranslations:
    """The translations of one language (read from its PO file once).

    Babel parses the PO file and writes it as an in-memory MO file, which the
    standard library's gettext reads: its plural rule comes from the PO
    header (``Plural-Forms``).
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}; got {language!r}")
    with po_path(language).open("rb") as f:
        po = read_po(f, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, po, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _missing(language: str, key: str) -> KeyError:
    return KeyError(f"message {key!r} is not in the {language} catalogue ({po_path(language)})")


def text(language: str, key: str, /, **facts) -> str:
    """The message ``key`` in ``language``, its fields filled from ``facts``.

    Raises
    ------
    KeyError
        The catalogue has no such message.
    """
    template = catalogue(language).gettext(key)
    if template == key:
        raise _missing(language, key)
    return template.format(**facts) if facts else template


def plural(language: str, key: str, n: int, /, **facts) -> str:
    """The singular or plural form of ``key`` for ``n`` (``{n}`` in the text is ``n``, formatted)."""
    template = catalogue(language).ngettext(key, key + ".many", n)
    if template in (key, key + ".many"):
        raise _missing(language, key)
    return template.format(n=number(language, n, digits=0), **facts)


def has(language: str, key: str) -> bool:
    """Whether the catalogue of ``language`` has the message ``key``."""
    return catalogue(language).gettext(key) != key


def date(language: str, value) -> str:
    """A day as the language writes it in a sentence.

    Examples
    --------
    >>> import datetime
    >>> date("en", datetime.date(2026, 3, 3)), date("nl", datetime.date(2026, 3, 3))
    ('Mar 3, 2026', '3 mrt 2026')
    """
    return format_date(value, format="medium", locale=language)


def number(language: str, value: float, digits: int = 2, *, signed: bool = False) -> str:
    """A number with ``digits`` decimals in the language's notation (``signed``: always a sign)."""
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    if signed:
        pattern = "+" + pattern + ";-" + pattern
    return format_decimal(value, format=pattern, locale=language)


def percent(language: str, share: float, digits: int = 1) -> str:
    """A share (0.975) as a percentage without needless decimals ("97.5%", "97,5%")."""
    pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "") + "%"
    return format_percent(share, format=pattern, locale=language)


def join(language: str, words) -> str:
    """Words as a list in a sentence: "a", "a and b", "a, b and c" ("a, b en c")."""
    words = [str(w) for w in words]
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    return text(language, "list.and", rest=", ".join(words[:-1]), last=words[-1])
