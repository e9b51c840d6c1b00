# Map: the interactive HTML map and the static figure (PNG, PDF) of the classification.


rule web_map:
    input:
        tracts=f"{STAGE}/tracts.gpkg",
        assets="data/processed/{region}/assets.gpkg",
        density=f"{STAGE}/density.tif",
        stories=f"{STAGE}/stories.csv",
    output:
        html=f"{STAGE}/map.html",
    log:
        "logs/{region}/web_map.log",
    benchmark:
        "benchmarks/{region}/web_map.tsv"
    # The longest job after classify, on the way to the audit: start it before the figure and
    # the summary when cores are short.
    priority: 1
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("web_map"),
        runtime=runtime("web_map"),
    params:
        code=code("web_map.py"),
        region=region_config,
        region_name=lambda wildcards: wildcards.region,
        classification=settings("classification"),
        survey_rules=settings("survey_rules"),
        privacy=settings("privacy"),
    message:
        "Drawing the map of {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/web_map.py"


rule static_map:
    input:
        tracts=f"{STAGE}/tracts.gpkg",
    output:
        png=f"{STAGE}/map.png",
        pdf=f"{STAGE}/map.pdf",
    log:
        "logs/{region}/static_map.log",
    benchmark:
        "benchmarks/{region}/static_map.tsv"
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("static_map"),
        runtime=runtime("static_map"),
    params:
        code=code("static_map.py"),
        region=region_config,
        region_name=lambda wildcards: wildcards.region,
        classification=settings("classification"),
    message:
        "Drawing the static map of {wildcards.region}"
    script:
        "../scripts/static_map.py"
