"""Snakemake script: read the survey, allow-listed fields only. Logic: pipeline.prepare_survey."""

from aiddeserts.logs import run_logged
from aiddeserts.pipeline import prepare_survey

run_logged(snakemake.log[0], lambda: prepare_survey(
    snakemake.params.region, tracts_path=snakemake.input.tracts,
    out_survey=snakemake.output.survey, out_rejects=snakemake.output.rejects,
    out_counts=snakemake.output.counts,
    min_respondents=snakemake.params.survey_rules["min_respondents"]), snakemake.rule)
