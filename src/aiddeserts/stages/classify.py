"""Classify stage (workflow/rules/classify.smk): access, need, class and confidence per tract.

This module assembles the method (docs/method.md) from the pure functions of
:mod:`aiddeserts.method`; every survey figure it writes comes from the differentially private
release of :mod:`aiddeserts.privacy.release` (post-processing only; docs/privacy.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from aiddeserts.io.files import read_density_tags, read_geotiff, read_gpkg, write_gpkg

if TYPE_CHECKING:
    from aiddeserts.method import confidence, density


def classify_tracts(tracts_path: str, assets_path: str, survey_path: str, density_path: str,
                    tract_id: str, population: str | None,
                    need: Sequence[Mapping[str, Any]] | None, survey_configured: bool,
                    classification: Mapping[str, Any], min_respondents: int,
                    out_tracts: str, network_path: str | None = None,
                    speed_m_per_min: float | None = None, region: str = "",
                    questions: Sequence[Mapping[str, Any]] | None = None,
                    survey_rules: Mapping[str, Any] | None = None,
                    out_release: str | None = None, ledger_path: str | None = None,
                    zones_path: str | None = None) -> None:
    """Access, need, class and confidence per tract, written as the shareable tracts layer.

    `tract_id`, `population` and `need` are the region's `tracts.id`, `tracts.population` and
    `tracts.need`; `classification` its `classification` section; `min_respondents` its
    `survey_rules.min_respondents`. Without `need` (None or empty) need is not assessed and the
    classes rest on access alone; without `population` people are spread evenly over each
    tract's area (a tract's weight is its area), there is no `min_population` test and every
    tract is judged with the urban distance (`far_urban_m`), as the urban/rural test needs
    residents per km². With `network_path` (the region's walking graph) the walking columns
    are added and, unless `classification.distance` is `straight`, the access test and the
    classes use distances on foot (`speed_m_per_min` adds minutes). The survey (`questions`:
    `survey.questions`; `survey_rules`: the region's section) is released with differential
    privacy through the region's ledger (:func:`release_columns`); `out_release` gets the
    release record for summary.json; `ledger_path` overrides the ledger's place
    (data/processed/<region>/survey_ledger.json); `zones_path`: the density stage's tract
    raster of the same grid (else the tracts are rasterised here).
    """
    from aiddeserts.io.files import read_zones
    from aiddeserts.method import access, catchment, confidence, density
    from aiddeserts.method import classify as classes
    from aiddeserts.method.zonal import zone_raster

    cls = classification
    walk = walking_network(network_path, cls["distance"])
    tracts = read_gpkg(tracts_path)
    # Only the columns used here (names, notes and sources of 1e5 assets cost a read).
    assets = read_gpkg(assets_path, columns=list(dict.fromkeys([tract_id, "type", "capacity"])))
    question_specs = list(questions or []) if survey_configured else []
    survey = read_gpkg(survey_path, columns=[tract_id, "unmet_need",
                                             *(str(q["column"]) for q in question_specs)])
    values, grid, _ = read_geotiff(density_path)
    kernel, bandwidth = read_density_tags(density_path)

    need_assessed = bool(need)
    out = tracts[[tract_id, *["tract_name"] * ("tract_name" in tracts)]].copy()
    out["population"] = tracts[population] if population else np.nan
    # Weights of the distance test and the floating catchment: residents, else area (km²).
    people = out["population"] if population else tracts.geometry.area / 1e6
    eligible = (out["population"].fillna(0) >= cls["min_population"] if population
                else pd.Series(True, index=out.index))
    released, record = release_columns(survey, tract_id, tracts[tract_id], out["population"],
                                        question_specs, survey_configured, region,
                                        {"min_respondents": min_respondents,
                                         **(survey_rules or {})}, ledger_path)
    if out_release:
        from aiddeserts.io.files import make_private, write_json

        write_json(record, out_release)
        make_private(out_release)  # the budget's state: private like the ledger it mirrors
    bias_columns = ["survey_disparity", "survey_disparity_low", "survey_disparity_high",
                    "survey_bias_flag"]
    published = released.drop(columns=bias_columns)
    if need_assessed:
        out = out.join(need_columns(tracts, published, need, survey_configured, eligible, cls))
    else:
        out = out.join(published)
        for column in ("need_score", "need_score_low", "need_score_high"):
            out[column] = np.nan
        out["need_uncertain"] = False

    # Access: density, counts, distances, floating catchment, population beyond reach.
    zones = read_zones(zones_path, grid.shape, len(tracts)) if zones_path else None
    if zones is None:
        zones = zone_raster(tracts.geometry, grid)
    out["access_score"] = access.tract_density(tracts, np.nan_to_num(values), grid,
                                               zones).round(4)
    out = out.join(access.counts_by_type(assets, tract_id, tracts[tract_id]))
    out = out.join(access.nearest_distances(tracts, assets, cls["catchment_m"]))
    rep = tracts.geometry.representative_point()
    rep_xy = np.column_stack([rep.x.to_numpy(), rep.y.to_numpy()])
    assets_xy = np.column_stack([assets.geometry.x.to_numpy(), assets.geometry.y.to_numpy()])
    capacity = (assets["capacity"].to_numpy(float) if "capacity" in assets
                else np.ones(len(assets)))
    fca, _ = catchment.two_step_fca(rep_xy, people.to_numpy(float), assets_xy,
                                    capacity, cls["fca_catchment_m"], cls["fca_decay"],
                                    cls["fca_steps"])
    out["fca_access"] = (fca * 1000.0).round(6)
    if population:
        out["urban"] = catchment.is_urban(out["population"], tracts.geometry.area / 1e6,
                                          cls["urban_density"]).to_numpy(bool)
    else:
        out["urban"] = True
    far_m = np.where(out["urban"], cls["far_urban_m"], cls["far_rural_m"])
    out["far_threshold_m"] = far_m.astype(float)
    out["assets_within_threshold"] = catchment.assets_within(rep_xy, assets_xy, far_m)
    points = catchment.population_points(tracts, people, cls["population_cell_m"],
                                         cls["population_points_max"])
    share_far = catchment.share_beyond(points, len(tracts), assets_xy, far_m)
    out["share_beyond_threshold"] = np.round(share_far, 4)
    out["edge_share"] = np.round(density.outside_share(zones > 0, grid, bandwidth,
                                                       rep_xy[:, 0], rep_xy[:, 1]), 4)
    share_test = share_far
    nearby_catchment, nearby_far = out["assets_within_catchment"], out["assets_within_threshold"]
    if walk is not None:
        out = out.join(walking_columns(walk, tracts, assets, points, rep_xy, assets_xy, far_m,
                                       people, capacity, cls, speed_m_per_min))
        if cls["distance"] != "straight":
            share_test = out["share_beyond_threshold_walk"].to_numpy()
            nearby_catchment = out["assets_within_catchment_walk"]
            nearby_far = out["assets_within_threshold_walk"]
    out["distance_used"] = "network" if walk is not None and cls["distance"] != "straight" \
        else "straight"

    rule = confidence.AccessRule(cls["low_access_density"], cls["low_access_share"],
                                 cls["strength_density"])
    access_low = rule.access_low(out["access_score"].to_numpy(), np.round(share_test, 4),
                                 out["urban"])
    # `fragile` counts assets within walking distance in towns, within FARA's rural distance in
    # the countryside (as the Fed's "potential banking desert" uses 10 miles for rural tracts).
    nearby = nearby_catchment.where(out["urban"], nearby_far)
    out = out.join(classes.classify(
        out["population"], out["need_score"], out["access_score"], nearby,
        pd.Series(access_low, index=out.index), need_threshold=cls["need_threshold"],
        strength_density=cls["strength_density"],
        min_population=cls["min_population"] if population else None,
        need_assessed=need_assessed))
    out = out.join(confidence_columns(out, tracts, assets_xy, rep_xy, zones, grid, kernel,
                                      bandwidth, points, far_m, rule, cls,
                                      walk if out["distance_used"].iat[0] == "network" else None,
                                      share_test))
    out = out.join(released[bias_columns])
    write_gpkg(gpd.GeoDataFrame(out, geometry=tracts.geometry, crs=tracts.crs), out_tracts,
               layer="tracts")


def walking_network(network_path: str | None, distance: str) -> Any:
    """The region's walking graph (None without one); `distance: network` requires one."""
    if network_path is None:
        if distance == "network":
            from aiddeserts.errors import InputError

            raise InputError("config key 'classification.distance' is network, but the region "
                             "has no network.", fix="add network: {path: <extract.osm.pbf>} "
                             "to the region, or set classification.distance: straight.")
        return None
    from aiddeserts.io.osm import load_network

    return load_network(network_path)


def walking_columns(walk: Any, tracts: gpd.GeoDataFrame, assets: gpd.GeoDataFrame,
                    points: pd.DataFrame, rep_xy: np.ndarray, assets_xy: np.ndarray,
                    far_m: np.ndarray, people: pd.Series, capacity: np.ndarray,
                    cls: Mapping[str, Any], speed_m_per_min: float | None) -> pd.DataFrame:
    """The access columns on foot, beside the straight-line ones: `nearest_asset_walk_m` (and
    per type), `assets_within_catchment_walk`, `walk_unreachable`, `share_beyond_threshold_walk`,
    `assets_within_threshold_walk`, `fca_access_walk` (and `_walk_min` minutes with a speed)."""
    import logging

    from aiddeserts.method import network

    out = network.nearest_walk_distances(walk, tracts, assets, cls["catchment_m"],
                                         speed_m_per_min)
    out.index = tracts.index
    share = network.share_beyond_walk(walk, points, len(tracts), assets_xy, far_m)
    out["share_beyond_threshold_walk"] = np.round(share, 4)
    out["assets_within_threshold_walk"] = network.assets_within_walk(walk, rep_xy, assets_xy,
                                                                     far_m)
    fca, _ = network.two_step_fca_walk(walk, rep_xy, people.to_numpy(float), assets_xy,
                                       capacity, cls["fca_catchment_m"], cls["fca_decay"],
                                       cls["fca_steps"])
    out["fca_access_walk"] = (fca * 1000.0).round(6)
    report = network.network_report(walk, points[["x", "y"]].to_numpy(), assets_xy)
    logging.getLogger("aiddeserts.stages.classify").info("walking network: %s", report)
    return out


def need_columns(tracts: gpd.GeoDataFrame, survey: pd.DataFrame,
                 need: Sequence[Mapping[str, Any]], survey_configured: bool,
                 eligible: pd.Series, cls: Mapping[str, Any]) -> pd.DataFrame:
    """The need variables, the survey's released figures (`survey`, from
    :func:`release_columns`), `need_score` (with its ranks) and its interval, and
    `need_uncertain`."""
    from aiddeserts.method import need as need_method

    out = pd.DataFrame(index=tracts.index)
    for spec in need:
        out[spec["column"]] = tracts[spec["column"]]
    out = out.join(survey)
    # The survey enters need through its empirical-Bayes rate of the noisy release only.
    frame = tracts.drop(columns=tracts.geometry.name).assign(
        survey_unmet_rate=out["survey_unmet_rate_eb"])
    variables = list(need)
    if survey_configured:
        variables.append({"column": "survey_unmet_rate", "higher_is_worse": True})
    out = out.join(need_method.need_score(frame, variables, eligible))
    interval = need_method.need_score_interval(frame, variables, eligible,
                                               draws=cls["need_draws"], seed=cls["seed"])
    out = out.join(interval.round(4))
    threshold = cls["need_threshold"]
    out["need_uncertain"] = ((out["need_score_low"] < threshold)
                             & (out["need_score_high"] >= threshold)).astype(bool)
    return out


def published_release_marker(region: str) -> dict[str, Any] | None:
    """The last published release's record (outputs/<region>/summary.json,
    `privacy.survey_release`), so a lost ledger is detected instead of resetting the budget."""
    import json

    from aiddeserts import paths

    summary = Path(paths.for_region(paths.published("summary.json"), region))
    try:
        record = json.loads(summary.read_text(encoding="utf-8"))["privacy"]["survey_release"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if isinstance(record, dict) else None


def release_columns(survey: pd.DataFrame, tract_id: str, tract_ids: pd.Series,
                    population: pd.Series, questions: Sequence[Mapping[str, Any]],
                    configured: bool, region: str, survey_rules: Mapping[str, Any],
                    ledger_path: str | Path | None = None
                    ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Every published survey column, from the ε-DP release only (privacy.release): respondents,
    `survey_unmet_rate` (+ `_respondents`, `_eb`), `survey_<slug>` per question (+ `_respondents`),
    `survey_suppressed`, the response disparity and its flag; and the release record.

    The ledger is data/processed/<region>/survey_ledger.json, written by the release itself and
    deliberately not a Snakemake output (a declared output would be deleted before each rerun,
    re-spending ε). Without a survey nothing is released and the record says so."""
    import logging

    from aiddeserts import paths
    from aiddeserts.io.files import make_private
    from aiddeserts.privacy import release as dp

    k = int(survey_rules["min_respondents"])
    if not configured:
        out = pd.DataFrame({"survey_respondents": pd.array([pd.NA] * len(tract_ids),
                                                            dtype="Int64"),
                            "survey_unmet_rate": np.nan, "survey_suppressed": False,
                            "survey_unmet_rate_eb": np.nan}, index=tract_ids.index)
        out["survey_disparity"] = out["survey_disparity_low"] = np.nan
        out["survey_disparity_high"] = np.nan
        out["survey_bias_flag"] = "none"
        return out, {"configured": False}
    if not region:
        raise ValueError("the survey release needs the region's name (its ledger's place)")
    ledger = Path(ledger_path or paths.for_region(paths.processed("survey_ledger.json"), region))
    release = dp.release_survey(
        survey, tract_ids, dp.questions_from_config(questions), id_col=tract_id, region=region,
        epsilon=float(survey_rules["epsilon"]),
        epsilon_lifetime=float(survey_rules["epsilon_lifetime"]), ledger_path=ledger,
        min_respondents=k, published=published_release_marker(region),
        reuse=survey_rules["reuse"], margin_z=float(survey_rules["margin_z"]))
    if ledger.exists():
        make_private(ledger)
    run = release.run
    log = logging.getLogger("aiddeserts.stages.classify")
    log.info("survey release: %s; epsilon spent this run %g (lifetime %g of %g); tracts: %d "
             "fresh, %d reused, %d stale, %d never released", run["status"],
             run["epsilon_spent_this_run"], release.record["epsilon_spent"],
             release.record["epsilon_lifetime"], run["fresh_tracts"], run["reused_tracts"],
             run["stale_tracts"], run["unreleased_tracts"])
    if release.record.get("message"):
        log.warning("%s", release.record["message"])
    out = release.table.copy()
    out["survey_unmet_rate_eb"], _, _ = dp.smoothed_rate(release, k)
    out = out.join(dp.released_disparity(release, population))
    of_tract = _release_of_tracts(ledger)
    themes = {q.name: q.theme for q in release.questions}
    labels = {q.name: q.label for q in release.questions}
    record = {**release.record, "configured": True,
              "themes": themes, "labels": labels,
              # Tracts whose shown values come from an earlier release than the last one.
              "reused_tracts": int(sum(1 for t in tract_ids.astype(str)
                                       if of_tract.get(t) not in
                                       (None, release.record["release_id"])))}
    return out, record


def _release_of_tracts(ledger: Path) -> dict[str, str]:
    """Tract id → the release id its values come from (only tracts ever released)."""
    import json

    if not ledger.exists():
        return {}
    stored = json.loads(ledger.read_text(encoding="utf-8")).get("tracts", {})
    return {t: v.get("release_id") for t, v in stored.items()}


def confidence_columns(out: pd.DataFrame, tracts: gpd.GeoDataFrame, assets_xy: np.ndarray,
                       rep_xy: np.ndarray, zones: np.ndarray, grid: density.Grid,
                       kernel: str, bandwidth: float, points: pd.DataFrame,
                       far_m: np.ndarray, rule: confidence.AccessRule,
                       cls: Mapping[str, Any], walk: Any = None,
                       share_test: np.ndarray | None = None) -> pd.DataFrame:
    """`robustness_margin`, `desert_stability` and the Gi* cold-spot columns. With `walk` (the
    classes use walking distances) the distance tests of both are on foot."""
    from aiddeserts.method import catchment, confidence

    n = len(tracts)
    fallback = confidence.fallback_cells(zones, grid, rep_xy[:, 0], rep_xy[:, 1])
    candidate = ((out["desert_class"] != "insufficient_data") & out["need_high"]).to_numpy()
    deserts = np.flatnonzero(out["is_desert"].to_numpy())
    # One convolution per tract serves both: the assets, and the deserts' representative points.
    contributions, own = confidence.asset_contributions_for(
        [(assets_xy[:, 0], assets_xy[:, 1]), (rep_xy[deserts, 0], rep_xy[deserts, 1])],
        grid, zones, fallback, kernel=kernel, bandwidth=bandwidth)
    result = pd.DataFrame(index=out.index)
    result["desert_stability"] = np.round(confidence.bootstrap_desert_share(
        candidate, contributions, points["tract"].to_numpy(),
        points[["x", "y"]].to_numpy(), points["population"].to_numpy(),
        far_m[points["tract"].to_numpy()], assets_xy, out["urban"].to_numpy(), rule,
        runs=cls["bootstrap_runs"], seed=cls["seed"], network=walk), 3)

    gain = np.zeros(n)
    extra = np.full((n, 2), np.nan)
    if len(deserts):
        gain[deserts] = own[deserts, np.arange(len(deserts))].A.ravel()
        extra[deserts] = rep_xy[deserts]
    if walk is None:
        share_one_more = catchment.share_beyond(points, n, assets_xy, far_m, extra_xy=extra)
        share_now = out["share_beyond_threshold"].to_numpy()
    else:
        from aiddeserts.method import network

        share_one_more = network.share_beyond_walk(walk, points, n, assets_xy, far_m,
                                                   extra_xy=extra)
        share_now = np.round(share_test, 4)
    margin = confidence.robustness_margin(
        out["is_desert"].to_numpy(), out["access_score"].to_numpy(), share_now, share_one_more,
        out["urban"].to_numpy(), gain, rule)
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
