"""aiddeserts: map where mutual aid is thin relative to need.

:mod:`aiddeserts.stages` holds one module per workflow stage (ingest → density → classify →
maps → privacy → summary → publish), each calling the pure method code in
:mod:`aiddeserts.method`, the readers and writers in :mod:`aiddeserts.io`, disclosure control
and the audit in :mod:`aiddeserts.privacy`, and the map in :mod:`aiddeserts.maps`.
"""

__version__ = "0.1.0"
