"""Snakemake script: the data-walk posters. Logic: aiddeserts.stages.maps.make_datawalk."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.logs import run_logged
from aiddeserts.stages.maps import make_datawalk

run_logged(snakemake.log[0], lambda: make_datawalk(
    region_name=snakemake.params.region_name, title=snakemake.params.title,
    map_config=snakemake.params.map, assets=snakemake.params.assets,
    classification=snakemake.params.classification, tract_id=snakemake.params.tract_id,
    min_respondents=snakemake.params.min_respondents, language=snakemake.params.language,
    tracts_path=snakemake.input.tracts, assets_csv_path=snakemake.input.assets,
    stories_path=snakemake.input.stories, changes_path=snakemake.input.changes,
    out_pdf=snakemake.output.pdf), snakemake.rule)
