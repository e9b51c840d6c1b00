"""The map in Spanish and with a language switcher, in a real Chromium (network blocked): class
names, legends and popups in Spanish with Spanish numbers; the switcher changes the language
and the URL keeps the choice."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from browser import chromium, page_errors, screenshot, skip_reason
from conftest import run_snakemake

from aiddeserts.maps.webmap import unpacked_texts

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")

_READY = "return window.aid_i18n !== undefined && aid_i18n.ready && aid_i18n.lang();"

#: Opens the popup of the first tract of the given class on the classification layer and
#: returns its text (and the tooltip's).
_TRACT_POPUP = """
var cls = arguments[0], map = null, layer = null;
for (var k in window) {
  try {
    if (window[k] instanceof L.Map) { map = window[k]; }
    if (window[k] instanceof L.GeoJSON && map && map.hasLayer(window[k])) { layer = window[k]; }
  } catch (e) {}
}
var found = null;
layer.eachLayer(function (t) { if (!found && t.feature.properties.c === cls) { found = t; } });
found.openPopup();
var text = document.querySelector('.leaflet-popup-content').innerText;
found.openTooltip();
return [text, found.getTooltip().getElement().innerText];
"""


def wait_ready(driver, timeout: float = 10.0) -> str:
    end = time.time() + timeout
    while time.time() < end:
        lang = driver.execute_script(_READY)
        if lang:
            return lang
        time.sleep(0.1)
    raise AssertionError("the page's texts were never unpacked")


def legends(driver) -> str:
    from selenium.webdriver.common.by import By

    return " ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, ".aid-legend"))


@pytest.fixture
def bilingual_map(tmp_path, tiny_region) -> Path:
    """The tiny region's map built by the workflow in Spanish with an English switch."""
    tiny_region["regions"]["tiny"]["map"] = {"language": "es", "languages": ["es", "en"]}
    result = run_snakemake(tmp_path / "run", tiny_region, "outputs/tiny/map.html")
    assert result.returncode == 0, result.stderr[-3000:]
    page = tmp_path / "run" / "outputs" / "tiny" / "map.html"
    first = page.read_bytes()
    again = run_snakemake(tmp_path / "run", tiny_region, "outputs/tiny/map.html",
                          extra=("--forcerun", "web_map"))
    assert again.returncode == 0, again.stderr[-3000:]
    assert page.read_bytes() == first  # same inputs, same bytes (packed texts included)
    return page


def test_spanish_map_and_switcher(bilingual_map):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    with chromium() as driver:
        driver.get(bilingual_map.resolve().as_uri())
        assert wait_ready(driver) == "es"
        assert driver.execute_script("return document.documentElement.lang") == "es"
        text = legends(driver)
        assert "Desierto de ayuda mutua" in text and "Sectores censales" in text
        assert "Lo que tienen las comunidades" in text
        assert "Mutual aid desert" not in text and "Census tracts" not in text
        about = driver.find_element(By.CSS_SELECTOR, ".aid-title").get_attribute("innerHTML")
        assert "Acerca de este mapa" in about and "About this map" not in about
        layers = driver.find_element(By.CSS_SELECTOR, ".leaflet-control-layers").text
        assert "Clasificación de sectores" in layers and "Tract classification" not in layers

        popup, tooltip = driver.execute_script(_TRACT_POPUP, 0)
        assert "Por qué:" in popup and "Residentes:" in popup and "Why:" not in popup
        assert "Desierto de ayuda mutua" in popup and "Desierto de ayuda mutua" in tooltip
        # Spanish numbers: a decimal comma in the density, "%" after a space-free number.
        assert re.search(r"\d,\d\d por km²", popup), popup
        assert not re.search(r"\d\.\d\d per km²", popup)
        screenshot(driver, "i18n_es_popup.png")
        driver.execute_script("document.querySelector('.leaflet-popup-close-button').click()")

        # The switcher: English everywhere, and the URL remembers it.
        Select(driver.find_element(By.ID, "aid-language")).select_by_value("en")
        assert wait_ready(driver) == "en"
        time.sleep(0.3)
        assert driver.current_url.endswith("#lang=en")
        text = legends(driver)
        assert "Mutual aid desert" in text and "Desierto de ayuda mutua" not in text
        layers = driver.find_element(By.CSS_SELECTOR, ".leaflet-control-layers").text
        assert "Tract classification" in layers
        popup, _tooltip = driver.execute_script(_TRACT_POPUP, 0)
        assert "Why:" in popup and "Por qué" not in popup
        assert re.search(r"\d\.\d\d per km²", popup), popup

        # Opened again with the URL it left: still English; with ?lang=es, Spanish.
        driver.get(bilingual_map.resolve().as_uri() + "#lang=en")
        assert wait_ready(driver) == "en"
        assert "Mutual aid desert" in legends(driver)
        driver.get(bilingual_map.resolve().as_uri() + "?lang=es")
        assert wait_ready(driver) == "es"
        assert Select(driver.find_element(By.ID, "aid-language")).first_selected_option.text \
            == "español"
        assert page_errors(driver) == []
    # What the privacy audit reads of the page: every language's packed texts.
    packed = unpacked_texts(bilingual_map.read_text(encoding="utf-8"))
    assert "Sector T00" in packed and "Tract T00" in packed
