"""Snakemake script: download TIGER/Line tracts. Logic: aiddeserts.retrieve.retrieve_tracts."""

from aiddeserts.logs import run_logged
from aiddeserts.retrieve import retrieve_tracts

run_logged(snakemake.log[0], lambda: retrieve_tracts(
    snakemake.params.settings, snakemake.output[0]), snakemake.rule)
