"""The map as a person opens it: headless Chromium, network blocked, real clicks.

Skipped (with the reason) when Debian's chromium/chromedriver or selenium are missing.
Screenshots are saved under test-artifacts/.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from browser import chromium, page_errors, screenshot, skip_reason
from conftest import REPO, run_snakemake

from aiddeserts.config import validate_config
from aiddeserts.stages.maps import make_map

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")

#: Each payload, if it ever ran, would set window.__xss and raise an alert.
XSS = ['<img src=x onerror="window.__xss=1;alert(1)">',
       '</script><script>window.__xss=2;alert(2)</script>',
       '"><svg onload="window.__xss=3;alert(3)">']
NON_ASCII = "Heladera Solidaria Ñuñoa — 社区冰箱"
MB = 1024 * 1024

_FIND_MAP = """
var map = null, groups = [];
for (var k in window) {
  try {
    if (window[k] instanceof L.Map) { map = window[k]; }
    if (window[k] instanceof L.MarkerClusterGroup || window[k] instanceof L.GeoJSON) {
      groups.push(window[k]);
    }
  } catch (e) {}
}
"""

_OPEN_EVERY_POPUP = _FIND_MAP + """
// Leaflet closes the previous popup when the next opens (autoClose), so each popup's rendered
// text is read as it opens, not from the page afterwards.
var texts = [];
groups.forEach(function (g) {
  g.eachLayer(function (m) {
    var where = m.getLatLng ? m.getLatLng() : m.getBounds().getCenter();
    if (m.getPopup()) {
      var popup = L.popup().setLatLng(where).setContent(m.getPopup().getContent()).openOn(map);
      texts.push(popup.getElement().innerText);
    }
    if (m.getTooltip()) {
      var tip = L.tooltip().setLatLng(where).setContent(m.getTooltip().getContent()).addTo(map);
      texts.push(tip.getElement().innerText);
    }
  });
});
return texts;
"""


_DESERT_POINT = _FIND_MAP + """
var box = map.getContainer().getBoundingClientRect(), found = null;
groups.forEach(function (g) {
  if (!(g instanceof L.GeoJSON) || !map.hasLayer(g)) { return; }
  g.eachLayer(function (layer) {
    if (found || layer.feature.properties.c !== 0) { return; }
    var p = map.latLngToContainerPoint(layer.getBounds().getCenter());
    var hit = document.elementFromPoint(box.left + p.x, box.top + p.y);
    if (hit && hit.tagName.toLowerCase() === 'path') { found = [box.left + p.x, box.top + p.y]; }
  });
});
return found;
"""


def no_alert(driver) -> bool:
    from selenium.common.exceptions import NoAlertPresentException

    try:
        _ = driver.switch_to.alert
    except NoAlertPresentException:
        return True
    return False


def exercise(driver, html: Path, shot: str) -> None:
    """Open the map offline and use it as a person would, asserting at each step."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    driver.get(html.resolve().as_uri())
    time.sleep(1.5)
    assert no_alert(driver)
    assert page_errors(driver) == []
    assert driver.execute_script("return typeof L") == "object"  # Leaflet loaded without network
    # The basemap cannot load with the network blocked: the notice says so.
    assert driver.find_element(By.ID, "aid-tile-notice").is_displayed()

    # Every layer toggles, and its legend hides and shows with it.
    boxes = driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-overlays input")
    assert len(boxes) >= 4
    for box in boxes:
        before_legends = len(driver.find_elements(By.CSS_SELECTOR, ".aid-legend"))
        before_nodes = driver.execute_script(
            "return document.querySelectorAll('.leaflet-map-pane *').length")
        was_on = box.is_selected()
        box.click()
        time.sleep(0.3)
        legends = len(driver.find_elements(By.CSS_SELECTOR, ".aid-legend"))
        nodes = driver.execute_script(
            "return document.querySelectorAll('.leaflet-map-pane *').length")
        assert box.is_selected() != was_on
        assert legends == before_legends + (-1 if was_on else 1)
        assert (nodes < before_nodes) if was_on else (nodes > before_nodes)
        box.click()
        time.sleep(0.3)
        assert len(driver.find_elements(By.CSS_SELECTOR, ".aid-legend")) == before_legends

    # A real click on a desert tract opens its popup, which names the class and says why.
    point = driver.execute_script(_DESERT_POINT)
    assert point is not None, "no desert tract visible"
    ActionChains(driver).move_by_offset(int(point[0]), int(point[1])).click().perform()
    time.sleep(0.5)
    popup = driver.find_element(By.CSS_SELECTOR, ".leaflet-popup-content").text
    assert "Mutual aid desert" in popup and "Why:" in popup
    # Deserts are hatched as well as coloured: their fill is a pattern the page holds.
    assert driver.execute_script(
        "var p = document.querySelectorAll('path[fill=\"url(#aid-hatch-d55e00)\"]');"
        "return p.length > 0 && document.getElementById('aid-hatch-d55e00') !== null;")
    screenshot(driver, shot)
    driver.find_element(By.CSS_SELECTOR, ".leaflet-popup-close-button").click()
    driver.find_element(By.CSS_SELECTOR, ".aid-title summary").click()
    time.sleep(0.3)
    assert "Undercount" in driver.find_element(By.CSS_SELECTOR, ".aid-about").text
    screenshot(driver, shot.replace(".png", "_about.png"))
    assert page_errors(driver) == []


