"""Snakemake script: read and validate tracts. Logic: aiddeserts.stages.ingest.ingest_tracts."""

from aiddeserts.logs import run_logged
from aiddeserts.stages.ingest import ingest_tracts

run_logged(snakemake.log[0], lambda: ingest_tracts(
    tracts=snakemake.params.tracts, working_crs=snakemake.params.working_crs,
    out_tracts=snakemake.output.tracts, out_rejects=snakemake.output.rejects,
    out_counts=snakemake.output.counts), snakemake.rule)
