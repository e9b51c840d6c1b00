"""Snakemake script: the maps' shapes. Logic: aiddeserts.stages.maps.make_map_shapes."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.logs import run_logged
from aiddeserts.stages.maps import make_map_shapes

run_logged(snakemake.log[0], lambda: make_map_shapes(
    tracts_path=snakemake.input.tracts, tract_id=snakemake.params.tract_id,
    places=snakemake.params.places, out_path=snakemake.output.shapes), snakemake.rule)
