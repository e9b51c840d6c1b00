"""Snakemake script: download ACS variables by tract. Logic: aiddeserts.io.retrieve.retrieve_acs."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.io.retrieve import retrieve_acs
from aiddeserts.logs import run_logged

run_logged(snakemake.log[0], lambda: retrieve_acs(
    snakemake.params.settings, snakemake.output[0]), snakemake.rule)
