# Privacy: consented stories per tract, and the audit that gates publication (docs/privacy.md).
# The audit must succeed before `publish` starts, so a leak never touches outputs/{region}/.


rule stories:
    input:
        survey=processed("survey.gpkg"),
    output:
        stories=staged("stories.csv"),
    log:
        logs("stories"),
    benchmark:
        benchmarks("stories")
    priority: PRIORITY["stories"]
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("stories"),
        runtime=runtime("stories"),
    params:
        code=code("stories.py"),
        tract_id=region_key("tracts", "id"),
    message:
        "Consented stories of {wildcards.region}, by tract [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/stories.py"


rule privacy_audit_secrets:
    # What the audit looks for (respondents, hidden assets, personal values), prepared once
    # for its parts; owner-only like the survey it is read from.
    input:
        tracts=processed("tracts.gpkg"),
        assets=processed("assets_exact.gpkg"),
        sources=survey_paths,
        # The places layer's labels, printed on the maps, are public text.
        places=places_paths,
    output:
        secrets=processed("audit/secrets.json"),
        points=processed("audit/secret_points.npy"),
    log:
        logs("privacy_audit_secrets"),
    benchmark:
        benchmarks("privacy_audit_secrets")
    priority: PRIORITY["privacy_audit_secrets"]
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("privacy_audit_secrets"),
        runtime=runtime("privacy_audit_secrets"),
    params:
        code=code("privacy_audit_secrets.py"),
        survey=region_key("survey"),
        tract_id=region_key("tracts", "id"),
        privacy=region_key("privacy"),
        min_respondents=region_key("survey_rules", "min_respondents"),
        # The density grid's cells: the corners of the map's density picture are public.
        density_cell_m=region_key("density", "cell_size_m"),
        places=region_key("map", "places"),
        # Text the outputs show from the config: a survey answer equal to it is no leak.
        public_config=lambda wildcards: {
            "title": region_key("title")(wildcards),
            "map": region_key("map")(wildcards),
        },
    message:
        "What the privacy audit looks for in {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/privacy_audit_secrets.py"


rule privacy_audit_part:
    # One product's files, audited as soon as they exist (beside the products still being
    # made); privacy_audit below gathers the parts.
    input:
        staged=audited_files,
        secrets=processed("audit/secrets.json"),
        points=processed("audit/secret_points.npy"),
        # The secrets' own sources, unread here: Snakemake remakes a missing intermediate only
        # for a job that needs it, and a changed raw input always reruns the manifest's part.
        # So when a cancelled ingest job left its outputs removed, the next run remakes them
        # and the products from the new inputs, instead of publishing the old products.
        tracts=processed("tracts.gpkg"),
        assets=processed("assets_exact.gpkg"),
        sources=survey_paths,
    output:
        part=processed("audit/{part}.json"),
    log:
        logs("privacy_audit_{part}"),
    benchmark:
        benchmarks("privacy_audit_{part}")
    priority: audit_part_priority
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("privacy_audit_part"),
        runtime=runtime("privacy_audit_part"),
    params:
        code=code("privacy_audit_part.py"),
        privacy=region_key("privacy"),
    message:
        "Privacy audit ({wildcards.part}) of the staged outputs of {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/privacy_audit_part.py"


rule privacy_audit:
    input:
        parts=expand(processed("audit/{part}.json"), part=AUDIT_PARTS, allow_missing=True),
    output:
        report=processed("privacy_audit.json"),
    log:
        logs("privacy_audit"),
    benchmark:
        benchmarks("privacy_audit")
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("privacy_audit"),
        runtime=runtime("privacy_audit"),
    params:
        code=code("privacy_audit.py"),
        order=[Path(name).name for name in AUDITED],
    message:
        "Privacy audit of the staged outputs of {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/privacy_audit.py"
