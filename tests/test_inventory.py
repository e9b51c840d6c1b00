"""The living inventory (issue 14): stable asset ids, open/closed/stale status, community
corrections, the public inventory (assets.csv, HSDS 3), history and changes between runs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import X0, Y0, asset_region, grid_tracts, points_lonlat

from aiddeserts.config import load_schema
from aiddeserts.io.assets import derive_asset_id, parse_open_status, read_assets
from aiddeserts.io.corrections import apply_corrections, inventory_status


def correction_defaults(**source) -> dict:
    props = load_schema()["$defs"]["correction_source"]["properties"]
    return {**{k: v["default"] for k, v in props.items() if "default" in v}, **source}


@pytest.fixture
def city(tmp_path):
    tracts = grid_tracts(2)
    xy = [(X0 + 200, Y0 + 200), (X0 + 1500, Y0 + 500), (X0 + 500, Y0 + 1500)]
    lat, lon = points_lonlat(xy)
    path = tmp_path / "assets.csv"
    pd.DataFrame({"lat": lat, "lon": lon, "name": ["Fridge A", "Pantry B", "Shelf C"],
                  "open": ["yes", "Permanently closed", ""],
                  "updated": ["2024-01-10", "2023-05-01", "2022-01-01"]}).to_csv(path,
                                                                                 index=False)
    return tracts, path


def test_derived_ids_are_stable_text_and_follow_the_documented_recipe(city):
    tracts, path = city
    region = asset_region({"path": str(path), "name": "name", "label": "City list"})
    first, _, _ = read_assets(region, tracts)
    again, _, _ = read_assets(region, tracts)
    assert first["asset_id"].tolist() == again["asset_id"].tolist()
    lonlat = first.to_crs(4326).geometry
    assert first["asset_id"].iloc[0] == derive_asset_id("City list", "Fridge A",
                                                        lonlat.x.iloc[0], lonlat.y.iloc[0])
    assert all(i.startswith("a-") and len(i) == 12 for i in first["asset_id"])
    # A renamed asset gets a new id; the others keep theirs.
    table = pd.read_csv(path)
    table.loc[1, "name"] = "Pantry B2"
    table.to_csv(path, index=False)
    renamed, _, _ = read_assets(region, tracts)
    assert renamed["asset_id"].iloc[[0, 2]].tolist() == first["asset_id"].iloc[[0, 2]].tolist()
    assert renamed["asset_id"].iloc[1] != first["asset_id"].iloc[1]


def test_configured_id_column_and_collisions_suffixed_in_file_order(tmp_path):
    tracts = grid_tracts(2)
    lat, lon = points_lonlat([(X0 + 200, Y0 + 200), (X0 + 1200, Y0 + 200),
                              (X0 + 200, Y0 + 1200)])
    path = tmp_path / "a.csv"
    pd.DataFrame({"lat": lat, "lon": lon, "code": ["007", "007", "x9"], "name": "n"}).to_csv(
        path, index=False)
    assets, _, _ = read_assets(asset_region({"path": str(path), "id": "code", "name": "name"}),
                               tracts)
    assert assets["asset_id"].tolist() == ["007", "007-2", "x9"]


def test_status_spellings():
    values = pd.Series(["Yes", "no", "TRUE", "false", "Open", "closed", "permanently closed",
                        "", "maybe"])
    assert parse_open_status(values).tolist() == [
        "open", "closed", "open", "closed", "open", "closed", "closed", "unknown", "unknown"]


def test_stale_closed_and_as_of(city):
    tracts, path = city
    region = asset_region({"path": str(path), "name": "name", "status": "open",
                           "updated": "updated"})
    assets, _, _ = read_assets(region, tracts)
    assets, _, _ = apply_corrections(assets, [], tracts, "TRACT_CODE")
    # as_of null: the newest date (2024-01-10); Shelf C (2022-01-01) is over 365 days older.
    assert inventory_status(assets, 365, None).tolist() == ["active", "closed", "stale"]
    assert inventory_status(assets, 1000, None).tolist() == ["active", "closed", "active"]
    assert inventory_status(assets, 365, "2025-06-01").tolist() == ["stale", "closed", "stale"]
    assert assets["closed_since"].tolist() == ["", "2023-05-01", ""]


def write_corrections(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_corrections_add_close_update_confirm_later_dates_win(city, tmp_path):
    tracts, path = city
    assets, _, _ = read_assets(asset_region({"path": str(path), "name": "name",
                                             "status": "open", "updated": "updated"}), tracts)
    ids = assets["asset_id"].tolist()
    lat, lon = points_lonlat([(X0 + 1700, Y0 + 1700)])
    form = write_corrections(tmp_path / "fixes.csv", [
        {"action": "close", "asset_id": ids[0], "date": "2024-03-01"},
        {"action": "Confirm", "asset_id": ids[0], "date": "2024-02-01"},  # earlier: loses
        {"action": "confirm", "asset_id": ids[1], "date": "2024-04-01"},  # reopens B
        {"action": "update", "asset_id": ids[2], "name": "Shelf C (new name)",
         "date": "2024-02-02"},
        {"action": "add", "name": "Free store", "type": "free_store", "lat": lat[0],
         "lon": lon[0], "date": "2024-05-05"},
    ])
    fixed, rejects, read = apply_corrections(
        assets, [correction_defaults(path=str(form), label="Kobo form")], tracts, "TRACT_CODE")
    assert rejects.empty and read == {f"corrections[1]:{form}": 5}
    by_name = fixed.set_index("name")
    assert by_name.loc["Fridge A", "open_status"] == "closed"
    assert by_name.loc["Fridge A", "closed_since"] == "2024-03-01"
    assert by_name.loc["Pantry B", "open_status"] == "open"
    assert by_name.loc["Pantry B", "last_verified"] == "2024-04-01"
    assert by_name.loc["Shelf C (new name)", "asset_id"] == ids[2]
    added = by_name.loc["Free store"]
    assert added["community_reported"] and added["source"] == "Kobo form"
    assert added["reported"] == "2024-05-05" and added["TRACT_CODE"] == "T03"
    assert by_name.loc["Fridge A", "correction_source"] == "Kobo form"
    assert pd.read_csv(path)["name"].tolist() == ["Fridge A", "Pantry B", "Shelf C"]


def test_bad_correction_rows_are_rejected_never_a_crash(city, tmp_path):
    tracts, path = city
    assets, _, _ = read_assets(asset_region({"path": str(path), "name": "name"}), tracts)
    far_lat, far_lon = points_lonlat([(X0 + 9000, Y0 + 9000)])
    form = write_corrections(tmp_path / "bad.csv", [
        {"action": "close", "asset_id": "a-nothere", "date": "2024-01-01", "lat": "",
         "lon": ""},
        {"action": "", "asset_id": assets["asset_id"].iloc[0], "date": "2024-01-01"},
        {"action": "demolish", "asset_id": assets["asset_id"].iloc[0], "date": "2024-01-01"},
        {"action": "add", "name": "Nowhere", "date": "2024-01-01"},
        {"action": "add", "name": "Far", "date": "2024-01-01", "lat": far_lat[0],
         "lon": far_lon[0]},
        {"action": "close", "asset_id": assets["asset_id"].iloc[0], "date": "soon"},
        {"action": "update", "asset_id": assets["asset_id"].iloc[1], "date": "2024-01-02",
         "lat": far_lat[0], "lon": far_lon[0], "name": "Pantry B moved"},
    ])
    fixed, rejects, _ = apply_corrections(assets, [correction_defaults(path=str(form))],
                                          tracts, "TRACT_CODE")
    assert len(fixed) == len(assets) and (fixed["open_status"] == "unknown").all()
    moved = fixed.set_index("asset_id").loc[assets["asset_id"].iloc[1]]
    assert moved["name"] == "Pantry B moved"  # the rest of the update applies
    assert moved.geometry.equals(assets.geometry.iloc[1])
    reasons = dict(zip(rejects["row"].astype(int), rejects["reason"], strict=True))
    assert reasons == {1: "asset_id (column 'asset_id') is not in the inventory",
                       2: "action (column 'action') is blank",
                       3: "action (column 'action') is not one of add, close, update, confirm",
                       4: "add without a location (latitude/longitude blank or not a number)",
                       5: "outside the study area (in no tract)",
                       6: "date (column 'date') is blank or not a date",
                       7: "update's new location is outside the study area: place kept"}
    assert rejects["action"].tolist() == ["dropped"] * 6 + ["flagged"]
    assert set(rejects["source"]) == {f"corrections[1]:{form}"}


# ------------------------------------------------------------------------- HSDS, links
def public_table(city) -> pd.DataFrame:
    from aiddeserts.stages.inventory import public_inventory

    tracts, path = city
    assets, _, _ = read_assets(asset_region({"path": str(path), "name": "name",
                                             "status": "open", "updated": "updated",
                                             "label": "City list"}), tracts)
    assets, _, _ = apply_corrections(assets, [], tracts, "TRACT_CODE")
    assets["status"] = inventory_status(assets, 365, None).to_numpy()
    privacy = {"approximate_to": "tract", "approximate_grid_m": 500}
    return public_inventory(assets, tracts, "TRACT_CODE", privacy)


def test_hsds_ids_are_the_name_based_uuids_of_uuid5():
    """The batched ids equal `uuid.uuid5` of the namespace and "kind:key", key by key."""
    import random
    import uuid

    from aiddeserts.io.hsds import _NAMESPACE, _uids

    rng = random.Random(5)
    keys = ["", "a", "osm:node/1", "ñandú café 冰箱", "x" * 300, *(
        "".join(rng.choice("abc:/-_0123456789é冰") for _ in range(rng.randrange(1, 40)))
        for _ in range(500))]
    for kind in ("service", "location", "service_at_location"):
        assert _uids(kind, keys) == [str(uuid.uuid5(_NAMESPACE, f"{kind}:{k}")) for k in keys]
    assert _uids("service", []) == []


def test_hsds_package_validates_and_round_trips(city, tmp_path):
    import frictionless

    from aiddeserts.io.hsds import HSDS_FILES, write_hsds

    tracts, _ = city
    table = public_table(city)
    written = write_hsds(table, tmp_path / "hsds", "Tiny")
    assert [p.name for p in written] == list(HSDS_FILES)
    report = frictionless.validate(str(tmp_path / "hsds" / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    services = pd.read_csv(tmp_path / "hsds" / "services.csv", dtype=str)
    assert sorted(services["status"]) == ["active", "active", "inactive"]
    # Read back as an asset source: the same assets, ids, names, types and statuses.
    source = {"path": str(tmp_path / "hsds" / "datapackage.json"), "format": "hsds",
              "label": "City list"}
    back, rejects, _ = read_assets(asset_region(source), tracts)
    assert rejects.empty
    back = back.sort_values("asset_id").reset_index(drop=True)
    assert back["asset_id"].tolist() == table["asset_id"].tolist()
    assert back["name"].tolist() == table["name"].tolist()
    assert back["type"].tolist() == table["type"].tolist()
    assert back["open_status"].tolist() == ["closed" if s == "closed" else "open"
                                            for s in table["status"]]
    lonlat = back.to_crs(4326).geometry
    assert (lonlat.y.round(5) - table["lat"]).abs().max() < 1e-9
    # A broken package is caught by the validator (a status outside HSDS's list).
    services.loc[0, "status"] = "maybe"
    services.to_csv(tmp_path / "hsds" / "services.csv", index=False)
    assert not frictionless.validate(str(tmp_path / "hsds" / "datapackage.json")).valid


def test_correction_url_template_fills_and_encodes():
    from aiddeserts.maps.inventory import add_place_html, correction_url, popup_lines

    kobo = "https://ee.kobotoolbox.org/x/abcd?d[asset_id]={asset_id}&d[name]={name}"
    url = correction_url(kobo, {"asset_id": "a-1f", "name": "Fridge & Shelf #2"})
    assert url == "https://ee.kobotoolbox.org/x/abcd?d[asset_id]=a-1f&d[name]=Fridge%20%26%20Shelf%20%232"
    google = "https://docs.google.com/forms/d/e/X/viewform?usp=pp_url&entry.1={lat},{lon}"
    assert correction_url(google, {"lat": 40.5, "lon": -73.25}).endswith(
        "entry.1=40.50000,-73.25000")
    assert correction_url("", {"asset_id": "x"}) == ""
    assert add_place_html("") == ""
    assert "Add a place we missed" in add_place_html(kobo)
    assert "d[asset_id]=&amp;d[name]=" in add_place_html(kobo)
    line = popup_lines("a-1", "stale", "2023-01-01", "", url)
    assert "Not verified since 2023-01-01" in line and "Suggest a correction" in line
    assert "&amp;" in line
    assert "Closed since 2024-03-01" in popup_lines("a-1", "closed", "", "2024-03-01", "")
    assert "Suggest" not in popup_lines("a-1", "active", "", "", "")


def test_publish_keeps_history_hard_linked_and_pruned(tmp_path):
    from aiddeserts.stages.publish import carry_history

    previous = tmp_path / "v1"
    for stamp in ("20240101T000000Z", "20240201T000000Z", "20240301T000000Z"):
        (previous / "history" / stamp).mkdir(parents=True)
        (previous / "history" / stamp / "summary.json").write_text(stamp)
    version = tmp_path / "v2"
    version.mkdir()
    (version / "summary.json").write_text("{}")
    (version / "assets.csv").write_text("asset_id\n")
    carry_history(previous, version, "20240401T000000Z", keep=3)
    kept = sorted(p.name for p in (version / "history").iterdir())
    assert kept == ["20240201T000000Z", "20240301T000000Z", "20240401T000000Z"]
    old = version / "history" / "20240301T000000Z" / "summary.json"
    assert old.stat().st_ino == (previous / "history" / "20240301T000000Z" /
                                 "summary.json").stat().st_ino
    assert sorted(p.name for p in (version / "history" / "20240401T000000Z").iterdir()) == [
        "assets.csv", "summary.json"]


# ------------------------------------------------------------------- the must-show run
SERVED = "T12"  # high need (north-west), served by five assets in the first run
DESERT = "T15"  # high need (north-east), no asset within kilometres: a desert
KOBO = "https://ee.kobotoolbox.org/x/abcd?d[asset_id]={asset_id}&d[name]={name}&d[geo]={lat}%20{lon}"


def test_corrections_close_a_served_tract_and_lift_a_desert_between_two_runs(tmp_path,
                                                                                tiny_region):
    from conftest import run_snakemake

    region = tiny_region["regions"]["tiny"]
    # Without the survey: its DP noise, fresh for each new region, can move need (and so the
    # classes this test starts from) by chance.
    region.pop("survey", None)
    region["map"] = {"corrections_url": KOBO}
    assets_csv = Path(region["assets"]["path"])
    table = pd.read_csv(assets_csv)
    near = [(300, 3300), (700, 3300), (500, 3500), (300, 3700), (700, 3700)]
    lat, lon = points_lonlat([(X0 + x, Y0 + y) for x, y in near])
    extra = pd.DataFrame({"Latitude": lat, "Longitude": lon,
                          "Site": [f"Shelf {k}" for k in range(5)], "Kind": "pantry"})
    pd.concat([table, extra], ignore_index=True).to_csv(assets_csv, index=False)
    work = tmp_path / "run"
    first = run_snakemake(work, tiny_region)
    assert first.returncode == 0, first.stderr[-3000:]
    out = work / "outputs" / "tiny"
    classes = pd.read_csv(out / "tract_classes.csv", dtype=str).set_index("id")["desert_class"]
    assert classes[SERVED] not in {"desert", "low_access"} and classes[DESERT] == "desert"
    public = pd.read_csv(out / "assets.csv", dtype=str, keep_default_na=False)
    assert len(public) == 11 and set(public["status"]) == {"active"}
    assert pd.read_csv(out / "changes.csv").empty  # nothing published before

    # The community reports: the five shelves closed, three places added in the desert.
    shelves = public.loc[public["name"].str.startswith("Shelf"), "asset_id"].tolist()
    add_lat, add_lon = points_lonlat([(X0 + 3300, Y0 + 3300), (X0 + 3700, Y0 + 3500),
                                      (X0 + 3400, Y0 + 3750)])
    form = tmp_path / "raw" / "kobo_corrections.csv"
    pd.DataFrame([{"what": "close", "which": a, "place": "", "when": "2026-11-01"}
                  for a in shelves] + [
        {"what": "add", "which": "", "place": f"{la} {lo} 0 5", "when": "2026-11-02",
         "site": f"Free store {k}", "kind": "free_store"}
        for k, (la, lo) in enumerate(zip(add_lat, add_lon, strict=True))]).to_csv(
        form, index=False)
    region["corrections"] = {"path": str(form), "action": "what", "asset_id": "which",
                             "geopoint": "place", "date": "when", "name": "site",
                             "type": "kind", "label": "Kobo corrections"}
    second = run_snakemake(work, tiny_region)
    assert second.returncode == 0, second.stderr[-3000:]
    after = pd.read_csv(out / "tract_classes.csv", dtype=str).set_index("id")["desert_class"]
    assert after[SERVED] == "desert" and after[DESERT] != "desert"
    changes = pd.read_csv(out / "changes.csv", dtype=str, keep_default_na=False)
    tracts = changes[changes["kind"] == "tract"].set_index("id")
    assert tracts.loc[SERVED, ["before", "after"]].tolist() == [classes[SERVED], "desert"]
    assert tracts.loc[DESERT, ["before", "after"]].tolist() == ["desert", after[DESERT]]
    moved = changes[changes["kind"] == "asset"]
    assert sorted(moved.loc[moved["after"] == "closed", "id"]) == sorted(shelves)
    assert (moved["before"] == "added").sum() == 3
    assert changes["previous_run_utc"].str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$").all()
    public = pd.read_csv(out / "assets.csv", dtype=str, keep_default_na=False)
    assert sorted(public.loc[public["status"] == "closed", "asset_id"]) == sorted(shelves)
    added = public[public["community_reported"] == "True"]
    assert sorted(added["name"]) == ["Free store 0", "Free store 1", "Free store 2"]
    assert set(added["source"]) == {"Kobo corrections"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["inventory"]["closed"] == 5 and summary["inventory"]["community_reported"] == 3
    html = (out / "map.html").read_text()
    assert html.count("Suggest a correction") == 11 + 3  # every drawn asset, closed ones too
    # The popups travel as JSON inside the page: the link's `&amp;` is written \u0026amp;.
    assert (f"d[asset_id]={added['asset_id'].iloc[0]}\\u0026amp;d[name]=Free%20store%20"
            in html)
    assert "Add a place we missed" in html and "Closed since 2026-11-01" in html
    assert "Asset list last updated 2026-11-02." in html
    assert "What changed since 20" in html
    assert f"{SERVED}: {classes[SERVED]} \\u2192 desert" in html  # the outline's tooltip, as JSON
    assert len(list((out / "history").iterdir())) == 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert [f["path"] for f in manifest["inputs"] if f["role"] == "corrections"] == [str(form)]
    assert "hsds/datapackage.json" in {f["file"] for f in manifest["outputs"]}

    # A rerun with nothing new runs no job and changes no file.
    files = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    third = run_snakemake(work, tiny_region)
    assert third.returncode == 0 and "Nothing to be done" in third.stderr, third.stderr[-2000:]
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == files


def test_as_of_today_uses_the_run_date(city):
    from datetime import datetime, timezone

    from aiddeserts.io.corrections import resolve_as_of

    today = datetime.now(timezone.utc).date().isoformat()
    assert resolve_as_of("today", pd.Series(["2020-01-01"])) == today
    assert resolve_as_of(None, pd.Series(["", "2020-01-01", "2021-02-03"])) == "2021-02-03"
    assert resolve_as_of(None, pd.Series(["", ""])) == ""
    tracts, path = city
    assets, _, _ = read_assets(asset_region({"path": str(path), "updated": "updated"}), tracts)
    assets, _, _ = apply_corrections(assets, [], tracts, "TRACT_CODE")
    assert (inventory_status(assets, 365, "today") == "stale").all()  # all dates before 2025


def test_changes_list_class_changes_and_asset_status_changes():
    from aiddeserts.stages.inventory import changes

    before = pd.DataFrame({"id": ["T1", "T2"], "desert_class": ["served", "desert"]})
    after = pd.DataFrame({"id": ["T1", "T2"], "desert_class": ["desert", "desert"]})
    old = pd.DataFrame({"asset_id": ["a", "b", "c"], "status": ["active", "active", "active"]})
    new = pd.DataFrame({"asset_id": ["a", "b", "d"], "status": ["active", "stale", "active"]})
    table = changes(before, after, old, new, "2026-01-01T00:00:00Z")
    assert table.values.tolist() == [
        ["tract", "T1", "served", "desert", "2026-01-01T00:00:00Z"],
        ["asset", "b", "active", "stale", "2026-01-01T00:00:00Z"],
        ["asset", "c", "active", "gone", "2026-01-01T00:00:00Z"],
        ["asset", "d", "added", "active", "2026-01-01T00:00:00Z"]]
    assert changes(None, after, None, new, "").empty


def test_deserts_if_stale_removed_counts_high_need_tracts_reached_only_by_stale_assets():
    import geopandas as gpd

    from aiddeserts.stages.summary import inventory_summary

    tracts = grid_tracts(2).assign(
        far_threshold_m=805.0, need_high=[True, True, False, True],
        is_desert=[False, False, False, True],
        desert_class=["served", "served", "served", "desert"])
    centres = tracts.geometry.representative_point()
    # T00: one stale asset only (at risk); T01: a stale and an active one (safe); T02: stale
    # only but need not high; T03: already a desert. A closed asset counts for nothing.
    xy = [(centres[0].x, centres[0].y), (centres[1].x, centres[1].y),
          (centres[1].x + 10, centres[1].y), (centres[2].x, centres[2].y),
          (centres[0].x + 5, centres[0].y)]
    inventory = gpd.GeoDataFrame({
        "status": ["stale", "stale", "active", "stale", "closed"],
        "community_reported": [False, False, True, False, False]},
        geometry=gpd.points_from_xy(*zip(*xy, strict=True)), crs=tracts.crs)
    assert inventory_summary(inventory, tracts) == {
        "active": 1, "stale": 3, "closed": 1, "community_reported": 1,
        "deserts_if_stale_removed": 1}


def test_closed_assets_greyed_or_hidden_on_the_map(city):
    from aiddeserts.maps.inventory import add_correction_urls, closed_layer, split_closed

    tracts, path = city
    assets, _, _ = read_assets(asset_region({"path": str(path), "name": "name",
                                             "status": "open", "updated": "updated"}), tracts)
    assets, _, _ = apply_corrections(assets, [], tracts, "TRACT_CODE")
    assets["status"] = inventory_status(assets, 365, None).to_numpy()
    shown, closed = split_closed(add_correction_urls(assets, "https://f.example/?id={asset_id}"))
    assert shown["name"].tolist() == ["Fridge A", "Shelf C"] and closed["name"].tolist() == [
        "Pantry B"]
    layer, label, legend = closed_layer(closed, stale=1)
    assert "Closed places (1)" in layer.layer_name and "not verified recently" in legend
    assert "Closed since 2023-05-01" in layer.data[0][2]
    assert f"https://f.example/?id={closed['asset_id'].iloc[0]}" in layer.data[0][2]


def test_a_published_hsds_package_feeds_another_region(tmp_path, tiny_region):
    """A 211-style export as the only asset source: the same assets, ids and places."""
    import copy

    from conftest import run_snakemake

    # Without the survey: two independent regions draw fresh DP noise, which would move need.
    tiny_region["regions"]["tiny"].pop("survey", None)
    first = run_snakemake(tmp_path / "one", tiny_region)
    assert first.returncode == 0, first.stderr[-3000:]
    package = tmp_path / "one" / "outputs" / "tiny" / "hsds" / "datapackage.json"
    other = copy.deepcopy(tiny_region)
    other["regions"]["tiny"]["assets"] = {"path": str(package.resolve()), "format": "hsds"}
    second = run_snakemake(tmp_path / "two", other)
    assert second.returncode == 0, second.stderr[-3000:]
    columns = ["asset_id", "name", "type", "status", "lat", "lon"]
    before = pd.read_csv(tmp_path / "one" / "outputs" / "tiny" / "assets.csv", dtype=str)
    after = pd.read_csv(tmp_path / "two" / "outputs" / "tiny" / "assets.csv", dtype=str)
    assert after[columns].equals(before[columns])
    classes = [pd.read_csv(tmp_path / run / "outputs" / "tiny" / "tract_classes.csv")
               for run in ("one", "two")]
    assert classes[0].equals(classes[1])


def test_closed_hide_leaves_closed_assets_off_the_map(city):
    from aiddeserts.maps.inventory import drawn_assets

    tracts, path = city
    assets, _, _ = read_assets(asset_region({"path": str(path), "name": "name",
                                             "status": "open"}), tracts)
    assets, _, _ = apply_corrections(assets, [], tracts, "TRACT_CODE")
    assets["status"] = inventory_status(assets, 365, None).to_numpy()
    assert drawn_assets(assets, "hide")["name"].tolist() == ["Fridge A", "Shelf C"]
    assert drawn_assets(assets, "grey")["name"].tolist() == ["Fridge A", "Pantry B", "Shelf C"]


def test_public_inventory_never_lists_hidden_assets_and_shows_approximate_ones_moved(city):
    from aiddeserts.stages.inventory import ASSET_COLUMNS, public_inventory

    tracts, path = city
    table = pd.read_csv(path)
    table["vis"] = ["approximate", "hidden", "public"]
    table.to_csv(path, index=False)
    assets, _, _ = read_assets(asset_region({"path": str(path), "name": "name",
                                             "visibility": "vis"}), tracts)
    assets, _, _ = apply_corrections(assets, [], tracts, "TRACT_CODE")
    assets["status"] = inventory_status(assets, 365, None).to_numpy()
    shown = public_inventory(assets, tracts, "TRACT_CODE",
                             {"approximate_to": "tract", "approximate_grid_m": 500})
    assert list(shown.columns[:len(ASSET_COLUMNS)]) == ASSET_COLUMNS
    assert sorted(shown["name"]) == ["Fridge A", "Shelf C"]
    fridge = shown.set_index("name").loc["Fridge A"]
    exact = assets.set_index("name").to_crs(4326).geometry["Fridge A"]
    centre = tracts.set_index("TRACT_CODE").geometry.representative_point().to_crs(4326)
    tract = assets.set_index("name").loc["Fridge A", "TRACT_CODE"]
    assert (round(fridge["lat"], 5), round(fridge["lon"], 5)) == (
        round(centre[tract].y, 5), round(centre[tract].x, 5))
    assert abs(fridge["lat"] - exact.y) > 1e-3 or abs(fridge["lon"] - exact.x) > 1e-3
