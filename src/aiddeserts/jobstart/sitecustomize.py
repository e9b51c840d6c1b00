"""Run by Python as it starts a job's process in a local run with a warm server: the run puts
this folder first on its jobs' ``PYTHONPATH`` (:func:`aiddeserts.warmstart.job_environment`).

First the ``sitecustomize`` this one hides, if any, runs as Python would have run it. Then, in a
process running a script Snakemake wrote for a job, the script is handed to the warm server
before its preamble imports Snakemake (:func:`aiddeserts.warmstart.hand_off`). Anywhere else,
or when the server does not take the job, nothing more happens here.
"""

import importlib.machinery
import importlib.util
import os
import sys


def _run_hidden_sitecustomize() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_run_hidden_sitecustomize()

if os.environ.get("AIDDESERTS_WARM_SOCKET") and sys.argv and sys.argv[0]:
    try:
        from aiddeserts import warmstart
    except ImportError:  # another Python than the run's: the script's own hand_off() decides
        pass
    else:
        if warmstart.is_job_script(sys.argv[0]):
            warmstart.hand_off()
