# Map: the interactive folium map.


rule web_map:
    input:
        tracts=f"{STAGE}/tracts.gpkg",
        assets="data/processed/{region}/assets.gpkg",
        density=f"{STAGE}/density.tif",
    output:
        html=f"{STAGE}/map.html",
    log:
        "logs/{region}/web_map.log",
    benchmark:
        "benchmarks/{region}/web_map.tsv"
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("web_map"),
        runtime=runtime("web_map"),
    params:
        code=code("web_map.py"),
        region=region_config,
        region_name=lambda wildcards: wildcards.region,
    message:
        "Drawing the map of {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/web_map.py"
