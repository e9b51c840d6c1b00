"""Snakemake script: the classes and the changes. Logic: aiddeserts.stages.inventory.make_changes."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.logs import run_logged
from aiddeserts.stages.inventory import make_changes

run_logged(snakemake.log[0], lambda: make_changes(
    tract_id=snakemake.params.tract_id, classified_path=snakemake.input.classified,
    assets_path=snakemake.input.assets, previous_dir=snakemake.params.previous,
    out_classes=snakemake.output.classes, out_changes=snakemake.output.changes),
    snakemake.rule)
