"""Snakemake script: what the privacy audit looks for, prepared once for its parts. Logic:
aiddeserts.stages.privacy.audit_secrets."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.logs import run_logged
from aiddeserts.stages.privacy import audit_secrets

run_logged(snakemake.log[0], lambda: audit_secrets(
    survey=snakemake.params.survey, tract_id=snakemake.params.tract_id,
    privacy=snakemake.params.privacy, min_respondents=snakemake.params.min_respondents,
    tracts_path=snakemake.input.tracts, assets_exact_path=snakemake.input.assets,
    out_secrets=snakemake.output.secrets, out_points=snakemake.output.points,
    public_config=snakemake.params.public_config,
    density_cell_m=snakemake.params.density_cell_m, places=snakemake.params.places),
    snakemake.rule)
