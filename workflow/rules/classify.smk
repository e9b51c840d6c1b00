# Classify: access, need and the class of every tract.


rule classify_tracts:
    input:
        tracts=processed("tracts.gpkg"),
        assets=processed("assets.gpkg"),
        survey=processed("survey.gpkg"),
        density=staged("density.tif"),
        zones=processed("zones.npy"),
        network=network_cache,
    output:
        tracts=staged("tracts.gpkg"),
        # The survey's differentially private release record (for summary.json). The ledger,
        # processed("survey_ledger.json"), is deliberately not an output: Snakemake deletes
        # outputs before a job, which would lose the spent budget (docs/privacy.md).
        release=processed("survey_release.json"),
    log:
        logs("classify_tracts"),
    benchmark:
        benchmarks("classify_tracts")
    priority: PRIORITY["classify_tracts"]
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("classify_tracts"),
        runtime=runtime("classify_tracts"),
    params:
        code=code("classify_tracts.py"),
        tract_id=region_key("tracts", "id"),
        population=region_key("tracts", "population"),
        need=region_key("tracts", "need"),
        survey_configured=survey_configured,
        classification=region_key("classification"),
        min_respondents=region_key("survey_rules", "min_respondents"),
        survey_rules=region_key("survey_rules"),
        questions=region_key("survey", "questions"),
        region=region_name,
        speed_m_per_min=region_key("network", "speed_m_per_min"),
    message:
        "Classifying tracts of {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/classify_tracts.py"
