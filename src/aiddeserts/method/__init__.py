"""The method: pure functions on tables, arrays and grids (docs/method.md)."""
