"""Entry functions, one per Snakemake rule. Each reads files, calls the stage modules, writes files.

Scripts under workflow/scripts/ only map `snakemake.input/output/params` onto these arguments,
so every stage can also be run from a Python shell for debugging. Stage modules with costly
imports (the density and method layer: scipy.signal, scipy.stats; ingest: scipy.ndimage) are
imported by the entry functions that use them, so the other jobs start faster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from aiddeserts import publishing
from aiddeserts.config import need_variables
from aiddeserts.io.files import (
    atomic_path,
    copy_file,
    read_geotiff,
    read_gpkg,
    read_json,
    write_csv,
    write_geotiff,
    write_gpkg,
    write_json,
)
from aiddeserts.method import classify as classify_mod
from aiddeserts.privacy import rules as privacy

if TYPE_CHECKING:
    from aiddeserts.method import confidence, density


def prepare_tracts(region: Mapping[str, Any], out_tracts: str, out_rejects: str,
                   out_counts: str) -> None:
    """Read and validate tracts (+ attributes), reproject to the working CRS."""
    from aiddeserts.io.crs import working_crs
    from aiddeserts.io.rejects import count_rows
    from aiddeserts.io.tracts import load_tracts

    tracts, rejects, read = load_tracts(region["tracts"])
    crs = working_crs(tracts, region.get("working_crs"))
    tracts = tracts.to_crs(crs)
    write_gpkg(tracts, out_tracts, layer="tracts")
    write_csv(rejects, out_rejects)
    counts = {"working_crs": crs.to_string()}
    for source, n in read.items():
        kind = source.split(":", 1)[0]
        counts[kind] = count_rows({source: n}, rejects)
    write_json(counts, out_counts)


def prepare_assets(region: Mapping[str, Any], tracts_path: str, out_assets: str,
                   out_rejects: str, out_counts: str,
                   privacy_settings: Mapping[str, Any] | None = None,
                   out_exact: str | None = None) -> None:
    """Read every asset source, join to tracts, keep the allow-listed columns.

    `out_assets` holds every asset at the location analysis may use: `approximate` and `hidden`
    assets moved to a coarse place (privacy.protected_locations), so density and distances
    never rest on their exact place; `out_exact` keeps exact locations for the privacy audit.
    """
    from aiddeserts.io.assets import read_assets
    from aiddeserts.io.rejects import count_rows

    tracts = read_gpkg(tracts_path)
    assets, rejects, read = read_assets(region, tracts)
    if out_exact:
        write_gpkg(assets, out_exact, layer="assets")
    if out_exact and not privacy.any_protected(assets):
        # Every asset is public: the analysis layer is the exact one, byte for byte.
        copy_file(out_exact, out_assets)
    else:
        settings = privacy_settings or {}
        assets = privacy.protected_locations(assets, tracts, region["tracts"]["id"],
                                             settings.get("approximate_to", "tract"),
                                             settings.get("approximate_grid_m", 500.0))
        write_gpkg(assets, out_assets, layer="assets")
    write_csv(rejects, out_rejects)
    write_json({"assets": count_rows(read, rejects)}, out_counts)


def prepare_survey(region: Mapping[str, Any], tracts_path: str, out_survey: str,
                   out_rejects: str, out_counts: str, min_respondents: int = 11) -> None:
    """Read the survey (if any) keeping only allow-listed fields. Stays under data/processed/."""
    from aiddeserts.io.rejects import count_rows, empty_rejects
    from aiddeserts.io.survey import read_survey

    tracts = read_gpkg(tracts_path)
    id_col = region["tracts"]["id"]
    if region.get("survey"):
        survey, rejects, read = read_survey(region["survey"], tracts, id_col, min_respondents)
        counts = count_rows({f"survey:{region['survey']['path']}": read}, rejects)
    else:
        survey = tracts.iloc[:0][[id_col, "geometry"]].assign(
            unmet_need=pd.Series(dtype=bool), story_consented=pd.Series(dtype=bool),
            story=pd.Series(dtype=str))
        rejects = empty_rejects()
        counts = count_rows({}, rejects)
    write_gpkg(survey, out_survey, layer="survey")
    write_csv(rejects, out_rejects)
    write_json({"survey": {**counts, "configured": bool(region.get("survey"))}}, out_counts)


def build_density(tracts_path: str, assets_path: str, settings: Mapping[str, Any],
                  out_tif: str) -> None:
    """Kernel density of all assets (assets per km²); cells outside every tract are nodata.

    `bandwidth_m: auto` is resolved here (`density.auto_bandwidth`); the bandwidth used is
    written to the GeoTIFF's tags, where the classify stage reads it back.
    """
    from aiddeserts.method import density
    from aiddeserts.method.zonal import zone_raster

    tracts = read_gpkg(tracts_path)
    assets = read_gpkg(assets_path, columns=[])  # the points only
    x, y = assets.geometry.x.to_numpy(), assets.geometry.y.to_numpy()
    bandwidth = density.resolve_bandwidth(settings["bandwidth_m"], x, y, settings["kernel"])
    grid = density.grid_for_bounds(tuple(tracts.total_bounds), settings["cell_size_m"])
    values = density.kernel_density(x, y, grid, kernel=settings["kernel"], bandwidth=bandwidth)
    inside = zone_raster(tracts.geometry, grid) > 0
    values = np.where(inside, values, np.nan)
    write_geotiff(values, grid, tracts.crs, out_tif, tags={
        "units": "assets per km2", "kernel": settings["kernel"],
        "bandwidth_m": bandwidth, "cell_size_m": settings["cell_size_m"]})


def classify_tracts(region: Mapping[str, Any], tracts_path: str, assets_path: str,
                    survey_path: str, density_path: str, classification: Mapping[str, Any],
                    survey_rules: Mapping[str, Any], out_tracts: str) -> None:
    """Access, need, class and confidence per tract, written as the shareable tracts layer."""
    from aiddeserts.method import access, catchment, confidence, density, need
    from aiddeserts.method.zonal import zone_raster

    cls = classification
    tracts_cfg = region["tracts"]
    id_col = tracts_cfg["id"]
    tracts = read_gpkg(tracts_path)
    # Only the columns used here (names, notes and sources of 1e5 assets cost a read).
    assets = read_gpkg(assets_path, columns=list(dict.fromkeys([id_col, "type", "capacity"])))
    survey = read_gpkg(survey_path, columns=[id_col, "unmet_need"])
    values, grid, _ = read_geotiff(density_path)
    kernel, bandwidth = read_geotiff_tags(density_path)

    out = tracts[[id_col]].copy()
    out["population"] = tracts[tracts_cfg["population"]]
    eligible = out["population"].fillna(0) >= cls["min_population"]
    variables = need_variables(tracts_cfg)
    for spec in variables:
        out[spec["column"]] = tracts[spec["column"]]
    k_min = survey_rules["min_respondents"]
    survey_table = need.survey_by_tract(survey, id_col, tracts[id_col], k_min)
    out = out.join(survey_table)
    smoothed, _, _ = need.survey_smoothed(survey, id_col, tracts[id_col], k_min)
    out["survey_unmet_rate_eb"] = smoothed.round(4)
    # The survey enters need through its empirical-Bayes rate (never the raw rate).
    need_frame = tracts.drop(columns=tracts.geometry.name).assign(
        survey_unmet_rate=out["survey_unmet_rate_eb"])
    if region.get("survey"):
        variables = [*variables, {"column": "survey_unmet_rate", "higher_is_worse": True}]
    out = out.join(need.need_score(need_frame, variables, eligible))
    interval = need.need_score_interval(need_frame, variables, eligible,
                                        draws=cls["need_draws"], seed=cls["seed"])
    out = out.join(interval.round(4))
    threshold = cls["need_threshold"]
    out["need_uncertain"] = ((out["need_score_low"] < threshold)
                             & (out["need_score_high"] >= threshold)).astype(bool)

    # Access: density, counts, distances, floating catchment, population beyond reach.
    zones = zone_raster(tracts.geometry, grid)
    out["access_score"] = access.tract_density(tracts, np.nan_to_num(values), grid,
                                               zones).round(4)
    out = out.join(access.counts_by_type(assets, id_col, tracts[id_col]))
    out = out.join(access.nearest_distances(tracts, assets, cls["catchment_m"]))
    rep = tracts.geometry.representative_point()
    rep_xy = np.column_stack([rep.x.to_numpy(), rep.y.to_numpy()])
    assets_xy = np.column_stack([assets.geometry.x.to_numpy(), assets.geometry.y.to_numpy()])
    capacity = (assets["capacity"].to_numpy(float) if "capacity" in assets
                else np.ones(len(assets)))
    fca, _ = catchment.two_step_fca(rep_xy, out["population"].to_numpy(float), assets_xy,
                                    capacity, cls["fca_catchment_m"], cls["fca_decay"],
                                    cls["fca_steps"])
    out["fca_access"] = (fca * 1000.0).round(6)
    urban = catchment.is_urban(out["population"], tracts.geometry.area / 1e6,
                               cls["urban_density"])
    out["urban"] = urban.to_numpy(bool)
    far_m = np.where(out["urban"], cls["far_urban_m"], cls["far_rural_m"])
    out["far_threshold_m"] = far_m.astype(float)
    out["assets_within_threshold"] = catchment.assets_within(rep_xy, assets_xy, far_m)
    points = catchment.population_points(tracts, out["population"], cls["population_cell_m"],
                                         cls["population_points_max"])
    share_far = catchment.share_beyond(points, len(tracts), assets_xy, far_m)
    out["share_beyond_threshold"] = np.round(share_far, 4)
    out["edge_share"] = np.round(density.outside_share(zones > 0, grid, bandwidth,
                                                       rep_xy[:, 0], rep_xy[:, 1]), 4)

    rule = confidence.AccessRule(cls["low_access_density"], cls["low_access_share"],
                                 cls["strength_density"])
    access_low = rule.access_low(out["access_score"].to_numpy(),
                                 out["share_beyond_threshold"].to_numpy(), out["urban"])
    # `fragile` counts assets within walking distance in towns, within FARA's rural distance in
    # the countryside (as the Fed's "potential banking desert" uses 10 miles for rural tracts).
    nearby = out["assets_within_catchment"].where(out["urban"], out["assets_within_threshold"])
    out = out.join(classify_mod.classify(
        out["population"], out["need_score"], out["access_score"], nearby,
        need_threshold=threshold,
        low_access_density=cls["low_access_density"],
        strength_density=cls["strength_density"],
        min_population=cls["min_population"],
        access_low=pd.Series(access_low, index=out.index)))
    out = out.join(confidence_columns(out, tracts, assets_xy, rep_xy, zones, grid, kernel,
                                      bandwidth, points, far_m, rule, cls))
    out = out.join(survey_bias_columns(survey, id_col, tracts[id_col], out["population"],
                                       k_min, configured=bool(region.get("survey"))))
    result = gpd.GeoDataFrame(out, geometry=tracts.geometry, crs=tracts.crs)
    write_gpkg(result, out_tracts, layer="tracts")


def read_geotiff_tags(path: str) -> tuple[str, float]:
    """Kernel and bandwidth (metres) recorded by `build_density` in the GeoTIFF's tags."""
    import rasterio

    with rasterio.open(path) as src:
        tags = src.tags()
    return tags["kernel"], float(tags["bandwidth_m"])


