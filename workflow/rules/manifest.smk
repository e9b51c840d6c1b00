# Manifest: which inputs, configuration and code made a region's outputs (outputs/{region}/manifest.json).
# Published with the other products; rebuilt only when a staged product or an input changes.
# The run's start time, read by the manifest rule, is written by `onstart` (common.smk).

# Quick file copies and hashing: on a cluster, run them on the submit host instead of queueing.
localrules:
    manifest,
    publish,


rule manifest:
    input:
        tracts=tract_paths,
        attributes=attribute_paths,
        assets=asset_paths,
        survey=survey_paths,
        corrections=correction_paths,
        staged=expand(staged("{product}"), product=MANIFESTED, allow_missing=True),
    output:
        manifest=staged("manifest.json"),
    log:
        logs("manifest"),
    benchmark:
        benchmarks("manifest")
    priority: PRIORITY["manifest"]
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("manifest"),
        runtime=runtime("manifest"),
    params:
        code=code("manifest.py"),
        region_name=region_name,
        # The whole region's configuration: its hash is the manifest's config_sha256.
        region=region_key(),
        settings=stage_settings,
        products=MANIFESTED,
        code_versions=code_versions,
        repo_dir=workflow.basedir,
    message:
        "Writing the run manifest of {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/manifest.py"
