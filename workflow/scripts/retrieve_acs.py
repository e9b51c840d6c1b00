"""Snakemake script: download ACS variables by tract. Logic: aiddeserts.retrieve.retrieve_acs."""

from aiddeserts.logs import run_logged
from aiddeserts.retrieve import retrieve_acs

run_logged(snakemake.log[0], lambda: retrieve_acs(
    snakemake.params.settings, snakemake.output[0]), snakemake.rule)
