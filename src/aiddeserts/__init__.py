"""aiddeserts: map where mutual aid is thin relative to need.

Modules follow the pipeline's stages: :mod:`config` → :mod:`ingest` → :mod:`density` →
:mod:`access` → :mod:`need` → :mod:`classify` → :mod:`webmap` → :mod:`publish`.
"""

__version__ = "0.1.0"
