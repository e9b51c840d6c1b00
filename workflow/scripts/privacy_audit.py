"""Snakemake script: the privacy audit gating publication, from its parts. Logic:
aiddeserts.stages.privacy.privacy_audit."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.logs import run_logged
from aiddeserts.stages.privacy import privacy_audit

run_logged(snakemake.log[0], lambda: privacy_audit(
    parts=list(snakemake.input.parts), order=list(snakemake.params.order),
    out_report=snakemake.output.report), snakemake.rule)
