"""Snakemake script: the interactive map. Logic: aiddeserts.pipeline.make_map."""

from aiddeserts.logs import run_logged
from aiddeserts.pipeline import make_map

run_logged(snakemake.log[0], lambda: make_map(
    snakemake.params.region, snakemake.params.region_name, tracts_path=snakemake.input.tracts,
    assets_path=snakemake.input.assets, density_path=snakemake.input.density,
    out_html=snakemake.output.html, classification=snakemake.params.classification,
    survey_rules=snakemake.params.survey_rules, stories_path=snakemake.input.stories,
    privacy_settings=snakemake.params.privacy), snakemake.rule)