def confidence_columns(out: pd.DataFrame, tracts: gpd.GeoDataFrame, assets_xy: np.ndarray,
                       rep_xy: np.ndarray, zones: np.ndarray, grid: density.Grid,
                       kernel: str, bandwidth: float, points: pd.DataFrame,
                       far_m: np.ndarray, rule: confidence.AccessRule,
                       cls: Mapping[str, Any]) -> pd.DataFrame:
    """`robustness_margin`, `desert_stability` and the Gi* cold-spot columns."""
    from aiddeserts.method import catchment, confidence

    n = len(tracts)
    fallback = confidence.fallback_cells(zones, grid, rep_xy[:, 0], rep_xy[:, 1])
    candidate = ((out["desert_class"] != "insufficient_data") & out["need_high"]).to_numpy()
    contributions = confidence.asset_contributions(
        assets_xy[:, 0], assets_xy[:, 1], grid, zones, fallback, kernel=kernel,
        bandwidth=bandwidth)
    result = pd.DataFrame(index=out.index)
    result["desert_stability"] = np.round(confidence.bootstrap_desert_share(
        candidate, contributions, points["tract"].to_numpy(),
        points[["x", "y"]].to_numpy(), points["population"].to_numpy(),
        far_m[points["tract"].to_numpy()], assets_xy, out["urban"].to_numpy(), rule,
        runs=cls["bootstrap_runs"], seed=cls["seed"]), 3)

    deserts = np.flatnonzero(out["is_desert"].to_numpy())
    gain = np.zeros(n)
    extra = np.full((n, 2), np.nan)
    if len(deserts):
        own = confidence.asset_contributions(rep_xy[deserts, 0], rep_xy[deserts, 1], grid,
                                             zones, fallback, kernel=kernel,
                                             bandwidth=bandwidth)
        gain[deserts] = own[deserts, np.arange(len(deserts))].A.ravel()
        extra[deserts] = rep_xy[deserts]
    share_one_more = catchment.share_beyond(points, n, assets_xy, far_m, extra_xy=extra)
    margin = confidence.robustness_margin(
        out["is_desert"].to_numpy(), out["access_score"].to_numpy(),
        out["share_beyond_threshold"].to_numpy(), share_one_more, out["urban"].to_numpy(),
        gain, rule)
    result["robustness_margin"] = pd.array(
        np.where(np.isfinite(margin), margin, np.nan), dtype="Float64").astype("Int64")

    result["gi_star_z"] = np.nan
    result["cold_spot_p_fdr"] = np.nan
    result["cold_spot"] = False
    judged = (out["desert_class"] != "insufficient_data").to_numpy()
    if cls["cold_spots"] and judged.sum() > 2:
        weights = confidence.contiguity_weights(tracts.geometry.to_numpy()[judged])
        z, p_adj, cold = confidence.cold_spots(out["access_score"].to_numpy()[judged], weights,
                                               cls["cold_spot_fdr"])
        result.loc[judged, "gi_star_z"] = np.round(z, 4)
        result.loc[judged, "cold_spot_p_fdr"] = np.round(p_adj, 6)
        result.loc[judged, "cold_spot"] = cold
    return result


