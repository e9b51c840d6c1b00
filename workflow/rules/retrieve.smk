# Retrieve (optional): TIGER/Line tracts and ACS variables for the state/county in a region's
# `retrieve` config, cached under data/raw/<region>/retrieved/ and recorded in data/versions.csv.
# Point tracts.path / tracts.attributes.path at these files and the rules run on demand.


rule retrieve_tracts:
    output:
        "data/raw/{region}/retrieved/tracts.zip",
    log:
        "logs/{region}/retrieve_tracts.log",
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
        "data/raw/{region}/retrieved/acs.json",
    log:
        "logs/{region}/retrieve_acs.log",
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
