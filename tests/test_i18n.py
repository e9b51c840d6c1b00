"""The message catalogues: Spanish complete, numbers per language, English text unchanged,
map.language(s) checked, the `messages` command, and the packed texts of a multilingual map."""

from __future__ import annotations

import base64
import gzip
import json
import random
import subprocess
import sys

import pytest

from aiddeserts import i18n
from aiddeserts.config import validate_config
from aiddeserts.errors import InputError
from aiddeserts.maps import legends, popups
from aiddeserts.method.classify import CLASS_LABELS, CLASSES, class_definitions, class_label


def test_spanish_translates_every_message_of_the_package():
    assert i18n.missing_messages("es") == []


def test_extraction_reads_python_and_templates():
    messages = {m if isinstance(m, str) else m[0] for _f, _l, m in i18n.extracted_messages()}
    files = {f for f, _l, _m in i18n.extracted_messages()}
    assert "Mutual aid desert" in messages  # N_ in method/classify.py
    assert "About this map" in messages  # {% trans %} in maps/templates/about.html
    assert "Mapped mutual aid in %(region)s:" in messages  # a trans block with a value
    assert any(f.endswith("about.html") for f in files) and any(f.endswith(".py") for f in files)
    # What the runtime looks up is what was extracted: the template's joined lines.
    with i18n.use_language("es"):
        assert i18n._("About this map") == "Acerca de este mapa"


def test_template_catalogue_lists_every_message_and_is_stable():
    from babel.messages.pofile import read_po

    first = i18n.template_catalogue()
    assert first == i18n.template_catalogue()
    import io

    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(io.BytesIO(first)) if m.id}
    assert ids == {m if isinstance(m, str) else m[0] for _f, _l, m in i18n.extracted_messages()}


def test_english_numbers_are_pythons_and_spanish_numbers_are_spanish():
    rng = random.Random(7)
    for _ in range(2000):
        value = rng.uniform(-1e6, 1e6) * rng.choice([1, 1e-3, 1e-6])
        for decimals in (0, 1, 2):
            assert i18n.number(value, decimals) == f"{value:,.{decimals}f}"
        share = rng.random()
        assert i18n.percent(share) == f"{share * 100:.0f}%"
    with i18n.use_language("es"):
        assert i18n.number(12345.678, 1) == "12.345,7"
        assert i18n.number(1234) == "1.234"
        assert i18n.significant(1.5) == "1,5"
        assert i18n.percent(0.255) == "26\u00a0%"  # Spanish: a (non-breaking) space before %
        assert i18n.date("2026-12-01") == "1 dic 2026"


def test_spanish_class_names_definitions_and_plurals():
    with i18n.use_language("es"):
        labels = [class_label(c) for c in CLASSES]
        assert labels[0] == "Desierto de ayuda mutua"
        assert not set(labels) & set(CLASS_LABELS.values())
        definitions = class_definitions(800, 16093)
        assert "800 m en zonas urbanas, 10 millas en zonas rurales" in definitions["fragile"]
        assert popups.margin_words(1).startswith("1 recurso más")
        assert popups.margin_words(2).startswith("2 recursos más")
        html = legends.class_legend_html({c: 1234 for c in CLASSES}, definitions)
        assert "Desierto de ayuda mutua" in html and "(1.234 sectores)" in html
        assert "Mutual aid desert" not in html and "tracts)" not in html
    # Out of the block, English again, as it always read.
    assert class_label("desert") == "Mutual aid desert"
    assert class_definitions(800, 16093)["fragile"].endswith(
        "(800 m in towns, 10 miles in the countryside): one closure away from a desert.")


def _config(map_section: dict) -> dict:
    return {"regions": {"x": {"tracts": {"path": "t.gpkg", "id": "GEOID"},
                              "assets": {"path": "a.csv"}, "map": map_section}}}