def survey_bias_columns(survey: gpd.GeoDataFrame, id_col: str, tract_ids: pd.Series,
                        population: pd.Series, min_respondents: int, configured: bool
                        ) -> pd.DataFrame:
    """Survey response bias per tract (`confidence.response_disparity`). The numbers are shown
    only where they cannot reveal a suppressed count (no respondent, or at least k); the flag
    always."""
    from aiddeserts.method import confidence

    n = tract_ids.map(survey.groupby(id_col).size()).fillna(0)
    bias = confidence.response_disparity(n, population)
    if not configured:
        bias["survey_bias_flag"] = "none"
    hidden = (n > 0) & (n < min_respondents)
    numbers = ["survey_disparity", "survey_disparity_low", "survey_disparity_high"]
    bias[numbers] = bias[numbers].round(6).where(~hidden)
    return bias


def summarize(region_name: str, region: Mapping[str, Any], counts_paths: Sequence[str],
              rejects_paths: Sequence[str], tracts_path: str, parameters: Mapping[str, Any],
              out_summary: str, out_rejects: str, density_path: str | None = None) -> None:
    """summary.json (counts read/kept/rejected, parameters, classes, confidence) and the merged
    rejects.csv. With `density_path`, the bandwidth actually used (`bandwidth_m: auto`) too."""
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
        **({"bandwidth_m_used": read_geotiff_tags(density_path)[1]} if density_path else {}),
        "confidence": confidence_summary(tracts),
    }, out_summary)


