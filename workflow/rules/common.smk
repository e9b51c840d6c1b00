# Shared set-up: validate the configuration and define helpers used by every stage.
import sys
from types import SimpleNamespace
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir, "src").resolve()))

from aiddeserts.config import PRODUCTS, region_settings, validate_config  # noqa: E402
from aiddeserts.manifest import (
    RUN_STARTED_FILE,
    code_version,
    sidecars,
    utc_now,
)  # noqa: E402
from aiddeserts.sizing import density_mem_mb, mem_mb, runtime_min  # noqa: E402

CONFIG = validate_config(config, source="configuration")
REGIONS = sorted(CONFIG["regions"])
MANIFESTED = [product for product in PRODUCTS if product != "manifest.json"]
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
    return tract_paths(wildcards) + attribute_paths(wildcards)


def tract_paths(wildcards):
    """The tract file (a Shapefile with its companions)."""
    return sidecars(CONFIG["regions"][wildcards.region]["tracts"]["path"])


def attribute_paths(wildcards):
    """The tract attribute table, if the region has one."""
    attributes = CONFIG["regions"][wildcards.region]["tracts"].get("attributes")
    return sidecars(attributes["path"]) if attributes else []


def asset_paths(wildcards):
    region = CONFIG["regions"][wildcards.region]
    sources = (
        region["assets"] if isinstance(region["assets"], list) else [region["assets"]]
    )
    return [p for source in sources for p in sidecars(source["path"])]


def survey_paths(wildcards):
    survey = CONFIG["regions"][wildcards.region].get("survey")
    return sidecars(survey["path"]) if survey else []


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


def code(script):
    """Hash of the package modules `script` imports: a rule's params change when its code does."""
    return code_version(
        Path(workflow.basedir, "workflow", "scripts", script),
        Path(workflow.basedir, "src", "aiddeserts"),
    )


def mem(rule_name):
    """Memory request (MB) from the job's input size; doubled on a retry (attempt 2)."""
    return lambda wildcards, input, attempt: mem_mb(rule_name, input.size_mb, attempt)


def runtime(rule_name):
    """Wall-time request (minutes) from the job's input size; scaled on a retry."""
    return lambda wildcards, input, attempt: runtime_min(
        rule_name, input.size_mb, attempt
    )


def code_versions(wildcards):
    """Code hash of every rule that runs a script, for the manifest."""
    return {r.name: code(Path(r.script).name) for r in workflow.rules if r.script}


def density_mem(wildcards, input, attempt):
    """Memory request (MB) of the density job, from the grid size (extent / cell size)."""
    density = region_settings(CONFIG, wildcards.region, "density")
    bandwidth = density["bandwidth_m"]
    if not isinstance(
        bandwidth, (int, float)
    ):  # "auto": resolved in the job; assume 2 km
        bandwidth = 2000
    return density_mem_mb(input.tracts, density["cell_size_m"], bandwidth, attempt)
