"""Snakemake script: validate every input and print the report. Logic: aiddeserts.check."""

from aiddeserts.warmstart import hand_off

hand_off()  # in a local run, a fork of the warm server runs this script (config/README.md)

import io
import logging

from aiddeserts.check import check_regions
from aiddeserts.logs import run_logged


def _check() -> None:
    report = io.StringIO()
    status = check_regions(snakemake.params.config, out=report, source="configuration")
    print(report.getvalue(), end="", flush=True)
    logging.getLogger("aiddeserts.check").info("report:\n%s", report.getvalue())
    if status:
        raise SystemExit(status)


run_logged(snakemake.log[0], _check, snakemake.rule)
