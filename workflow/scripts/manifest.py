"""Snakemake script: outputs/<region>/manifest.json. Logic: aiddeserts.manifest.write_region_manifest."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.logs import run_logged
from aiddeserts.manifest import write_region_manifest

run_logged(snakemake.log[0], lambda: write_region_manifest(
    snakemake.params.region_name, snakemake.params.region, snakemake.params.settings,
    inputs={"tracts": list(snakemake.input.tracts),
            "attributes": list(snakemake.input.attributes),
            "assets": list(snakemake.input.assets), "survey": list(snakemake.input.survey),
            "corrections": list(snakemake.input.corrections)},
    products=list(snakemake.params.products), staged=list(snakemake.input.staged),
    repo_dir=snakemake.params.repo_dir, code_versions=dict(snakemake.params.code_versions),
    out_path=snakemake.output.manifest), snakemake.rule)
