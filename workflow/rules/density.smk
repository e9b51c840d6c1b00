# Density: kernel density of assets on a grid (binned KDE with FFT convolution).


rule asset_density:
    input:
        tracts=processed("tracts.gpkg"),
        assets=processed("assets.gpkg"),
    output:
        density=staged("density.tif"),
        # The tracts rasterised on the density grid, for classify (a private intermediate).
        zones=processed("zones.npy"),
    log:
        logs("asset_density"),
    benchmark:
        benchmarks("asset_density")
    priority: PRIORITY["asset_density"]
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=density_mem,
        runtime=runtime("asset_density"),
    params:
        code=code("asset_density.py"),
        density=region_key("density"),
    message:
        "Asset density of {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/asset_density.py"
