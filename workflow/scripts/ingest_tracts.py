"""Snakemake script: read and validate tracts. Logic: aiddeserts.pipeline.prepare_tracts."""

from aiddeserts.logs import run_logged
from aiddeserts.pipeline import prepare_tracts

run_logged(snakemake.log[0], lambda: prepare_tracts(
    snakemake.params.region, out_tracts=snakemake.output.tracts,
    out_rejects=snakemake.output.rejects, out_counts=snakemake.output.counts), snakemake.rule)
