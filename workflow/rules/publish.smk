# Publish: summarise, then copy the staged outputs into outputs/{region}/ together.
# Everything under outputs/ is shareable; nothing is published unless every stage succeeded.


rule summarize:
    input:
        counts=expand(
            "data/processed/{{region}}/counts_{stage}.json",
            stage=["tracts", "assets", "survey"],
        ),
        rejects=expand(
            "data/processed/{{region}}/rejects_{stage}.csv",
            stage=["tracts", "assets", "survey"],
        ),
        tracts=f"{STAGE}/tracts.gpkg",
        density=f"{STAGE}/density.tif",
    output:
        summary=f"{STAGE}/summary.json",
        rejects=f"{STAGE}/rejects.csv",
    log:
        "logs/{region}/summarize.log",
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("summarize"),
        runtime=runtime("summarize"),
    params:
        code=code("summarize.py"),
        region=region_config,
        region_name=lambda wildcards: wildcards.region,
        parameters=all_settings,
    message:
        "Summarising {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/summarize.py"


rule publish:
    input:
        staged=expand(f"{STAGE}/{{product}}", product=PRODUCTS, allow_missing=True),
        audit="data/processed/{region}/privacy_audit.json",
    output:
        # update(): Snakemake leaves the old outputs in place while the job runs (and restores
        # them if it fails); the script swaps in the new files by atomic renames.
        published=update(expand("outputs/{{region}}/{product}", product=PRODUCTS)),
    log:
        "logs/{region}/publish.log",
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("publish"),
        runtime=runtime("publish"),
    params:
        code=code("publish.py"),
    message:
        "Publishing outputs/{wildcards.region}/ [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/publish.py"
