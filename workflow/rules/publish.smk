# Publish: summarise, then copy the staged outputs into outputs/{region}/ together.
# Everything under outputs/ is shareable; nothing is published unless every stage succeeded.


rule summarize:
    input:
        counts=expand(processed("counts_{stage}.json"), stage=["tracts", "assets", "survey"], allow_missing=True),
        rejects=expand(processed("rejects_{stage}.csv"), stage=["tracts", "assets", "survey"], allow_missing=True),
        tracts=staged("tracts.gpkg"),
        density=staged("density.tif"),
        inventory=processed("inventory.gpkg"),
        survey_release=processed("survey_release.json"),
    output:
        summary=staged("summary.json"),
        rejects=staged("rejects.csv"),
    log:
        logs("summarize"),
    benchmark:
        benchmarks("summarize")
    priority: PRIORITY["summarize"]
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("summarize"),
        runtime=runtime("summarize"),
    params:
        code=code("summarize.py"),
        region_name=region_name,
        title=region_key("title"),
        parameters=stage_settings,
    message:
        "Summarising {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/summarize.py"


rule publish:
    input:
        staged=expand(staged("{product}"), product=PRODUCTS, allow_missing=True),
        audit=processed("privacy_audit.json"),
    output:
        # update(): Snakemake leaves the old outputs in place while the job runs (and restores
        # them if it fails); the script swaps in the new files by atomic renames.
        published=update(expand(published("{product}"), product=PRODUCTS, allow_missing=True)),
    log:
        logs("publish"),
    benchmark:
        benchmarks("publish")
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("publish"),
        runtime=runtime("publish"),
    params:
        code=code("publish.py"),
        history_keep=region_key("history", "keep"),
    message:
        "Publishing outputs/{wildcards.region}/ [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/publish.py"
