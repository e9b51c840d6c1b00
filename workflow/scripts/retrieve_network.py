"""Snakemake script: download an OSM extract. Logic: aiddeserts.stages.network.retrieve_network."""

from aiddeserts.logs import run_logged
from aiddeserts.stages.network import retrieve_network

run_logged(snakemake.log[0], lambda: retrieve_network(
    network=snakemake.params.network, out_path=snakemake.output[0]), snakemake.rule)
