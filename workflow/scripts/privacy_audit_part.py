"""Snakemake script: one part of the privacy audit (one product's staged files). Logic:
aiddeserts.stages.privacy.audit_part."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.logs import run_logged
from aiddeserts.stages.privacy import audit_part

run_logged(snakemake.log[0], lambda: audit_part(
    secrets_path=snakemake.input.secrets, points_path=snakemake.input.points,
    privacy=snakemake.params.privacy, staged=list(snakemake.input.staged),
    out_part=snakemake.output.part), snakemake.rule)