def test_map_languages_are_checked_against_the_catalogues():
    resolved = validate_config(_config({}))["regions"]["x"]["map"]
    assert resolved["language"] == "en" and resolved["languages"] == []
    assert validate_config(_config({"language": "es", "languages": ["en", "es"]}))
    with pytest.raises(InputError, match=r"'map.language'.*'xx'.*available: en, es"):
        validate_config(_config({"language": "xx"}))
    with pytest.raises(InputError, match=r"'map.languages\[1\]'"):
        validate_config(_config({"languages": ["en", "klingon"]}))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aiddeserts.cli", *args], capture_output=True,
                          text=True)


def test_messages_command_checks_a_language_and_writes_the_template(tmp_path):
    done = _cli("messages", "check", "es")
    assert done.returncode == 0, done.stderr
    assert "es:" in done.stderr and "missing" not in done.stderr
    unknown = _cli("messages", "check", "xx")
    assert unknown.returncode == 3 and "available: en, es" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    out = tmp_path / "aiddeserts.pot"
    assert _cli("messages", "template", "-o", str(out)).returncode == 0
    assert out.read_bytes() == i18n.template_catalogue()
    assert 'msgid "Mutual aid desert"' in out.read_text(encoding="utf-8")


def test_packed_texts_are_deterministic_gzip_json():
    from aiddeserts.maps.webmap import gzip_base64

    data = {"p": ["<b>Sector 1</b> ñ", None], "a": [["x"]]}
    packed = gzip_base64(data)
    assert packed == gzip_base64(data)
    assert json.loads(gzip.decompress(base64.b64decode(packed))) == data


def test_privacy_audit_reads_the_packed_texts_of_a_multilingual_map(tmp_path):
    from types import SimpleNamespace

    from aiddeserts.maps.rendering import js_template
    from aiddeserts.maps.webmap import gzip_base64, unpacked_texts
    from aiddeserts.privacy.audit import ValueMatcher, file_contents, text_variants

    secret = "Canary Name 17 told us <this>"
    config = {"default": "es", "languages": ["es", "en"],
              "texts": {"es": gzip_base64({"st": [secret]}), "en": gzip_base64({"st": ["x"]})}}
    script = js_template("languages.js").module.script(SimpleNamespace(config=config), {})
    page = tmp_path / "map.html"
    page.write_text(f"<html><script>{script}</script></html>", encoding="utf-8")
    assert secret not in page.read_text(encoding="utf-8")  # packed: invisible to a plain search
    assert secret in unpacked_texts(page.read_text(encoding="utf-8"))
    texts, _pairs, _vertices = file_contents(page)
    assert any(secret in variant for text in texts for variant in text_variants(text.text))
    assert ValueMatcher({"survey name": [secret]}).count(texts) == {"survey name": 1}


def test_numbers_and_percentages_are_babels_own_with_the_locale_and_patterns_parsed_once():
    """number() and percent() reuse one parsed locale and pattern and write each number once
    (a map writes tens of thousands of numbers); the text is what Babel gives from the locale
    name and pattern text, the value rounded as Python's formatting rounds it."""
    from decimal import Decimal

    from babel import Locale
    from babel.numbers import format_decimal, format_percent

    def rounded(value: float, decimals: int) -> Decimal:
        return Decimal(f"{value:.{decimals}f}")

    rng = random.Random(3)
    for language in i18n.available_languages():
        with i18n.use_language(language):
            for _ in range(3000):
                value = rng.uniform(-2e6, 2e6) if rng.random() < 0.5 else rng.random()
                decimals = rng.randint(0, 3)
                places = "." + "0" * decimals if decimals else ""
                assert i18n.number(value, decimals) == format_decimal(
                    rounded(value, decimals), format="#,##0" + places, locale=language)
                own = Locale.parse(language).percent_formats[None].pattern.split(";")[0]
                assert i18n.percent(value, decimals) == format_percent(
                    rounded(value * 100, decimals) / 100,
                    format=own.replace("#,##0", "#,##0" + places, 1), locale=language)
                hits = i18n._written_number.cache_info().hits
                assert i18n.number(value, decimals) == i18n.number(value, decimals)
                assert i18n._written_number.cache_info().hits > hits
