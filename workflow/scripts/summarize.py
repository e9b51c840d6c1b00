"""Snakemake script: summary.json and rejects.csv. Logic: aiddeserts.stages.summary.summarize."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.logs import run_logged
from aiddeserts.stages.summary import summarize

run_logged(snakemake.log[0], lambda: summarize(
    region_name=snakemake.params.region_name, title=snakemake.params.title,
    parameters=snakemake.params.parameters, counts_paths=list(snakemake.input.counts),
    rejects_paths=list(snakemake.input.rejects), tracts_path=snakemake.input.tracts,
    density_path=snakemake.input.density, out_summary=snakemake.output.summary,
    out_rejects=snakemake.output.rejects, inventory_path=snakemake.input.inventory,
    survey_release_path=snakemake.input.survey_release),
    snakemake.rule)
