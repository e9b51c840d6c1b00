# Retrieve (optional): TIGER/Line tracts and ACS variables for the state/county in a region's
# `retrieve` config, cached under data/raw/<region>/retrieved/ and recorded in data/versions.csv.
# Point tracts.path / tracts.attributes.path at these files and the rules run on demand.


rule retrieve_tracts:
    output:
        paths.retrieved("tracts.zip"),
    log:
        logs("retrieve_tracts"),
    benchmark:
        benchmarks("retrieve_tracts")
    localrule: True
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("retrieve_tracts"),
        runtime=runtime("retrieve_tracts"),
        downloads=1,
    params:
        code=code("retrieve_tracts.py"),
        settings=retrieve_settings,
    message:
        "Downloading TIGER/Line tracts for {wildcards.region}"
    script:
        "../scripts/retrieve_tracts.py"


rule retrieve_acs:
    output:
        paths.retrieved("acs.json"),
    log:
        logs("retrieve_acs"),
    benchmark:
        benchmarks("retrieve_acs")
    localrule: True
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("retrieve_acs"),
        runtime=runtime("retrieve_acs"),
        downloads=1,
    params:
        code=code("retrieve_acs.py"),
        settings=retrieve_settings,
    message:
        "Downloading ACS variables for {wildcards.region}"
    script:
        "../scripts/retrieve_acs.py"
