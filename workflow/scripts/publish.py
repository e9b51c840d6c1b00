"""Snakemake script: copy staged outputs into outputs/. Logic: aiddeserts.stages.publish.publish
(standard library only: this job is last on the critical path, so it skips the geo imports)."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.logs import run_logged
from aiddeserts.stages.publish import publish

run_logged(snakemake.log[0], lambda: publish(
    list(snakemake.input.staged), list(snakemake.output.published),
    privacy_report=snakemake.input.audit, history_keep=snakemake.params.history_keep),
    snakemake.rule)
