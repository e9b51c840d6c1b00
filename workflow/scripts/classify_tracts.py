"""Snakemake script: classify tracts. Logic: aiddeserts.stages.classify.classify_tracts."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

from aiddeserts.logs import run_logged
from aiddeserts.stages.classify import classify_tracts

run_logged(snakemake.log[0], lambda: classify_tracts(
    tracts_path=snakemake.input.tracts, assets_path=snakemake.input.assets,
    survey_path=snakemake.input.survey, density_path=snakemake.input.density,
    tract_id=snakemake.params.tract_id, population=snakemake.params.population,
    need=snakemake.params.need, survey_configured=snakemake.params.survey_configured,
    classification=snakemake.params.classification,
    min_respondents=snakemake.params.min_respondents,
    network_path=(snakemake.input.network or [None])[0],
    speed_m_per_min=snakemake.params.speed_m_per_min, out_tracts=snakemake.output.tracts,
    region=snakemake.params.region, questions=snakemake.params.questions,
    survey_rules=snakemake.params.survey_rules, out_release=snakemake.output.release,
    zones_path=snakemake.input.zones),
    snakemake.rule)
