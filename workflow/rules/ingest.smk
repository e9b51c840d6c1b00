# Ingest: read, validate and join the raw inputs of a region. Respondent-level data stays here.


rule ingest_tracts:
    input:
        tracts=tract_paths,
        attributes=attribute_paths,
    output:
        tracts=processed("tracts.gpkg"),
        rejects=processed("rejects_tracts.csv"),
        counts=processed("counts_tracts.json"),
    log:
        logs("ingest_tracts"),
    benchmark:
        benchmarks("ingest_tracts")
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("ingest_tracts"),
        runtime=runtime("ingest_tracts"),
    params:
        code=code("ingest_tracts.py"),
        tracts=region_key("tracts"),
        working_crs=region_key("working_crs"),
    message:
        "Reading tracts of {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/ingest_tracts.py"


rule ingest_assets:
    input:
        tracts=processed("tracts.gpkg"),
        sources=asset_paths,
        corrections=correction_paths,
    output:
        assets=processed("assets.gpkg"),
        rejects=processed("rejects_assets.csv"),
        counts=processed("counts_assets.json"),
        exact=processed("assets_exact.gpkg"),
        inventory=processed("inventory.gpkg"),
    log:
        logs("ingest_assets"),
    benchmark:
        benchmarks("ingest_assets")
    priority: PRIORITY["ingest_assets"]
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("ingest_assets"),
        runtime=runtime("ingest_assets"),
    params:
        code=code("ingest_assets.py"),
        sources=region_key("assets"),
        corrections=region_key("corrections"),
        inventory=region_key("inventory"),
        tract_id=region_key("tracts", "id"),
        approximate_to=region_key("privacy", "approximate_to"),
        approximate_grid_m=region_key("privacy", "approximate_grid_m"),
    message:
        "Reading assets of {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/ingest_assets.py"


rule ingest_survey:
    input:
        tracts=processed("tracts.gpkg"),
        sources=survey_paths,
    output:
        survey=processed("survey.gpkg"),
        rejects=processed("rejects_survey.csv"),
        counts=processed("counts_survey.json"),
    log:
        logs("ingest_survey"),
    benchmark:
        benchmarks("ingest_survey")
    priority: PRIORITY["ingest_survey"]
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("ingest_survey"),
        runtime=runtime("ingest_survey"),
    params:
        code=code("ingest_survey.py"),
        survey=region_key("survey"),
        tract_id=region_key("tracts", "id"),
        min_respondents=region_key("survey_rules", "min_respondents"),
    message:
        "Reading the survey of {wildcards.region} (allow-listed fields only) [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/ingest_survey.py"
