"""Snakemake script: consented stories by tract. Logic: aiddeserts.stages.privacy.make_stories."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.logs import run_logged
from aiddeserts.stages.privacy import make_stories

run_logged(snakemake.log[0], lambda: make_stories(
    tract_id=snakemake.params.tract_id, survey_path=snakemake.input.survey,
    out_csv=snakemake.output.stories), snakemake.rule)