def confidence_summary(tracts: pd.DataFrame) -> dict[str, int]:
    """Counts behind the deserts' confidence (docs/method.md, section 5)."""
    deserts = tracts[tracts["is_desert"]]
    return {
        "deserts_lifted_by_one_asset": int((deserts["robustness_margin"] == 1).sum()),
        "deserts_stable_90pct": int((deserts["desert_stability"] >= 0.9).sum()),
        "deserts_need_uncertain": int(deserts["need_uncertain"].sum()),
        "tracts_need_uncertain": int(tracts["need_uncertain"].sum()),
        "cold_spots": int(tracts["cold_spot"].sum()),
        "tracts_survey_under_represented": int((tracts["survey_bias_flag"] == "under").sum()),
    }


def publish(staged: Sequence[str], published: Sequence[str],
            privacy_report: str | None = None) -> None:
    """Copy staged files into outputs/ (see aiddeserts.publishing)."""
    publishing.publish(staged, published, privacy_report)


def make_stories(region: Mapping[str, Any], survey_path: str, out_csv: str) -> None:
    """Consented, redacted stories attached to their tract only: [<tract id>, story]."""
    id_col = region["tracts"]["id"]
    write_csv(privacy.stories_by_tract(read_gpkg(survey_path), id_col), out_csv)


