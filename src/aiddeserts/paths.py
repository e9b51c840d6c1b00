"""Where each file of a region lives: the one place the workflow and the package name paths.

Templates hold ``{region}`` (a Snakemake wildcard); :func:`for_region` fills it for use outside
Snakemake (the CLI, tests, debugging a stage from Python).
"""

from __future__ import annotations

#: Respondent-level and intermediate files (private to the machine: never published).
PROCESSED = "data/processed/{region}"
#: Products built for publication, audited before they are copied to outputs/.
STAGE = "data/processed/{region}/stage"
#: What partners see: everything here is public.
PUBLISHED = "outputs/{region}"
LOGS = "logs/{region}"
BENCHMARKS = "benchmarks/{region}"
#: The warm server's log of one run (src/aiddeserts/warmstart.py): which jobs it ran, no data.
WARM_SERVER_LOG = "logs/warm_server.log"
RAW = "data/raw/{region}"


def processed(name: str) -> str:
    """An intermediate file of a region, e.g. ``processed("assets.gpkg")``."""
    return f"{PROCESSED}/{name}"


def staged(name: str) -> str:
    """A product staged for the privacy audit and publication."""
    return f"{STAGE}/{name}"


def published(name: str) -> str:
    """A published product under outputs/<region>/."""
    return f"{PUBLISHED}/{name}"


def log(rule: str) -> str:
    """The log file of one rule for one region."""
    return f"{LOGS}/{rule}.log"


def benchmark(rule: str) -> str:
    """Snakemake's benchmark file of one rule for one region."""
    return f"{BENCHMARKS}/{rule}.tsv"


def retrieved(name: str) -> str:
    """A file downloaded by the retrieve rules."""
    return f"{RAW}/retrieved/{name}"


def for_region(template: str, region: str) -> str:
    """A path template with the region filled in."""
    return template.replace("{region}", region)
