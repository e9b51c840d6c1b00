"""Map stage (workflow/rules/map.smk): the maps' shapes, the interactive HTML map, the static
figure and the data-walk posters."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from aiddeserts.io.files import atomic_path, read_density_tags, read_geotiff, read_gpkg

if TYPE_CHECKING:  # only for annotations
    import geopandas as gpd

    from aiddeserts.maps.shapes import MapShapes

log = logging.getLogger(__name__)


def map_title(title: str | None, map_config: Mapping[str, Any], region_name: str) -> str:
    """The map's title: `map.title`, else the region's `title`, else its name."""
    return map_config.get("title") or title or region_name


def source_labels(map_config: Mapping[str, Any], assets: Sequence[Mapping[str, Any]]
                  ) -> list[str]:
    """Sources named on the figure: `map.sources` with dates, else the asset sources' labels."""
    sources = [s["name"] + (f" ({s['date']})" if s.get("date") else "")
               for s in map_config["sources"]]
    return sources or sorted({s.get("label", s["path"].rsplit("/", 1)[-1]) for s in assets})


def make_map_shapes(tracts_path: str, tract_id: str | None, places: Any, out_path: str) -> None:
    """map_shapes.gpkg: the prepared tracts' simplified outlines for the web map and, unless the
    region draws its own places (`places`: its `map.places`), county outlines for the static
    map (:mod:`aiddeserts.maps.shapes`)."""
    from aiddeserts.maps import shapes

    tracts = read_gpkg(tracts_path)
    made = shapes.map_shapes(tracts, tract_id, counties=not places)
    shapes.write_map_shapes(made, shapes.tracts_fingerprint(tracts, tract_id), out_path)


def _shapes(shapes_path: str | None, tracts: gpd.GeoDataFrame, tract_id: str | None
            ) -> MapShapes | None:
    """map_shapes.gpkg's shapes when they were made from `tracts`, else None (the map makes
    them itself)."""
    from aiddeserts.maps.shapes import read_map_shapes

    if not shapes_path:
        return None
    made = read_map_shapes(shapes_path, tracts, tract_id)
    if made is None:
        log.info("%s was made from other tracts; drawing the shapes again", shapes_path)
    return made


def make_map(region_name: str, title: str | None, map_config: Mapping[str, Any],
             tract_id: str, classification: Mapping[str, Any], min_respondents: int,
             privacy: Mapping[str, Any], tracts_path: str, assets_path: str,
             density_path: str, out_html: str, need: Sequence[Mapping[str, Any]] | None = None,
             asset_counts_path: str | None = None, asset_rejects_path: str | None = None,
             stories: pd.DataFrame | None = None, stories_path: str | None = None,
             inventory: Mapping[str, Any] | None = None,
             changes_path: str | None = None,
             survey_questions: Sequence[Mapping[str, Any]] | None = None,
             shapes_path: str | None = None) -> None:
    """Render the interactive map to a single HTML file (offline unless `map.offline` is false).

    `need` (the region's `tracts.need`) is named in the About panel. The asset stage's counts
    (`asset_counts_path`: counts_assets.json) and rejects (`asset_rejects_path`:
    rejects_assets.csv) tell the About panel how many listed sites are not counted and why.
    `stories` (or the CSV at `stories_path`; columns: the tract id, ``"story"``; consented and
    redacted) adds a stories layer. Assets (`assets_path`: the inventory) are drawn as
    `privacy.assets_for_display` allows; closed ones greyed or left out (`inventory.closed`),
    each popup with its "Suggest a correction" link when `map.corrections_url` is set;
    `changes_path` (changes.csv) adds the "What changed" layer; `survey_questions` (the
    region's `survey.questions`) the community connections layer and the About panel's list.
    `shapes_path` (map_shapes.gpkg): the tract outlines made beforehand.
    """
    from aiddeserts.maps import webmap
    from aiddeserts.maps.inventory import add_correction_urls, drawn_assets
    from aiddeserts.maps.legends import dropped_sites
    from aiddeserts.privacy.rules import assets_for_display

    tracts = read_gpkg(tracts_path)
    assets = assets_for_display(read_gpkg(assets_path), tracts, tract_id, privacy)
    if inventory:
        assets = drawn_assets(assets, inventory["closed"])
    assets = add_correction_urls(assets, map_config["corrections_url"])
    values, grid, _ = read_geotiff(density_path)
    if stories is None and stories_path:
        stories = pd.read_csv(stories_path, dtype=str, keep_default_na=False)
    counts = (json.loads(Path(asset_counts_path).read_text(encoding="utf-8"))
              if asset_counts_path else None)
    rejects = (pd.read_csv(asset_rejects_path, dtype={"source": str, "reason": str,
                                                      "action": str})
               if asset_rejects_path else None)
    fmap = webmap.build_map(tracts, assets, values, grid, id_col=tract_id,
                            title=map_title(title, map_config, region_name),
                            region_name=map_config.get("region_name") or region_name,
                            map_config=map_config, thresholds=classification,
                            min_respondents=min_respondents, need=need,
                            dropped=dropped_sites(counts, rejects), stories=stories,
                            bandwidth_m=read_density_tags(density_path)[1],
                            changes=pd.read_csv(changes_path, dtype=str, keep_default_na=False)
                            if changes_path else None,
                            survey_questions=survey_questions or (),
                            outlines=getattr(_shapes(shapes_path, tracts, tract_id), "outlines",
                                             None))
    with atomic_path(out_html) as tmp:
        tmp.write_text(webmap.render_deterministic(fmap), encoding="utf-8")


