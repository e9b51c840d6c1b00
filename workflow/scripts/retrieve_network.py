"""Snakemake script: download an OSM extract. Logic: aiddeserts.stages.network.retrieve_network."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.logs import run_logged
from aiddeserts.stages.network import retrieve_network

run_logged(snakemake.log[0], lambda: retrieve_network(
    network=snakemake.params.network, out_path=snakemake.output[0]), snakemake.rule)
