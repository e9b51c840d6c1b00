"""Snakemake script: consented stories by tract. Logic: aiddeserts.pipeline.make_stories."""

from aiddeserts.logs import run_logged
from aiddeserts.pipeline import make_stories

run_logged(snakemake.log[0], lambda: make_stories(
    snakemake.params.region, survey_path=snakemake.input.survey,
    out_csv=snakemake.output.stories), snakemake.rule)
