"""Disclosure control and the privacy audit (docs/privacy.md)."""
