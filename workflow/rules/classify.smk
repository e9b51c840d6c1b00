# Classify: access, need and the class of every tract.


rule classify_tracts:
    input:
        tracts="data/processed/{region}/tracts.gpkg",
        assets="data/processed/{region}/assets.gpkg",
        survey="data/processed/{region}/survey.gpkg",
        density=f"{STAGE}/density.tif",
    output:
        tracts=f"{STAGE}/tracts.gpkg",
    log:
        "logs/{region}/classify_tracts.log",
    benchmark:
        "benchmarks/{region}/classify_tracts.tsv"
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("classify_tracts"),
        runtime=runtime("classify_tracts"),
    params:
        code=code("classify_tracts.py"),
        region=region_config,
        classification=settings("classification"),
        survey_rules=settings("survey_rules"),
    message:
        "Classifying tracts of {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/classify_tracts.py"
