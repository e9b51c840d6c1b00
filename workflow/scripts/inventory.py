"""Snakemake script: the public inventory. Logic: aiddeserts.stages.inventory.make_inventory."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.logs import run_logged
from aiddeserts.stages.inventory import make_inventory

run_logged(snakemake.log[0], lambda: make_inventory(
    title=snakemake.params.title, region_name=snakemake.params.region_name,
    tract_id=snakemake.params.tract_id, privacy=snakemake.params.privacy,
    inventory_path=snakemake.input.inventory, tracts_path=snakemake.input.tracts,
    out_assets=snakemake.output.assets, out_hsds=snakemake.output.hsds), snakemake.rule)
