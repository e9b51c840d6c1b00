# Inventory: the public list of assets (assets.csv, an Open Referral HSDS 3 package), then each
# tract's class and what changed since the previously published run.


rule inventory:
    input:
        inventory=processed("inventory.gpkg"),
        tracts=processed("tracts.gpkg"),
    output:
        assets=staged("assets.csv"),
        hsds=staged("hsds/datapackage.json"),
        hsds_tables=[staged(f"hsds/{name}") for name in HSDS_TABLES],
    log:
        logs("inventory"),
    benchmark:
        benchmarks("inventory")
    priority: PRIORITY["inventory"]
    # No need of the classes: it runs beside the classification (100,000 assets: 10 s).
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("inventory"),
        runtime=runtime("inventory"),
    params:
        code=code("inventory.py"),
        region_name=region_name,
        title=region_key("title"),
        tract_id=region_key("tracts", "id"),
        privacy=region_key("privacy"),
    message:
        "The public inventory of {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/inventory.py"


rule changes:
    input:
        classified=staged("tracts.gpkg"),
        assets=staged("assets.csv"),
    output:
        classes=staged("tract_classes.csv"),
        changes=staged("changes.csv"),
    log:
        logs("changes"),
    benchmark:
        benchmarks("changes")
    priority: PRIORITY["changes"]
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("changes"),
        runtime=runtime("changes"),
    params:
        code=code("changes.py"),
        tract_id=region_key("tracts", "id"),
        # The run published before this one: read if it exists, never an input (a cycle).
        previous=lambda wildcards: paths.for_region(paths.PUBLISHED, wildcards.region),
    message:
        "The classes of {wildcards.region} and what changed [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/changes.py"
