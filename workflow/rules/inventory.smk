# Inventory: the public list of assets (assets.csv, an Open Referral HSDS 3 package), each
# tract's class, and what changed since the previously published run.


rule inventory:
    input:
        inventory=processed("inventory.gpkg"),
        tracts=processed("tracts.gpkg"),
        classified=staged("tracts.gpkg"),
    output:
        assets=staged("assets.csv"),
        hsds=staged("hsds/datapackage.json"),
        hsds_tables=[staged(f"hsds/{name}") for name in HSDS_TABLES],
        classes=staged("tract_classes.csv"),
        changes=staged("changes.csv"),
    log:
        logs("inventory"),
    benchmark:
        benchmarks("inventory")
    # The map waits for changes.csv: start it before the figure and the summary.
    priority: 1
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
        # The run published before this one: read if it exists, never an input (a cycle).
        previous=lambda wildcards: paths.for_region(paths.PUBLISHED, wildcards.region),
    message:
        "The public inventory of {wildcards.region} and its changes [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/inventory.py"
