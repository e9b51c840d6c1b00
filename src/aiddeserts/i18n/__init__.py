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
:func:`date`), rounded as Python rounds so English text is unchanged; :func:`ngettext` picks a
plural form by the language's rule. Messages are extracted from the package's Python files and
from the map's HTML templates (``{% trans %}`` blocks, Jinja's i18n extension);
:func:`template_catalogue` writes them as the .pot a new language is translated from
(``aiddeserts messages template``; ``aiddeserts messages check <lang>`` lists what is missing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from functools import cache, lru_cache
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
    messages: dict[str, str] = {}
    for entry in _po_files(language):
        with entry.open("rb") as handle:
            for message in read_po(handle, locale=language):
                if message.id and message.string and not message.fuzzy:
                    key = message.id if isinstance(message.id, str) else message.id[0]
                    value = message.string if isinstance(message.string, str) else message.string[0]
                    messages[key] = value
    return messages


@cache
def plurals(language: str) -> dict[str, list[str]]:
    """``{English singular: [translated forms]}`` of one language's plural messages."""
    from babel.messages.pofile import read_po

    if language == SOURCE_LANGUAGE:
        return {}
    out: dict[str, list[str]] = {}
    for entry in _po_files(language):
        with entry.open("rb") as handle:
            for message in read_po(handle, locale=language):
                if message.pluralizable and not message.fuzzy and all(message.string):
                    out[message.id[0]] = list(message.string)
    return out


@cache
def _plural_rule(language: str):  # noqa: ANN202
    """The .po plural rule of `language` (n → form index)."""
    import gettext as std_gettext

    from babel.messages.plurals import get_plural

    return std_gettext.c2py(get_plural(language).plural_expr)


def _po_files(language: str) -> list:
    folder = resources.files(__name__).joinpath("locales", language, "LC_MESSAGES")
    return sorted((e for e in folder.iterdir() if e.name.endswith(".po")), key=lambda e: e.name)


def language_name(language: str) -> str:
    """The language's own name for itself ("English", "español")."""
    from babel import Locale

    return Locale.parse(language).get_display_name(language) or language


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


@cache
def _locale(language: str):  # noqa: ANN202 - babel.Locale, imported lazily
    """The parsed Babel locale of `language`, once (a map formats tens of thousands of numbers)."""
    from babel import Locale

    return Locale.parse(language)


@cache
def _decimal_pattern(decimals: int):  # noqa: ANN202 - babel.numbers.NumberPattern
    """The parsed pattern of a number with `decimals` decimals, once."""
    from babel.numbers import parse_pattern

    return parse_pattern("#,##0" + ("." + "0" * decimals if decimals else ""))


@cache
def _percent_pattern(language: str, decimals: int):  # noqa: ANN202 - NumberPattern
    """The language's own percent pattern ("#,##0%", Spanish "#,##0 %") with `decimals`."""
    from babel.numbers import parse_pattern

    own = _locale(language).percent_formats[None].pattern.split(";")[0]
    return parse_pattern(own.replace("#,##0", "#,##0" + ("." + "0" * decimals if decimals else ""),
                                     1))


def number(value: float, decimals: int = 0) -> str:
    """A number written the way the current language writes it (``1,234.5`` / ``1234,5``),
    rounded as Python's own formatting rounds it (so English text stays as it was)."""
    return _written_number(current_language(), f"{float(value):.{decimals}f}", decimals)


@lru_cache(maxsize=1 << 16)
def _written_number(language: str, rounded: str, decimals: int) -> str:
    """Babel's writing of the rounded number `rounded`, once per language and text (a map
    writes the same few thousand numbers tens of thousands of times)."""
    from babel.numbers import format_decimal

    return format_decimal(Decimal(rounded), format=_decimal_pattern(decimals),
                          locale=_locale(language))


def significant(value: float, digits: int = 3) -> str:
    """A number to `digits` significant digits (Python's ``g``), in the current language."""
    text = f"{float(value):.{digits}g}"
    if "e" in text:
        return number(value)
    return number(float(text), len(text.split(".")[1]) if "." in text else 0)


def percent(share: float, decimals: int = 0) -> str:
    """A share (0.25) as a percentage in the current language (``25%`` / ``25 %``)."""
    return _written_percent(current_language(), f"{float(share) * 100:.{decimals}f}", decimals)


@lru_cache(maxsize=1 << 16)
def _written_percent(language: str, rounded: str, decimals: int) -> str:
    """Babel's writing of the percentage `rounded` (already times 100), once per text."""
    from babel.numbers import format_percent

    return format_percent(Decimal(rounded) / 100, format=_percent_pattern(language, decimals),
                          locale=_locale(language))


def ngettext(singular: str, plural: str, n: int) -> str:
    """`singular` or `plural` by the count `n`, in the current language (its plural rule)."""
    forms = plurals(current_language()).get(singular)
    if forms:
        return forms[_plural_rule(current_language())(int(n))]
    return singular if n == 1 else plural


def date(value: dt.date | str) -> str:
    """A date in the current language's medium form (``Dec 1, 2026`` / ``1 dic 2026``)."""
    from babel.dates import format_date

    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(day, format="medium", locale=current_language())


#: What marks a message: in Python ``_``, ``N_``, ``gettext``, ``ngettext``; in templates
#: ``{% trans %}`` blocks and ``_()``.
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
_METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2.ext.babel_extract")]
_TEMPLATE_OPTIONS = {"**/templates/**.html": {
    "extensions": "aiddeserts.maps.rendering._JoinLines", "newstyle_gettext": "true"}}


def extracted_messages() -> list[tuple[str, str, int, str | tuple[str, str]]]:
    """Every marked message of the package: (file, line, message) with the message a plural
    pair for ``ngettext``; sorted by file and line."""
    from babel.messages.extract import extract_from_dir

    package = resources.files("aiddeserts")
    found = []
    for filename, line, message, _comments, _context in extract_from_dir(
            str(package), method_map=_METHODS, options_map=_TEMPLATE_OPTIONS, keywords=KEYWORDS):
        if message and (isinstance(message, str) or all(message)):
            found.append((filename, line, message))
    return sorted(found, key=lambda m: (m[0], m[1]))


def template_catalogue() -> bytes:
    """The .pot template (every message to translate, with where it is used), as `pybabel
    extract` writes it."""
    import io

    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    catalog = Catalog(project="aiddeserts", charset="utf-8", fuzzy=False)
    for filename, line, message in extracted_messages():
        catalog.add(message, locations=[(filename, line)])
    out = io.BytesIO()
    write_po(out, catalog, omit_header=False, sort_output=True, width=100)
    text = out.getvalue().decode("utf-8")
    # The creation date changes every run: keep the template byte-stable.
    lines = [ln for ln in text.splitlines(keepends=True) if not ln.startswith('"POT-Creation-Date')]
    return "".join(lines).encode("utf-8")


def missing_messages(language: str) -> list[str]:
    """Messages the code or templates mark that ``language`` does not translate."""
    if language == SOURCE_LANGUAGE:
        return []
    done = set(catalogue(language)) | set(plurals(language))
    found = {m if isinstance(m, str) else m[0] for _f, _l, m in extracted_messages()}
    return sorted(found - done)


def check_languages(map_config: dict, source: str) -> None:
    """Raises InputError when `map.language` or `map.languages` names a language with no
    shipped catalogue (naming the key and the languages there are)."""
    from aiddeserts.errors import InputError

    have = available_languages()
    wanted = [("map.language", map_config.get("language"))]
    wanted += [(f"map.languages[{i}]", lang) for i, lang in enumerate(map_config.get("languages") or [])]
    for key, lang in wanted:
        if lang is not None and lang not in have:
            raise InputError(f"{source}: config key '{key}': no messages for language {lang!r}; "
                             f"available: {', '.join(have)}.",
                             fix="use one of them, or add a catalogue (config/README.md, Languages).")
