"""Snakemake script: asset density GeoTIFF. Logic: aiddeserts.pipeline.build_density."""

from aiddeserts.logs import run_logged
from aiddeserts.pipeline import build_density

run_logged(snakemake.log[0], lambda: build_density(
    tracts_path=snakemake.input.tracts, assets_path=snakemake.input.assets,
    settings=snakemake.params.density, out_tif=snakemake.output.density), snakemake.rule)
