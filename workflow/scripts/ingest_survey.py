"""Snakemake script: read the survey, allow-listed fields only. Logic:
aiddeserts.stages.ingest.ingest_survey."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.logs import run_logged
from aiddeserts.stages.ingest import ingest_survey

run_logged(snakemake.log[0], lambda: ingest_survey(
    survey=snakemake.params.survey, tract_id=snakemake.params.tract_id,
    min_respondents=snakemake.params.min_respondents, tracts_path=snakemake.input.tracts,
    out_survey=snakemake.output.survey, out_rejects=snakemake.output.rejects,
    out_counts=snakemake.output.counts), snakemake.rule)
