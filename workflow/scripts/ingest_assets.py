"""Snakemake script: read asset sources. Logic: aiddeserts.stages.ingest.ingest_assets."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.logs import run_logged
from aiddeserts.stages.ingest import ingest_assets

run_logged(snakemake.log[0], lambda: ingest_assets(
    sources=snakemake.params.sources, corrections=snakemake.params.corrections,
    inventory=snakemake.params.inventory, tract_id=snakemake.params.tract_id,
    approximate_to=snakemake.params.approximate_to,
    approximate_grid_m=snakemake.params.approximate_grid_m,
    tracts_path=snakemake.input.tracts, out_assets=snakemake.output.assets,
    out_rejects=snakemake.output.rejects, out_counts=snakemake.output.counts,
    out_exact=snakemake.output.exact, out_inventory=snakemake.output.inventory), snakemake.rule)
