# Map: the maps' shapes, the interactive HTML map, the static figure (PNG, PDF) of the
# classification and the data-walk posters (datawalk.pdf).


rule map_shapes:
    input:
        tracts=processed("tracts.gpkg"),
    output:
        # Simplified tract outlines (web map) and county outlines (static map): from the
        # tracts alone, made while the classification runs instead of in the map jobs.
        shapes=processed("map_shapes.gpkg"),
    log:
        logs("map_shapes"),
    benchmark:
        benchmarks("map_shapes")
    priority: PRIORITY["map_shapes"]
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("map_shapes"),
        runtime=runtime("map_shapes"),
    params:
        code=code("map_shapes.py"),
        tract_id=region_key("tracts", "id"),
        places=region_key("map", "places"),
    message:
        "Drawing the map shapes of {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/map_shapes.py"


rule web_map:
    input:
        tracts=staged("tracts.gpkg"),
        assets=processed("inventory.gpkg"),
        density=staged("density.tif"),
        stories=staged("stories.csv"),
        # How many listed sites are not counted, and why (the About panel says so).
        asset_counts=processed("counts_assets.json"),
        asset_rejects=processed("rejects_assets.csv"),
        changes=staged("changes.csv"),
        shapes=processed("map_shapes.gpkg"),
    output:
        html=staged("map.html"),
    log:
        logs("web_map"),
    benchmark:
        benchmarks("web_map")
    priority: PRIORITY["web_map"]
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("web_map"),
        runtime=runtime("web_map"),
    params:
        code=code("web_map.py"),
        region_name=region_name,
        title=region_key("title"),
        map=region_key("map"),
        tract_id=region_key("tracts", "id"),
        need=region_key("tracts", "need"),
        classification=region_key("classification"),
        min_respondents=region_key("survey_rules", "min_respondents"),
        privacy=region_key("privacy"),
        inventory=region_key("inventory"),
        survey_questions=region_key("survey", "questions"),
    message:
        "Drawing the map of {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/web_map.py"


rule static_map:
    input:
        tracts=staged("tracts.gpkg"),
        # The assets as published (assets.csv): the figure draws every one of them.
        assets=staged("assets.csv"),
        places=places_paths,
        shapes=processed("map_shapes.gpkg"),
    output:
        png=staged("map.png"),
        pdf=staged("map.pdf"),
    log:
        logs("static_map"),
    benchmark:
        benchmarks("static_map")
    priority: static_map_priority
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("static_map"),
        runtime=runtime("static_map"),
    params:
        code=code("static_map.py"),
        region_name=region_name,
        title=region_key("title"),
        map=region_key("map"),
        assets=region_key("assets"),
        classification=region_key("classification"),
        tract_id=region_key("tracts", "id"),
        language=region_key("map", "language"),
    message:
        "Drawing the static map of {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/static_map.py"


rule datawalk:
    input:
        # Public, staged tables only: survey figures as the map shows them, never the survey.
        tracts=staged("tracts.gpkg"),
        assets=staged("assets.csv"),
        stories=staged("stories.csv"),
        changes=staged("changes.csv"),
        places=places_paths,
    output:
        pdf=staged("datawalk.pdf"),
    log:
        logs("datawalk"),
    benchmark:
        benchmarks("datawalk")
    priority: PRIORITY["datawalk"]
    conda:
        "../envs/aiddeserts.yaml"
    resources:
        mem_mb=mem("datawalk"),
        runtime=runtime("datawalk"),
    params:
        code=code("datawalk.py"),
        region_name=region_name,
        title=region_key("title"),
        map=region_key("map"),
        assets=region_key("assets"),
        classification=region_key("classification"),
        tract_id=region_key("tracts", "id"),
        min_respondents=region_key("survey_rules", "min_respondents"),
        language=region_key("map", "language"),
    message:
        "Drawing the data-walk posters of {wildcards.region} [{resources.mem_mb} MB, {resources.runtime} min]"
    script:
        "../scripts/datawalk.py"
