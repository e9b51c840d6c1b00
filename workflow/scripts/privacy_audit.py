"""Snakemake script: the privacy audit gating publication. Logic:
aiddeserts.stages.privacy.privacy_audit."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.logs import run_logged
from aiddeserts.stages.privacy import privacy_audit

run_logged(snakemake.log[0], lambda: privacy_audit(
    survey=snakemake.params.survey, tract_id=snakemake.params.tract_id,
    privacy=snakemake.params.privacy, min_respondents=snakemake.params.min_respondents,
    tracts_path=snakemake.input.tracts, assets_exact_path=snakemake.input.assets,
    staged=list(snakemake.input.staged), out_report=snakemake.output.report,
    public_config=snakemake.params.public_config), snakemake.rule)
