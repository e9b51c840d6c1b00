"""Snakemake script: read asset sources. Logic: aiddeserts.pipeline.prepare_assets."""

from aiddeserts.logs import run_logged
from aiddeserts.pipeline import prepare_assets

run_logged(snakemake.log[0], lambda: prepare_assets(
    snakemake.params.region, tracts_path=snakemake.input.tracts,
    out_assets=snakemake.output.assets, out_rejects=snakemake.output.rejects,
    out_counts=snakemake.output.counts, privacy_settings=snakemake.params.privacy,
    out_exact=snakemake.output.exact), snakemake.rule)
