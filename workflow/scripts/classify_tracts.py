"""Snakemake script: classify tracts. Logic: aiddeserts.pipeline.classify_tracts."""

from aiddeserts.logs import run_logged
from aiddeserts.pipeline import classify_tracts

run_logged(snakemake.log[0], lambda: classify_tracts(
    snakemake.params.region, tracts_path=snakemake.input.tracts,
    assets_path=snakemake.input.assets, survey_path=snakemake.input.survey,
    density_path=snakemake.input.density, classification=snakemake.params.classification,
    survey_rules=snakemake.params.survey_rules, out_tracts=snakemake.output.tracts),
    snakemake.rule)