def test_payloads_stay_inert_in_a_real_browser(tmp_path, tiny_region):
    raw = Path(tiny_region["regions"]["tiny"]["assets"]["path"])
    assets = pd.read_csv(raw)
    assets["Site"] = [XSS[0], XSS[1], XSS[2], NON_ASCII, "Fridge 4", "Fridge 5"]
    assets["Kind"] = [XSS[1], "fridge", XSS[0], "pantry", "fridge", "pantry"]
    assets["Notes"] = XSS * 2
    assets["Updated"] = XSS[2]
    assets.to_csv(raw, index=False)
    region = tiny_region["regions"]["tiny"]
    region["assets"].update(notes="Notes", updated="Updated", label=XSS[1],
                            community_reported=True)
    region["title"] = XSS[0]
    region["map"] = {"about": XSS[1], "credit": XSS[2], "vintage": XSS[0],
                     "sources": [{"name": XSS[0], "date": XSS[1], "url": "javascript:alert(9)"}]}
    work = tmp_path / "run"
    result = run_snakemake(work, tiny_region, "outputs/tiny/map.html")
    assert result.returncode == 0, result.stderr[-3000:]
    # The lead wires consented stories in; here a small frame with payloads goes in directly.
    stories = pd.DataFrame({"TRACT_CODE": ["T15", "T15", "T00"],
                            "story": [XSS[0], XSS[1], NON_ASCII]})
    html = tmp_path / "map_with_stories.html"
    resolved = validate_config(tiny_region)["regions"]["tiny"]
    # This copy also has the need × access layer (toggled with the others by `exercise`).
    make_map("tiny", resolved.get("title"), {**resolved["map"], "bivariate": True}, "TRACT_CODE",
             resolved["classification"], resolved["survey_rules"]["min_respondents"],
             resolved["privacy"], tracts_path=str(work / "outputs/tiny/tracts.gpkg"),
             assets_path=str(work / "data/processed/tiny/assets.gpkg"),
             density_path=str(work / "outputs/tiny/density.tif"), out_html=str(html),
             need=resolved["tracts"]["need"],
             asset_counts_path=str(work / "data/processed/tiny/counts_assets.json"),
             asset_rejects_path=str(work / "data/processed/tiny/rejects_assets.csv"),
             stories=stories)
    with chromium() as driver:
        for page in (work / "outputs/tiny/map.html", html):
            driver.get(page.resolve().as_uri())
            time.sleep(1.5)
            texts = driver.execute_script(_OPEN_EVERY_POPUP)
            assert len(texts) >= 2 * 16 + 6
            time.sleep(0.5)
            assert no_alert(driver), "a payload raised an alert"
            assert driver.execute_script("return window.__xss") is None
            # Each popup as rendered: non-ASCII names reach the reader intact, payloads are
            # shown as text, never run.
            assert any(NON_ASCII in text for text in texts), "non-ASCII name not rendered"
            assert any("<img src=x" in text for text in texts), "payload not shown as text"
            assert all("\ufffd" not in text for text in texts)
        exercise(driver, html, "tiny_map.png")
        assert driver.execute_script("return window.__xss") is None


@pytest.fixture(scope="module")
def nyc_outputs(tmp_path_factory) -> Path:
    """The NYC demo run for real (the repository's demo data, about 20 s)."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    region = config["regions"]["nyc"]
    for section in (region["tracts"], region["tracts"]["attributes"], region["survey"],
                    *region["assets"]):
        section["path"] = str(REPO / section["path"])
    work = tmp_path_factory.mktemp("nyc")
    result = run_snakemake(work, config, "outputs/nyc/map.html")
    assert result.returncode == 0, result.stderr[-3000:]
    return work / "outputs" / "nyc"


def test_nyc_demo_map_meets_budget_and_works_offline(nyc_outputs):
    html = nyc_outputs / "map.html"
    assert html.stat().st_size < 5 * MB
    with chromium() as driver:
        exercise(driver, html, "nyc_map.png")


def test_nyc_static_figure_png_and_pdf(nyc_outputs):
    png, pdf = nyc_outputs / "map.png", nyc_outputs / "map.pdf"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    from PIL import Image

    with Image.open(png) as image:
        assert image.size == (1275, 1650)  # US Letter at 150 dpi
        colours = {c for _, c in image.convert("RGB").getcolors(1 << 20)}
    assert (0xD5, 0x5E, 0x00) in colours  # deserts drawn in their legend colour


def test_nyc_demo_classes_say_only_what_was_measured(nyc_outputs):
    """On the real NYC data: no `served` (or fragile, or strength) tract fails the access test,
    and the classes' counts in summary.json add up to the tracts."""
    import json

    import geopandas as gpd

    tracts = gpd.read_file(nyc_outputs / "tracts.gpkg")
    passes = tracts["desert_class"].isin(["served", "fragile", "strength"])
    assert passes.any() and not tracts.loc[passes, "access_low"].any()
    assert (tracts["desert_class"] == "low_access").sum() > 0
    summary = json.loads((nyc_outputs / "summary.json").read_text())
    assert sum(summary["classes"].values()) == summary["tracts_total"] == len(tracts)
