"""Snakemake script: the walking graph. Logic: aiddeserts.stages.network.build_walking_network."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.logs import run_logged
from aiddeserts.stages.network import build_walking_network

run_logged(snakemake.log[0], lambda: build_walking_network(
    osm_path=snakemake.input.osm[0], tracts_path=snakemake.input.tracts,
    network=snakemake.params.network, out_network=snakemake.output.network), snakemake.rule)
