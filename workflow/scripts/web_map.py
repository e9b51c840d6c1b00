"""Snakemake script: the interactive map. Logic: aiddeserts.stages.maps.make_map."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.logs import run_logged
from aiddeserts.stages.maps import make_map

run_logged(snakemake.log[0], lambda: make_map(
    region_name=snakemake.params.region_name, title=snakemake.params.title,
    map_config=snakemake.params.map, tract_id=snakemake.params.tract_id,
    need=snakemake.params.need, classification=snakemake.params.classification,
    min_respondents=snakemake.params.min_respondents, privacy=snakemake.params.privacy,
    inventory=snakemake.params.inventory,
    tracts_path=snakemake.input.tracts, assets_path=snakemake.input.assets,
    density_path=snakemake.input.density, stories_path=snakemake.input.stories,
    asset_counts_path=snakemake.input.asset_counts,
    asset_rejects_path=snakemake.input.asset_rejects,
    changes_path=snakemake.input.changes, shapes_path=snakemake.input.shapes,
    out_html=snakemake.output.html,
    survey_questions=snakemake.params.survey_questions), snakemake.rule)
