"""Snakemake script: the privacy audit gating publication. Logic: pipeline.privacy_audit."""

from aiddeserts.logs import run_logged
from aiddeserts.pipeline import privacy_audit

run_logged(snakemake.log[0], lambda: privacy_audit(
    snakemake.params.region, tracts_path=snakemake.input.tracts,
    assets_exact_path=snakemake.input.assets, staged=list(snakemake.input.staged),
    privacy_settings=snakemake.params.privacy, survey_rules=snakemake.params.survey_rules,
    out_report=snakemake.output.report), snakemake.rule)
