# Network (optional): the walking graph of a region with a `network` config, built once from its
# OpenStreetMap extract and cached; the classification reads the cache (docs/network.md).


rule retrieve_network:
    output:
        paths.retrieved("network.{osm_format}"),
    wildcard_constraints:
        osm_format=r"osm\.pbf|osm|osm\.gz|osm\.bz2",
    log:
        logs("retrieve_network_{osm_format}"),
    benchmark:
        benchmarks("retrieve_network_{osm_format}")
    localrule: True
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("retrieve_network"),
        runtime=runtime("retrieve_network"),
        downloads=1,
    params:
        code=code("retrieve_network.py"),
        network=region_key("network"),
    message:
        "Downloading the OpenStreetMap extract of {wildcards.region}"
    script:
        "../scripts/retrieve_network.py"


rule build_network:
    input:
        osm=network_paths,
        tracts=processed("tracts.gpkg"),
    output:
        network=processed("network.npz"),
    log:
        logs("build_network"),
    benchmark:
        benchmarks("build_network")
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("build_network"),
        runtime=runtime("build_network"),
    params:
        code=code("build_network.py"),
        network=region_key("network"),
    message:
        "Building the walking network of {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/build_network.py"
