# aiddeserts: where mutual aid is thin relative to need.
# Table of contents; the rules live in workflow/rules/, one file per stage.
from snakemake.utils import min_version

min_version("8.20")


# The default configuration applies only when no --configfile/--config gives regions.
if not config.get("regions"):

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"


wildcard_constraints:
    region="|".join(REGIONS),
    part="|".join(AUDIT_PARTS),


include: "workflow/rules/retrieve.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/density.smk"
include: "workflow/rules/network.smk"
include: "workflow/rules/classify.smk"
include: "workflow/rules/map.smk"
include: "workflow/rules/inventory.smk"
include: "workflow/rules/privacy.smk"
include: "workflow/rules/publish.smk"
include: "workflow/rules/check.smk"
include: "workflow/rules/manifest.smk"


rule all:
    default_target: True
    input:
        expand(published("{product}"), region=REGIONS, product=PRODUCTS),
