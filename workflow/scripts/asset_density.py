"""Snakemake script: asset density GeoTIFF. Logic: aiddeserts.stages.density.build_density."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.logs import run_logged
from aiddeserts.stages.density import build_density

run_logged(snakemake.log[0], lambda: build_density(
    tracts_path=snakemake.input.tracts, assets_path=snakemake.input.assets,
    settings=snakemake.params.density, out_tif=snakemake.output.density,
    out_zones=snakemake.output.zones), snakemake.rule)
