"""Snakemake script: the static classification map. Logic: aiddeserts.stages.maps.make_figure."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.logs import run_logged
from aiddeserts.stages.maps import make_figure

run_logged(snakemake.log[0], lambda: make_figure(
    region_name=snakemake.params.region_name, title=snakemake.params.title,
    map_config=snakemake.params.map, assets=snakemake.params.assets,
    classification=snakemake.params.classification, tracts_path=snakemake.input.tracts,
    assets_csv_path=snakemake.input.assets, tract_id=snakemake.params.tract_id,
    language=snakemake.params.language, shapes_path=snakemake.input.shapes,
    out_png=snakemake.output.png, out_pdf=snakemake.output.pdf), snakemake.rule)
