"""Map stage (workflow/rules/map.smk): the interactive HTML map and the static figure."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from aiddeserts.io.files import atomic_path, read_density_tags, read_geotiff, read_gpkg


def map_title(title: str | None, map_config: Mapping[str, Any], region_name: str) -> str:
    """The map's title: `map.title`, else the region's `title`, else its name."""
    return map_config.get("title") or title or region_name


def source_labels(map_config: Mapping[str, Any], assets: Sequence[Mapping[str, Any]]
                  ) -> list[str]:
    """Sources named on the figure: `map.sources` with dates, else the asset sources' labels."""
    sources = [s["name"] + (f" ({s['date']})" if s.get("date") else "")
               for s in map_config["sources"]]
    return sources or sorted({s.get("label", s["path"].rsplit("/", 1)[-1]) for s in assets})


def make_map(region_name: str, title: str | None, map_config: Mapping[str, Any],
             tract_id: str, classification: Mapping[str, Any], min_respondents: int,
             privacy: Mapping[str, Any], tracts_path: str, assets_path: str,
             density_path: str, out_html: str, need: Sequence[Mapping[str, Any]] | None = None,
             asset_counts_path: str | None = None, asset_rejects_path: str | None = None,
             stories: pd.DataFrame | None = None, stories_path: str | None = None,
             inventory: Mapping[str, Any] | None = None,
             changes_path: str | None = None,
             survey_questions: Sequence[Mapping[str, Any]] | None = None) -> None:
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
                            survey_questions=survey_questions or ())
    with atomic_path(out_html) as tmp:
        tmp.write_text(webmap.render_deterministic(fmap), encoding="utf-8")


def make_figure(region_name: str, title: str | None, map_config: Mapping[str, Any],
                assets: Sequence[Mapping[str, Any]], classification: Mapping[str, Any],
                tracts_path: str, out_png: str, out_pdf: str) -> None:
    """The static classification map (PNG for screens, PDF for print); without need data it
    says need was not assessed and how to add it."""
    from aiddeserts.maps import figure
    from aiddeserts.maps.legends import definitions_for, need_assessed

    tracts = read_gpkg(tracts_path)
    assessed = need_assessed(tracts)
    fig = figure.classification_figure(
        tracts, title=map_title(title, map_config, region_name),
        sources=source_labels(map_config, assets), credit=map_config["credit"],
        definitions=definitions_for(classification, assessed), assessed=assessed)
    figure.save_figure(fig, out_png, out_pdf)
