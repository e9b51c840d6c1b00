# Shared set-up: validate the configuration and define helpers used by every stage.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir, "src").resolve()))

from aiddeserts.config import region_settings, validate_config  # noqa: E402

CONFIG = validate_config(config, source="configuration")
REGIONS = sorted(CONFIG["regions"])
PRODUCTS = ["density.tif", "tracts.gpkg", "map.html", "summary.json", "rejects.csv"]
STAGE = "data/processed/{region}/stage"


wildcard_constraints:
    region="|".join(REGIONS),


def region_config(wildcards):
    return CONFIG["regions"][wildcards.region]


def settings(section):
    return lambda wildcards: region_settings(CONFIG, wildcards.region, section)


def all_settings(wildcards):
    return {
        section: region_settings(CONFIG, wildcards.region, section)
        for section in ("density", "classification", "survey_rules", "privacy")
    }


def input_files(wildcards):
    """Every raw file a region reads, so a changed input reruns its stages."""
    region = CONFIG["regions"][wildcards.region]
    paths = [region["tracts"]["path"]]
    if region["tracts"].get("attributes"):
        paths.append(region["tracts"]["attributes"]["path"])
    return paths


def asset_paths(wildcards):
    region = CONFIG["regions"][wildcards.region]
    sources = (
        region["assets"] if isinstance(region["assets"], list) else [region["assets"]]
    )
    return [source["path"] for source in sources]


def survey_paths(wildcards):
    survey = CONFIG["regions"][wildcards.region].get("survey")
    return [survey["path"]] if survey else []