def privacy_audit(region: Mapping[str, Any], tracts_path: str, assets_exact_path: str,
                  staged: Sequence[str], privacy_settings: Mapping[str, Any],
                  survey_rules: Mapping[str, Any], out_report: str) -> None:
    """Audit staged outputs for respondents, personal values and hidden assets; write the report
    only when nothing leaks (else raise PrivacyLeakError, so publication never starts)."""
    from aiddeserts.privacy import audit as privacy_audit_mod

    tracts = read_gpkg(tracts_path)
    id_col = region["tracts"]["id"]
    # The audit needs each asset's place, tract, name and visibility (no other column).
    assets = read_gpkg(assets_exact_path,
                       columns=list(dict.fromkeys([id_col, "name", "visibility"])))
    displayed = privacy.assets_for_display(assets, tracts, id_col, privacy_settings)
    secrets = privacy_audit_mod.collect_secrets(
        region, tracts, assets, displayed, survey_rules["min_respondents"],
        privacy_settings.get("audit_ignore_columns", []))
    report = privacy_audit_mod.audit_files(staged, secrets, privacy_settings)
    write_json(report, out_report)


def make_map(region: Mapping[str, Any], region_name: str, tracts_path: str, assets_path: str,
             density_path: str, out_html: str, classification: Mapping[str, Any] | None = None,
             survey_rules: Mapping[str, Any] | None = None,
             stories: pd.DataFrame | None = None, stories_path: str | None = None,
             privacy_settings: Mapping[str, Any] | None = None) -> None:
    """Render the interactive map to a single HTML file (offline unless `map.offline` is false).

    `stories` (or the CSV at `stories_path`; columns: the tract id, ``"story"``; consented and
    redacted) adds a stories layer. Assets are drawn as `privacy.assets_for_display` allows.
    """
    from aiddeserts.maps import webmap

    tracts = read_gpkg(tracts_path)
    assets = privacy.assets_for_display(read_gpkg(assets_path), tracts, region["tracts"]["id"],
                                        privacy_settings)
    values, grid, crs = read_geotiff(density_path)
    if stories is None and stories_path:
        stories = pd.read_csv(stories_path, dtype=str, keep_default_na=False)
    map_config = region.get("map", {})
    fmap = webmap.build_map(tracts, assets, values, grid, id_col=region["tracts"]["id"],
                            title=map_title(region, region_name),
                            region_name=map_config.get("region_name", region_name),
                            map_config=map_config, thresholds=classification,
                            min_respondents=(survey_rules or {}).get("min_respondents"),
                            stories=stories, bandwidth_m=read_geotiff_tags(density_path)[1])
    with atomic_path(out_html) as tmp:
        tmp.write_text(webmap.render_deterministic(fmap), encoding="utf-8")


def map_title(region: Mapping[str, Any], region_name: str) -> str:
    """The map's title: `map.title`, else the region's `title`, else its name."""
    return region.get("map", {}).get("title") or region.get("title") or region_name


def classification_definitions(classification: Mapping[str, Any] | None) -> dict[str, str]:
    """Class definitions naming the region's configured distances."""
    from aiddeserts.method.classify import class_definitions

    settings = classification or {}
    return class_definitions(settings.get("catchment_m", 800.0),
                             settings.get("far_rural_m", 16_093.0))


def make_figure(region: Mapping[str, Any], region_name: str, tracts_path: str, out_png: str,
                out_pdf: str, classification: Mapping[str, Any] | None = None) -> None:
    """The static classification map (PNG for screens, PDF for print)."""
    from aiddeserts.maps import figure

    tracts = read_gpkg(tracts_path)
    map_config = region.get("map", {})
    sources = [s.get("name", "") + (f" ({s['date']})" if s.get("date") else "")
               for s in map_config.get("sources", [])]
    if not sources:
        sources = sorted({source.get("label", source["path"].rsplit("/", 1)[-1])
                          for source in (region["assets"] if isinstance(region["assets"], list)
                                         else [region["assets"]])})
    fig = figure.classification_figure(tracts, title=map_title(region, region_name),
                                       sources=sources, credit=map_config.get("credit", ""),
                                       definitions=classification_definitions(classification))
    figure.save_figure(fig, out_png, out_pdf)
