"""Retrieval against a local HTTP server on 127.0.0.1 serving recorded fixtures (never the
internet): URLs, retries with backoff, caching, the versions record, and the Snakemake rules."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from conftest import run_snakemake
from fileserver import FileServer

from aiddeserts.errors import DownloadError, InputError
from aiddeserts.io.retrieve import acs_url, download, retrieve_acs, retrieve_tracts, tiger_tract_url

FIXTURES = Path(__file__).parent / "fixtures"
TIGER_PATH = "/geo/tiger/TIGER2020/TRACT/tl_2020_27_tract.zip"
ACS_PATH = "/data/2020/acs/acs5"


def Server() -> FileServer:  # noqa: N802
    """Serves the recorded TIGER and ACS fixtures at their Census paths."""
    return FileServer({TIGER_PATH: (FIXTURES / "tl_2020_27_tract.zip").read_bytes(),
                       ACS_PATH: (FIXTURES / "acs5_2020_api.json").read_bytes()})


@pytest.fixture
def server() -> Iterator[FileServer]:
    srv = Server()
    yield srv
    srv.close()


def settings(server: FileServer) -> dict:
    return {"state": "27", "county": "053", "tiger_year": 2020, "acs_year": 2020,
            "acs_variables": ["B01003_001E", "B17001_002E", "B19013_001E"],
            "tiger_base_url": f"{server.url}/geo/tiger", "acs_base_url": f"{server.url}/data",
            "api_key": "SECRETKEY", "retries": 3, "backoff_s": 0.01}


def test_urls_follow_the_census_layout():
    assert tiger_tract_url("https://www2.census.gov/geo/tiger", 2022, "06") == (
        "https://www2.census.gov/geo/tiger/TIGER2022/TRACT/tl_2022_06_tract.zip")
    assert acs_url("https://api.census.gov/data", 2022, ["B01003_001E"], "36", "061") == (
        "https://api.census.gov/data/2022/acs/acs5?get=NAME,B01003_001E&for=tract:*"
        "&in=state:36&in=county:061")


def test_retries_with_backoff_then_caches_and_records(tmp_path, server):
    server.fail[TIGER_PATH] = 2
    versions = tmp_path / "versions.csv"
    dest = retrieve_tracts(settings(server), tmp_path / "raw" / "tracts.zip", versions)
    assert server.requests == [TIGER_PATH] * 3
    assert dest.read_bytes() == server.files[TIGER_PATH]
    record = pd.read_csv(versions, dtype=str)
    assert record[["file", "url", "vintage"]].values.tolist() == [
        [str(dest), f"{server.url}{TIGER_PATH}", "TIGER/Line 2020"]]
    assert record["sha256"].iloc[0] == hashlib.sha256(dest.read_bytes()).hexdigest()
    # Cached: a second call sends no request and records nothing new.
    retrieve_tracts(settings(server), dest, versions)
    assert len(server.requests) == 3 and len(pd.read_csv(versions)) == 1


def test_backoff_doubles(tmp_path, server):
    server.fail[TIGER_PATH] = 3
    waits: list[float] = []
    download(f"{server.url}{TIGER_PATH}", tmp_path / "t.zip", retries=3, backoff_s=0.5,
             sleep=waits.append)
    assert waits == [0.5, 1.0, 2.0]


def test_gives_up_after_retries_and_404_fails_at_once(tmp_path, server):
    server.fail[TIGER_PATH] = 10
    with pytest.raises(DownloadError, match="download failed after 2 attempts"):
        download(f"{server.url}{TIGER_PATH}", tmp_path / "t.zip", retries=1, backoff_s=0)
    assert not (tmp_path / "t.zip").exists()
    server.requests.clear()
    with pytest.raises(InputError, match="HTTP 404.*Fix: check retrieve.state"):
        download(f"{server.url}/nothing.zip", tmp_path / "n.zip", retries=3, backoff_s=0)
    assert len(server.requests) == 1


def test_acs_api_key_is_sent_but_never_recorded(tmp_path, server):
    versions = tmp_path / "versions.csv"
    retrieve_acs(settings(server), tmp_path / "acs.json", versions)
    assert "key=SECRETKEY" in server.requests[0]
    assert "in=county:053" in server.requests[0]
    assert "SECRETKEY" not in versions.read_text()
    assert pd.read_csv(versions)["vintage"].tolist() == ["ACS 5-year 2016-2020"]


def test_snakemake_retrieves_then_runs_the_pipeline(tmp_path, server):
    work = tmp_path / "run"
    config = {"regions": {"mpls": {
        "retrieve": settings(server),
        "tracts": {"path": "data/raw/mpls/retrieved/tracts.zip", "id": "GEOID",
                   "population": "B01003_001E", "need": ["B17001_002E"],
                   "attributes": {"path": "data/raw/mpls/retrieved/acs.json", "id": "GEOID"}},
        "assets": {"path": str(FIXTURES / "google_my_maps.kml"), "name": "Name",
                   "type": "kml_layer"}}}}
    result = run_snakemake(work, config, "outputs/mpls/summary.json")
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.split("?")[0] for p in server.requests) == [ACS_PATH, TIGER_PATH]
    tracts = gpd.read_file(work / "outputs" / "mpls" / "tracts.gpkg")
    assert len(tracts) == 16 and tracts["population"].notna().all()
    versions = pd.read_csv(work / "data" / "versions.csv")
    assert sorted(versions["vintage"]) == ["ACS 5-year 2016-2020", "TIGER/Line 2020"]
    # Cached under data/raw/: a rerun downloads nothing and has nothing to do.
    again = run_snakemake(work, config, "outputs/mpls/summary.json", extra=("--dry-run",))
    assert "Nothing to be done" in again.stdout + again.stderr
    assert len(server.requests) == 2


def test_acs_for_several_counties_in_one_request(tmp_path, server):
    config = {**settings(server), "county": ["053", "123"]}
    retrieve_acs(config, tmp_path / "acs.json", tmp_path / "versions.csv")
    assert "in=county:053,123" in server.requests[0]


def test_a_network_failure_is_its_own_exit_code_and_reason(tmp_path, server):
    """Not "bad input": an alert must say the download failed (exit 6, `download failed`)."""
    from test_cli import aiddeserts, write_config

    server.fail[TIGER_PATH] = 100
    work = tmp_path / "run"
    config = {"regions": {"mpls": {
        "retrieve": {**settings(server), "retries": 1, "backoff_s": 0},
        "tracts": {"path": "data/raw/mpls/retrieved/tracts.zip", "id": "GEOID"},
        "assets": {"path": str(FIXTURES / "google_my_maps.kml"), "name": "Name",
                   "type": "kml_layer"}}}}
    cfg = write_config(work, config)
    marker = tmp_path / "reason.txt"
    result = aiddeserts(work, "run", "--configfile", str(cfg), "--cores", "1",
                        "--on-failure", f'echo "$AIDDESERTS_EXIT_CODE $AIDDESERTS_REASON" > {marker}')
    assert result.returncode == 6, result.stderr[-3000:]
    assert "download failed after 2 attempts" in result.stderr
    assert marker.read_text().strip() == "6 download failed"
    assert not (work / "outputs" / "mpls").exists()