def _places(map_config: Mapping[str, Any], crs: Any) -> Any:
    """The region's places layer (`map.places`) in `crs`, or None when it has none."""
    from aiddeserts.maps.shapes import read_places

    return read_places(map_config["places"], crs) if map_config.get("places") else None


def _language(language: str | None) -> str:
    """The language to render in: `language` (the region's `map.language`), else the
    catalogues' source language."""
    from aiddeserts.i18n import SOURCE_LANGUAGE

    return language or SOURCE_LANGUAGE


def make_figure(region_name: str, title: str | None, map_config: Mapping[str, Any],
                assets: Sequence[Mapping[str, Any]], classification: Mapping[str, Any],
                tracts_path: str, out_png: str, out_pdf: str, assets_csv_path: str | None = None,
                tract_id: str | None = None, language: str | None = None,
                shapes_path: str | None = None) -> None:
    """The static map (PNG for screens, PDF for print): the assets of assets.csv
    (`assets_csv_path`), tract classes, place context (`map.places`, else county outlines from
    the `tract_id` GEOIDs) and legends outside the map frame; without need data it says need was
    not assessed and how to add it. Rendered in `language` (None: English). `shapes_path`
    (map_shapes.gpkg): the county outlines made beforehand."""
    from aiddeserts.i18n import use_language
    from aiddeserts.maps import figure
    from aiddeserts.maps.legends import definitions_for, need_assessed

    tracts = read_gpkg(tracts_path)
    assessed = need_assessed(tracts)
    drawn = (figure.assets_from_table(pd.read_csv(assets_csv_path, dtype=str,
                                                  keep_default_na=False), tracts.crs)
             if assets_csv_path else None)
    with use_language(_language(language)):
        fig = figure.classification_figure(
            tracts, title=map_title(title, map_config, region_name),
            sources=source_labels(map_config, assets), credit=map_config["credit"],
            definitions=definitions_for(classification, assessed), assessed=assessed,
            assets=drawn, id_col=tract_id, places=_places(map_config, tracts.crs),
            shapes=_shapes(shapes_path, tracts, tract_id))
    figure.save_figure(fig, out_png, out_pdf)


def make_datawalk(region_name: str, title: str | None, map_config: Mapping[str, Any],
                  assets: Sequence[Mapping[str, Any]], classification: Mapping[str, Any],
                  tract_id: str, min_respondents: int, tracts_path: str, assets_csv_path: str,
                  stories_path: str, changes_path: str, out_pdf: str,
                  language: str | None = None) -> None:
    """datawalk.pdf: the data-walk posters (:mod:`aiddeserts.maps.datawalk`), from the staged
    public tables only: the tracts (classes, published survey figures), assets.csv, the
    consented stories and changes.csv. Rendered in `language` (the region's
    `map.language`; None: English). `min_respondents` is the survey's suppression threshold."""
    from aiddeserts.i18n import use_language
    from aiddeserts.maps import datawalk, figure
    from aiddeserts.maps.legends import definitions_for, need_assessed
    from aiddeserts.method.classify import distance_words

    tracts = read_gpkg(tracts_path)
    assessed = need_assessed(tracts)
    table = pd.read_csv(assets_csv_path, dtype=str, keep_default_na=False)
    read = {"dtype": str, "keep_default_na": False}
    data = datawalk.WalkData(
        tracts=tracts, assets=figure.assets_from_table(table, tracts.crs),
        stories=pd.read_csv(stories_path, **read), changes=pd.read_csv(changes_path, **read),
        places=_places(map_config, tracts.crs), title=map_title(title, map_config, region_name),
        sources=source_labels(map_config, assets),
        definitions=definitions_for(classification, assessed), assessed=assessed,
        catchment_words=distance_words(classification["catchment_m"]), id_col=tract_id,
        min_respondents=min_respondents)
    with use_language(_language(language)):
        datawalk.write_datawalk(data, out_pdf)
