"""What a reader sees, in their language: gettext catalogues read with Babel.

Every string a reader of the map, the figure or the posters sees is written in English in the code
and wrapped in :func:`_` (or marked with :func:`N_` where it is a constant translated later). The
language is chosen per block of work with :func:`use_language`, so rendering code takes no extra
argument::

    with use_language("es"):
        label = _("Mutual aid desert")

Translations live in ``i18n/locales/<language>/LC_MESSAGES/*.po`` (several files per language are
merged, one per part of the tool). English is the source language: it needs no file. A message with
no translation falls back to English; :func:`missing_messages` lists them, and the tests fail on any.
Numbers and dates are formatted for the language with Babel (:func:`number`, :func:`percent`,
:func:`date`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib import resources

SOURCE_LANGUAGE = "en"
_CURRENT: ContextVar[str] = ContextVar("aiddeserts_language", default=SOURCE_LANGUAGE)


def N_(message: str) -> str:
    """Marks a constant for the catalogue; it is translated where it is shown (with :func:`_`)."""
    return message


def available_languages() -> list[str]:
    """English and every language with a catalogue in the package, sorted."""
    root = resources.files(__name__).joinpath("locales")
    found = {entry.name for entry in root.iterdir() if entry.is_dir()} if root.is_dir() else set()
    return sorted(found | {SOURCE_LANGUAGE})


@cache
def catalogue(language: str) -> dict[str, str]:
    """``{English message: translation}`` of one language (every .po file of it, fuzzy ones left out)."""
    from babel.messages.pofile import read_po

    if language == SOURCE_LANGUAGE:
        return {}
    if language not in available_languages():
        raise ValueError(f"no message catalogue for language {language!r}; "
                         f"available: {', '.join(available_languages())}")
    folder = resources.files(__name__).joinpath("locales", language, "LC_MESSAGES")
    messages: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".po"):
            continue
        with entry.open("rb") as handle:
            for message in read_po(handle, locale=language):
                if message.id and message.string and not message.fuzzy:
                    key = message.id if isinstance(message.id, str) else message.id[0]
                    value = message.string if isinstance(message.string, str) else message.string[0]
                    messages[key] = value
    return messages


def current_language() -> str:
    """The language text is rendered in now (``en`` unless inside :func:`use_language`)."""
    return _CURRENT.get()


@contextmanager
def use_language(language: str) -> Iterator[str]:
    """Render the enclosed block in ``language`` (checked against the shipped catalogues)."""
    catalogue(language)
    token = _CURRENT.set(language)
    try:
        yield language
    finally:
        _CURRENT.reset(token)


def _(message: str) -> str:
    """``message`` in the current language (English when it has no translation)."""
    return catalogue(current_language()).get(message, message)


gettext = _


def number(value: float, decimals: int = 0) -> str:
    """A number written the way the current language writes it (``1,234.5`` / ``1234,5``)."""
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=current_language())


def percent(share: float, decimals: int = 0) -> str:
    """A share (0.25) as a percentage in the current language (``25%`` / ``25 %``)."""
    from babel.numbers import format_percent

    pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + "%"
    return format_percent(share, format=pattern, locale=current_language())


def date(value: dt.date | str) -> str:
    """A date in the current language's medium form (``Dec 1, 2026`` / ``1 dic 2026``)."""
    from babel.dates import format_date

    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(day, format="medium", locale=current_language())


def missing_messages(language: str) -> list[str]:
    """Messages the code marks (``_``, ``N_``, ``gettext``) that ``language`` does not translate."""
    from babel.messages.extract import extract_from_dir

    if language == SOURCE_LANGUAGE:
        return []
    package = resources.files("aiddeserts")
    keywords = {"_": None, "N_": None, "gettext": None}
    found = {message for _file, _line, message, _comments, _context in
             extract_from_dir(str(package), method_map=[("**.py", "python")], keywords=keywords)
             if isinstance(message, str)}
    return sorted(found - catalogue(language).keys())
