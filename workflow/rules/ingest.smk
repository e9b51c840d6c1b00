# Ingest: read, validate and join the raw inputs of a region. Respondent-level data stays here.


rule ingest_tracts:
    input:
        input_files,
    output:
        tracts="data/processed/{region}/tracts.gpkg",
        rejects="data/processed/{region}/rejects_tracts.csv",
        counts="data/processed/{region}/counts_tracts.json",
    log:
        "logs/{region}/ingest_tracts.log",
    benchmark:
        "benchmarks/{region}/ingest_tracts.tsv"
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("ingest_tracts"),
        runtime=runtime("ingest_tracts"),
    params:
        code=code("ingest_tracts.py"),
        region=region_config,
    message:
        "Reading tracts of {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/ingest_tracts.py"


rule ingest_assets:
    input:
        tracts="data/processed/{region}/tracts.gpkg",
        sources=asset_paths,
    output:
        assets="data/processed/{region}/assets.gpkg",
        rejects="data/processed/{region}/rejects_assets.csv",
        counts="data/processed/{region}/counts_assets.json",
        exact="data/processed/{region}/assets_exact.gpkg",
    log:
        "logs/{region}/ingest_assets.log",
    benchmark:
        "benchmarks/{region}/ingest_assets.tsv"
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("ingest_assets"),
        runtime=runtime("ingest_assets"),
    params:
        code=code("ingest_assets.py"),
        region=region_config,
        privacy=settings("privacy"),
    message:
        "Reading assets of {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/ingest_assets.py"


rule ingest_survey:
    input:
        tracts="data/processed/{region}/tracts.gpkg",
        sources=survey_paths,
    output:
        survey="data/processed/{region}/survey.gpkg",
        rejects="data/processed/{region}/rejects_survey.csv",
        counts="data/processed/{region}/counts_survey.json",
    log:
        "logs/{region}/ingest_survey.log",
    benchmark:
        "benchmarks/{region}/ingest_survey.tsv"
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("ingest_survey"),
        runtime=runtime("ingest_survey"),
    params:
        code=code("ingest_survey.py"),
        region=region_config,
        survey_rules=settings("survey_rules"),
    message:
        "Reading the survey of {wildcards.region} (allow-listed fields only) [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/ingest_survey.py"
