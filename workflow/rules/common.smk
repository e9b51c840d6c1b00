# Shared set-up: validate the configuration once, then the helpers of every rule —
# paths (one place: aiddeserts.paths), key-level params, code hashes and resources.
import os
import sys
from types import SimpleNamespace
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir, "src").resolve()))

from aiddeserts import paths  # noqa: E402
from aiddeserts.config import AUDIT_PARTS, AUDITED, PRODUCTS, SECTIONS, validate_config  # noqa: E402
from aiddeserts.manifest import RUN_STARTED_FILE, code_version, sidecars, utc_now  # noqa: E402
from aiddeserts.sizing import density_mem_mb, figure_priority, mem_mb, runtime_min  # noqa: E402

CONFIG = validate_config(config, source="configuration")
REGIONS = sorted(CONFIG["regions"])
MANIFESTED = [product for product in PRODUCTS if product != "manifest.json"]
HSDS_TABLES = [p.removeprefix("hsds/") for p in PRODUCTS
               if p.startswith("hsds/") and p.endswith(".csv")]
processed, staged, published = paths.processed, paths.staged, paths.published


def logs(rule_name):
    return paths.log(rule_name)


def benchmarks(rule_name):
    return paths.benchmark(rule_name)


# --- params at key level: a rule names exactly the config keys it reads, so editing one key
# reruns only the rules that read it (Snakemake's params trigger).
def region_key(*keys):
    """The region's validated config value at `keys` (None when an optional key is absent)."""

    def value(wildcards):
        node = CONFIG["regions"][wildcards.region]
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    return value


def region_name(wildcards):
    return wildcards.region


def survey_configured(wildcards):
    return bool(CONFIG["regions"][wildcards.region].get("survey"))


def stage_settings(wildcards):
    """The method's settings (summary.json's `parameters`, the manifest's `settings`)."""
    region = CONFIG["regions"][wildcards.region]
    return {s: region[s] for s in ("density", "classification", "survey_rules", "privacy")}


def retrieve_settings(wildcards):
    settings = CONFIG["regions"][wildcards.region].get("retrieve")
    if not settings:
        raise ValueError(
            f"region {wildcards.region} has no 'retrieve' config (state, county) to download from"
        )
    return settings


def audited_files(wildcards):
    """The staged files of one part of the privacy audit."""
    return expand(staged("{product}"), product=AUDIT_PARTS[wildcards.part],
                  region=wildcards.region)


# --- raw inputs: a changed file reruns the stages that read it.
def tract_paths(wildcards):
    """The tract file (a Shapefile with its companions)."""
    return sidecars(CONFIG["regions"][wildcards.region]["tracts"]["path"])


def attribute_paths(wildcards):
    """The tract attribute table, if the region has one."""
    attributes = CONFIG["regions"][wildcards.region]["tracts"].get("attributes")
    return sidecars(attributes["path"]) if attributes else []


def package_files(descriptor):
    """An HSDS data package: its datapackage.json and the tables it lists (those present)."""
    import json

    path = Path(descriptor)
    try:
        resources = json.loads(path.read_text(encoding="utf-8-sig")).get("resources", [])
    except (OSError, ValueError, AttributeError):
        return [str(path)]  # missing or broken: the ingest job reports it
    tables = [path.parent / r["path"] for r in resources if isinstance(r, dict) and "path" in r]
    return [str(path)] + sorted(str(t) for t in tables if t.is_file())


def asset_paths(wildcards):
    """Every file of every asset source (an HSDS source: its package's tables too)."""
    sources = CONFIG["regions"][wildcards.region]["assets"]
    return [p for source in sources for p in (
        package_files(source["path"]) if source["format"] == "hsds" else sidecars(source["path"]))]


# --- job priorities: on a few cores Snakemake starts the ready job of highest priority first
# (local runs pick by these alone: profiles/default, scheduler: greedy). The classification's
# path goes first and what the maps need is made beside it; after it come changes.csv, the
# products, longest first, then the audit's parts, so the run ends on a short job.
PRIORITY = {
    # Before the classification: its own path (ingests, density, classify), then the small
    # inputs of the map and the posters, then the map shapes and what every audit part needs.
    "asset_density": 4,
    "classify_tracts": 4,
    "ingest_assets": 3,
    "ingest_survey": 3,
    "inventory": 3,
    "stories": 3,
    "map_shapes": 2,
    "privacy_audit_secrets": 2,
    # After it: changes.csv first (a short job the map and the posters wait for: even a figure
    # started first, static_map_priority, must not hold them up), then the map, the posters,
    # the summary (the audit's tables part waits for it) and the manifest (the end waits for
    # it), then the figure, then the audit's parts (audit_part_priority).
    "changes": 6,
    "web_map": 3,
    "datawalk": 3,
    "summarize": 3,
    "manifest": 3,
}


def audit_part_priority(wildcards):
    """An audit part's priority: 1 for the manifest's (the last ready, the verdict waits for
    it), the map's and the inventory's (the longest: the map's HTML, every asset); 0 for the
    others. All after the products, so a product's short parts, not a long one, end the run."""
    return 1 if wildcards.part in ("manifest", "map", "inventory") else 0


