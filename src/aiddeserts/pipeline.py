"""Entry functions, one per Snakemake rule. Each reads files, calls the stage modules, writes files.

Scripts under workflow/scripts/ only map `snakemake.input/output/params` onto these arguments,
so every stage can also be run from a Python shell for debugging.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from aiddeserts import access, density, ingest, need, publishing
from aiddeserts import classify as classify_mod
from aiddeserts.config import need_variables
from aiddeserts.io import (
    atomic_path,
    read_geotiff,
    read_gpkg,
    read_json,
    write_csv,
    write_geotiff,
    write_gpkg,
    write_json,
)
from aiddeserts.zonal import zone_raster


def prepare_tracts(region: Mapping[str, Any], out_tracts: str, out_rejects: str,
                   out_counts: str) -> None:
    """Read and validate tracts (+ attributes), reproject to the working CRS."""
    tracts, rejects = ingest.read_tracts(region["tracts"])
    rows_read = len(tracts) + int((rejects["reason"].str.startswith("empty")).sum())
    crs = ingest.working_crs(tracts, region.get("working_crs"))
    tracts = tracts.to_crs(crs)
    write_gpkg(tracts, out_tracts, layer="tracts")
    write_csv(rejects, out_rejects)
    write_json({"tracts": {"read": rows_read, "kept": len(tracts),
                           "rejected": rows_read - len(tracts),
                           "repaired": int(rejects["reason"].str.contains("repaired").sum())},
                "working_crs": crs.to_string()}, out_counts)


def prepare_assets(region: Mapping[str, Any], tracts_path: str, out_assets: str,
                   out_rejects: str, out_counts: str) -> None:
    """Read every asset source, join to tracts, keep the allow-listed columns."""
    tracts = read_gpkg(tracts_path)
    assets, rejects, read = ingest.read_assets(region, tracts)
    if assets.empty:
        raise ingest.InputError("no asset of any source lies inside the study area.",
                                path=", ".join(read), fix="check the asset files and their "
                                "coordinates (rejects are listed in the log).")
    write_gpkg(assets, out_assets, layer="assets")
    write_csv(rejects, out_rejects)
    write_json({"assets": {"read": sum(read.values()), "kept": len(assets),
                           "rejected": len(rejects), "by_source": read}}, out_counts)


def prepare_survey(region: Mapping[str, Any], tracts_path: str, out_survey: str,
                   out_rejects: str, out_counts: str) -> None:
    """Read the survey (if any) keeping only allow-listed fields. Stays under data/processed/."""
    tracts = read_gpkg(tracts_path)
    id_col = region["tracts"]["id"]
    if region.get("survey"):
        survey, rejects, read = ingest.read_survey(region["survey"], tracts, id_col)
    else:
        survey = tracts.iloc[:0][[id_col, "geometry"]].assign(
            unmet_need=pd.Series(dtype=bool), story_consented=pd.Series(dtype=bool),
            story=pd.Series(dtype=str))
        rejects, read = ingest.empty_rejects(), 0
    write_gpkg(survey, out_survey, layer="survey")
    write_csv(rejects, out_rejects)
    write_json({"survey": {"read": read, "kept": len(survey), "rejected": len(rejects),
                           "configured": bool(region.get("survey"))}}, out_counts)


def build_density(tracts_path: str, assets_path: str, settings: Mapping[str, Any],
                  out_tif: str) -> None:
    """Kernel density of all assets (assets per km²); cells outside every tract are nodata."""
    tracts = read_gpkg(tracts_path)
    assets = read_gpkg(assets_path)
    grid = density.grid_for_bounds(tuple(tracts.total_bounds), settings["cell_size_m"])
    values = density.kernel_density(assets.geometry.x.to_numpy(), assets.geometry.y.to_numpy(),
                                    grid, kernel=settings["kernel"],
                                    bandwidth=settings["bandwidth_m"])
    inside = zone_raster(tracts.geometry, grid) > 0
    values = np.where(inside, values, np.nan)
    write_geotiff(values, grid, tracts.crs, out_tif, tags={
        "units": "assets per km2", "kernel": settings["kernel"],
        "bandwidth_m": settings["bandwidth_m"], "cell_size_m": settings["cell_size_m"]})


def classify_tracts(region: Mapping[str, Any], tracts_path: str, assets_path: str,
                    survey_path: str, density_path: str, classification: Mapping[str, Any],
                    survey_rules: Mapping[str, Any], out_tracts: str) -> None:
    """Access, need and class per tract, written as the shareable tracts layer."""
    tracts_cfg = region["tracts"]
    id_col = tracts_cfg["id"]
    tracts = read_gpkg(tracts_path)
    assets = read_gpkg(assets_path)
    survey = read_gpkg(survey_path)
    values, grid, _ = read_geotiff(density_path)

    out = tracts[[id_col]].copy()
    out["population"] = tracts[tracts_cfg["population"]]
    variables = need_variables(tracts_cfg)
    for spec in variables:
        out[spec["column"]] = tracts[spec["column"]]
    survey_table = need.survey_by_tract(survey, id_col, tracts[id_col],
                                        survey_rules["min_respondents"])
    out = out.join(survey_table)
    need_frame = out.copy()
    if region.get("survey"):
        variables = [*variables, {"column": "survey_unmet_rate", "higher_is_worse": True}]
    out = out.join(need.need_score(need_frame, variables))

    out["access_score"] = access.tract_density(tracts, np.nan_to_num(values), grid).round(4)
    out = out.join(access.counts_by_type(assets, id_col, tracts[id_col]))
    out = out.join(access.nearest_distances(tracts, assets, classification["catchment_m"]))
    out = out.join(classify_mod.classify(
        out["population"], out["need_score"], out["access_score"],
        out["assets_within_catchment"],
        need_threshold=classification["need_threshold"],
        low_access_density=classification["low_access_density"],
        strength_density=classification["strength_density"],
        min_population=classification["min_population"]))
    result = gpd.GeoDataFrame(out, geometry=tracts.geometry, crs=tracts.crs)
    write_gpkg(result, out_tracts, layer="tracts")


def summarize(region_name: str, region: Mapping[str, Any], counts_paths: Sequence[str],
              rejects_paths: Sequence[str], tracts_path: str, parameters: Mapping[str, Any],
              out_summary: str, out_rejects: str) -> None:
    """summary.json (counts read/kept/rejected, parameters, classes) and the merged rejects.csv."""
    counts: dict[str, Any] = {}
    for path in counts_paths:
        counts.update(read_json(path))
    rejects = pd.concat([pd.read_csv(p, dtype={"source": str, "reason": str})
                         for p in rejects_paths], ignore_index=True)
    tracts = read_gpkg(tracts_path)
    classes = tracts["desert_class"].value_counts()
    write_csv(rejects, out_rejects)
    write_json({
        "region": region_name,
        "title": region.get("title", region_name),
        "inputs": counts,
        "rejects_total": len(rejects),
        "parameters": parameters,
        "classes": {c: int(classes.get(c, 0)) for c in classify_mod.CLASSES},
        "tracts_total": len(tracts),
        "population_in_deserts": float(tracts.loc[tracts["is_desert"], "population"].sum()),
    }, out_summary)


def publish(staged: Sequence[str], published: Sequence[str]) -> None:
    """Copy staged files into outputs/, each replaced atomically (see aiddeserts.publishing)."""
    publishing.publish(staged, published)


def make_map(region: Mapping[str, Any], region_name: str, tracts_path: str, assets_path: str,
             density_path: str, out_html: str) -> None:
    """Render the interactive map to a single HTML file."""
    from aiddeserts import webmap

    tracts = read_gpkg(tracts_path)
    assets = read_gpkg(assets_path)
    values, grid, crs = read_geotiff(density_path)
    fmap = webmap.build_map(tracts, assets, values, grid, id_col=region["tracts"]["id"],
                            title=region.get("title", region_name))
    with atomic_path(out_html) as tmp:
        tmp.write_text(webmap.render_deterministic(fmap), encoding="utf-8")
