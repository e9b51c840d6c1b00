# Density: kernel density of assets on a grid (binned KDE with FFT convolution).


rule asset_density:
    input:
        tracts="data/processed/{region}/tracts.gpkg",
        assets="data/processed/{region}/assets.gpkg",
    output:
        density=f"{STAGE}/density.tif",
    log:
        "logs/{region}/asset_density.log",
    benchmark:
        "benchmarks/{region}/asset_density.tsv"
    conda:
        "../envs/aiddeserts.yaml"
    threads: 2
    resources:
        mem_mb=density_mem,
        runtime=runtime("asset_density"),
    params:
        code=code("asset_density.py"),
        density=settings("density"),
    message:
        "Asset density of {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/asset_density.py"
