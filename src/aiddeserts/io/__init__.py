"""Reading and writing: input formats, validation on ingest, downloads, file writers.

Formats: :mod:`~aiddeserts.io.readers`. Validation, one module per concern: the rejects table
(:mod:`~aiddeserts.io.rejects`), configured columns and values (:mod:`~aiddeserts.io.columns`),
coordinate reference systems (:mod:`~aiddeserts.io.crs`), tracts (:mod:`~aiddeserts.io.tracts`),
point sources (:mod:`~aiddeserts.io.points`), assets (:mod:`~aiddeserts.io.assets`) and the survey
(:mod:`~aiddeserts.io.survey`). Downloads: :mod:`~aiddeserts.io.retrieve`; writers:
:mod:`~aiddeserts.io.files`.
"""
