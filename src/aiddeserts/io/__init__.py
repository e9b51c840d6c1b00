"""Reading and writing: input formats, validation on ingest, downloads, file writers."""
