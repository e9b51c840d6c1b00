"""Download TIGER/Line tracts and ACS variables for a state/county, with caching, retries with
exponential backoff and a record of what was fetched (after PyPSA-Eur's ``data/versions.csv``).

Files land under ``data/raw/<region>/retrieved/``; a file already there is not downloaded again.
Base URLs come from the config (``retrieve.tiger_base_url``, ``retrieve.acs_base_url``) so tests
point them at a local server. Nothing else in the package touches the network.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aiddeserts.errors import DownloadError, InputError

VERSIONS_COLUMNS = ["file", "url", "vintage", "sha256", "bytes", "retrieved_utc"]
log = logging.getLogger("aiddeserts.io.retrieve")


def tiger_tract_url(base_url: str, year: int, state: str) -> str:
    """URL of the TIGER/Line tract shapefile zip of one state, e.g. ``tl_2022_27_tract.zip``."""
    return f"{base_url.rstrip('/')}/TIGER{year}/TRACT/tl_{year}_{state}_tract.zip"


def acs_url(base_url: str, year: int, variables: list[str], state: str,
            county: str | list[str] | None = None, api_key: str = "") -> str:
    """Census Data API URL for ACS 5-year `variables` of every tract of a state (or of one or
    several of its counties)."""
    query = [("get", ",".join(["NAME", *variables])), ("for", "tract:*"),
             ("in", f"state:{state}")]
    if county:
        counties = [county] if isinstance(county, str) else list(county)
        query.append(("in", f"county:{','.join(counties)}"))
    if api_key:
        query.append(("key", api_key))
    return f"{base_url.rstrip('/')}/{year}/acs/acs5?{urllib.parse.urlencode(query, safe=':*,')}"


def redact(url: str) -> str:
    """The URL without an API key (never recorded)."""
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "key"]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query, safe=":*,")))


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_version(versions_csv: str | Path, row: Mapping[str, Any]) -> None:
    """Append one row to the versions record (created with a header), under a file lock."""
    path = Path(versions_csv)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", newline="", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0, os.SEEK_END)
        writer = csv.DictWriter(handle, fieldnames=VERSIONS_COLUMNS, lineterminator="\n")
        if handle.tell() == 0:
            writer.writeheader()
        writer.writerow({k: row.get(k, "") for k in VERSIONS_COLUMNS})


def download(url: str, dest: str | Path, *, retries: int, backoff_s: float,
             timeout_s: float = 60.0, sleep: Callable[[float], None] = time.sleep) -> bool:
    """Fetch `url` into `dest` unless it is cached there. Returns True when it downloaded.

    Network errors, HTTP 429 and 5xx are retried `retries` times, waiting `backoff_s`, then
    twice as long each time. Other HTTP errors (404: wrong year or state) fail at once.
    """
    dest = Path(dest)
    if dest.exists() and dest.stat().st_size > 0:
        log.info("cached: %s", dest)
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    for attempt in range(retries + 1):
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response, open(tmp, "wb") as out:
                while block := response.read(1 << 20):
                    out.write(block)
            os.replace(tmp, dest)
            return True
        except urllib.error.HTTPError as exc:
            if exc.code != 429 and exc.code < 500:
                raise InputError(f"download failed with HTTP {exc.code} ({redact(url)}).",
                                 fix="check retrieve.state/county and the years in the config."
                                 ) from exc
            error: Exception = exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            error = exc
        finally:
            if tmp.exists():
                tmp.unlink()
        if attempt < retries:
            wait = backoff_s * 2**attempt
            log.warning("download of %s failed (%s); retry %d in %.1f s", redact(url), error,
                        attempt + 1, wait)
            sleep(wait)
    raise DownloadError(f"download failed after {retries + 1} attempts ({redact(url)}: {error}).",
                        fix="check the network and the retrieve base URLs, then run again "
                        "(a scheduled run retries by itself).")


def fetch(url: str, dest: str | Path, vintage: str, settings: Mapping[str, Any],
          versions_csv: str | Path = "data/versions.csv") -> Path:
    """Download (or reuse) one file and record url, vintage and checksum in `versions_csv`."""
    downloaded = download(url, dest, retries=settings["retries"],
                          backoff_s=settings["backoff_s"])
    if downloaded:
        record_version(versions_csv, {
            "file": str(dest), "url": redact(url), "vintage": vintage, "sha256": sha256(dest),
            "bytes": Path(dest).stat().st_size,
            "retrieved_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})
    return Path(dest)


def retrieve_tracts(settings: Mapping[str, Any], dest: str | Path,
                    versions_csv: str | Path = "data/versions.csv") -> Path:
    """TIGER/Line tracts of ``settings['state']`` (the whole state: TIGER ships one zip each)."""
    year = settings["tiger_year"]
    url = tiger_tract_url(settings["tiger_base_url"],
                          year, settings["state"])
    return fetch(url, dest, f"TIGER/Line {year}", settings, versions_csv)


def retrieve_acs(settings: Mapping[str, Any], dest: str | Path,
                 versions_csv: str | Path = "data/versions.csv") -> Path:
    """ACS 5-year variables by tract as Census API JSON; validated as a table once downloaded."""
    from aiddeserts.io.readers import read_census_api_json

    year = settings["acs_year"]
    url = acs_url(settings["acs_base_url"], year,
                  list(settings["acs_variables"]), settings["state"],
                  settings.get("county"), settings["api_key"])
    path = fetch(url, dest, f"ACS 5-year {year - 4}-{year}", settings, versions_csv)
    read_census_api_json(path)
    return path
