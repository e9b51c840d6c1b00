"""Snakemake script: copy staged outputs into outputs/. Logic: aiddeserts.pipeline.publish."""

from aiddeserts.logs import run_logged
from aiddeserts.pipeline import publish

run_logged(snakemake.log[0], lambda: publish(
    list(snakemake.input.staged), list(snakemake.output.published),
    privacy_report=snakemake.input.audit), snakemake.rule)