def static_map_priority(wildcards):
    """The figure's priority (sizing.figure_priority): 2, after the map and the posters (3) and
    before the audit's parts; 5, first, when the region's asset files are large (one vector
    marker per asset: then the longest product)."""
    size = sum(os.path.getsize(p) for p in asset_paths(wildcards) if os.path.isfile(p))
    return figure_priority(size / 1e6, default=2, first=5)


def correction_paths(wildcards):
    """The region's corrections exports (none when it has no `corrections` key)."""
    return [c["path"] for c in CONFIG["regions"][wildcards.region]["corrections"]]


def survey_paths(wildcards):
    survey = CONFIG["regions"][wildcards.region].get("survey")
    return sidecars(survey["path"]) if survey else []


def places_paths(wildcards):
    """The region's places layer (`map.places`), if it has one: an edit redraws the printed maps."""
    places = region_key("map", "places")(wildcards)
    return sidecars(places["path"]) if places else []


def network_paths(wildcards):
    """The region's OSM extract, if it has a network."""
    network = CONFIG["regions"][wildcards.region].get("network")
    return [network["path"]] if network else []


def network_cache(wildcards):
    """The built walking graph, if the region has a network (an input of classify)."""
    return [paths.for_region(processed("network.npz"), wildcards.region)] if network_paths(
        wildcards) else []


def all_input_files(wildcards):
    """Every raw file of every region (for the check target)."""
    found = []
    for region in REGIONS:
        wc = SimpleNamespace(region=region)
        found += (tract_paths(wc) + attribute_paths(wc) + asset_paths(wc) + survey_paths(wc)
                  + correction_paths(wc))
    return sorted(set(found))


# --- code and resources
def code(script):
    """Hash of the package code `script` runs: a rule's params change when its code does."""
    return code_version(
        Path(workflow.basedir, "workflow", "scripts", script),
        Path(workflow.basedir, "src", "aiddeserts"),
    )


def code_versions(wildcards):
    """Code hash of every rule that runs a script, for the manifest."""
    return {r.name: code(Path(r.script).name) for r in workflow.rules if r.script}


def mem(rule_name):
    """Memory request (MB) from the job's input size; doubled on a retry (attempt 2)."""
    return lambda wildcards, input, attempt: mem_mb(rule_name, input.size_mb, attempt)


def runtime(rule_name):
    """Wall-time request (minutes) from the job's input size; scaled on a retry."""
    return lambda wildcards, input, attempt: runtime_min(
        rule_name, input.size_mb, attempt
    )


def density_mem(wildcards, input, attempt):
    """Memory request (MB) of the density job, from the grid size (extent / cell size)."""
    density = CONFIG["regions"][wildcards.region]["density"]
    bandwidth = density["bandwidth_m"]
    if not isinstance(bandwidth, (int, float)):  # "auto": resolved in the job; assume 2 km
        bandwidth = 2000
    return density_mem_mb(input.tracts, density["cell_size_m"], bandwidth, attempt)


# --- run hooks: the run's start time for the manifest, and the warm server that lets a local
# run import the libraries once instead of once per job (src/aiddeserts/warmstart.py).
WARM_SERVER = []
JOBS_ENV_BEFORE = {}


def warm_start_wanted():
    """A warm server serves local runs only: not cluster jobs, nor jobs in conda/containers."""
    return (CONFIG["warm_start"] and workflow.local_exec and not workflow.remote_exec
            and os.name == "posix" and not workflow.deployment_settings.deployment_method)


onstart:
    Path(RUN_STARTED_FILE).parent.mkdir(parents=True, exist_ok=True)
    Path(RUN_STARTED_FILE).write_text(utc_now() + "\n")
    from aiddeserts import warmstart

    scripted = [job.rule.name for job in workflow.dag.needrun_jobs() if job.rule.script]
    early = warmstart.adopt_early(os.environ)  # started by `aiddeserts run` before Snakemake
    if warm_start_wanted() and len(scripted) >= warmstart.MIN_JOBS:
        later = warmstart.preload_for(set(scripted))
        server = early
        if early and not warmstart.confirm_early(early[1], paths.WARM_SERVER_LOG, later):
            warmstart.stop_server(early[1])  # it ended: start another
            server = None
        server = server or warmstart.start_server(paths.WARM_SERVER_LOG, later)
        if server:
            socket_path, handle = server
            # Inherited by every job's process: the socket, and the hook that hands it over.
            job_environment = warmstart.job_environment(socket_path, os.environ)
            JOBS_ENV_BEFORE.update({name: os.environ.get(name) for name in job_environment})
            os.environ.update(job_environment)
            WARM_SERVER.append(handle)
    elif early:
        warmstart.stop_server(early[1])


def stop_warm_server():
    from aiddeserts import warmstart

    for name, value in JOBS_ENV_BEFORE.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    while WARM_SERVER:
        warmstart.stop_server(WARM_SERVER.pop())


def end_run():
    import gc

    from aiddeserts import warmstart

    stop_warm_server()
    warmstart.cancel_rescheduling_timers()  # the run is over: exit now, not a second later
    # What the run made (the DAG, the libraries' objects) is never collected now, so Python's
    # exit does not walk it for garbage: Snakemake exits 0.2-0.3 s sooner. Files and locks are
    # closed explicitly before that, and the rest is freed at exit as it would be.
    gc.freeze()


onsuccess:
    end_run()


onerror:
    end_run()
