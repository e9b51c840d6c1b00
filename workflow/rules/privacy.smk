# Privacy: consented stories per tract, and the audit that gates publication (docs/privacy.md).
# The audit must succeed before `publish` starts, so a leak never touches outputs/{region}/.


rule stories:
    input:
        survey="data/processed/{region}/survey.gpkg",
    output:
        stories=f"{STAGE}/stories.csv",
    log:
        "logs/{region}/stories.log",
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("stories"),
        runtime=runtime("stories"),
    params:
        code=code("stories.py"),
        region=region_config,
    message:
        "Consented stories of {wildcards.region}, by tract"
    script:
        "../scripts/stories.py"


rule privacy_audit:
    input:
        staged=expand(
            f"{STAGE}/{{product}}",
            product=[*PRODUCTS, "stories.csv"],
            allow_missing=True,
        ),
        tracts="data/processed/{region}/tracts.gpkg",
        assets="data/processed/{region}/assets_exact.gpkg",
        sources=survey_paths,
    output:
        report="data/processed/{region}/privacy_audit.json",
    log:
        "logs/{region}/privacy_audit.log",
    benchmark:
        "benchmarks/{region}/privacy_audit.tsv"
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("privacy_audit"),
        runtime=runtime("privacy_audit"),
    params:
        code=code("privacy_audit.py"),
        region=region_config,
        privacy=settings("privacy"),
        survey_rules=settings("survey_rules"),
    message:
        "Privacy audit of the staged outputs of {wildcards.region}"
    script:
        "../scripts/privacy_audit.py"
