# Shared set-up: validate the configuration and define helpers used by every stage.
import sys
from types import SimpleNamespace
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir, "src").resolve()))

from aiddeserts.config import PRODUCTS, region_settings, validate_config  # noqa: E402

CONFIG = validate_config(config, source="configuration")
REGIONS = sorted(CONFIG["regions"])
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


def retrieve_settings(wildcards):
    settings = CONFIG["regions"][wildcards.region].get("retrieve")
    if not settings:
        raise ValueError(
            f"region {wildcards.region} has no 'retrieve' config (state, county) to download from"
        )
    return settings


def all_input_files(wildcards):
    """Every raw file of every region (for the check target)."""
    paths = []
    for region in REGIONS:
        wc = SimpleNamespace(region=region)
        paths += input_files(wc) + asset_paths(wc) + survey_paths(wc)
    return sorted(set(paths))
