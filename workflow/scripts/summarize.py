"""Snakemake script: summary.json and rejects.csv. Logic: aiddeserts.pipeline.summarize."""

from aiddeserts.logs import run_logged
from aiddeserts.pipeline import summarize

run_logged(snakemake.log[0], lambda: summarize(
    snakemake.params.region_name, snakemake.params.region,
    counts_paths=list(snakemake.input.counts), rejects_paths=list(snakemake.input.rejects),
    tracts_path=snakemake.input.tracts, parameters=snakemake.params.parameters,
    out_summary=snakemake.output.summary, out_rejects=snakemake.output.rejects,
    density_path=snakemake.input.density), snakemake.rule)
