"""Snakemake script: read and validate tracts. Logic: aiddeserts.stages.ingest.ingest_tracts."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.logs import run_logged
from aiddeserts.stages.ingest import ingest_tracts

run_logged(snakemake.log[0], lambda: ingest_tracts(
    tracts=snakemake.params.tracts, working_crs=snakemake.params.working_crs,
    out_tracts=snakemake.output.tracts, out_rejects=snakemake.output.rejects,
    out_counts=snakemake.output.counts), snakemake.rule)
