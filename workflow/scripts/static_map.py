"""Snakemake script: the static classification map. Logic: aiddeserts.pipeline.make_figure."""

from aiddeserts.logs import run_logged
from aiddeserts.pipeline import make_figure

run_logged(snakemake.log[0], lambda: make_figure(
    snakemake.params.region, snakemake.params.region_name, tracts_path=snakemake.input.tracts,
    out_png=snakemake.output.png, out_pdf=snakemake.output.pdf,
    classification=snakemake.params.classification), snakemake.rule)
