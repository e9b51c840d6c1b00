"""Entry functions of the workflow's rules, one module per rule file (workflow/rules/<stage>.smk).

Each function takes file paths and the config keys its rule reads, so a stage can be run from
Python exactly as Snakemake runs it; the method itself lives in :mod:`aiddeserts.method`.
"""
