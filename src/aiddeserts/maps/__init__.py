"""The interactive map and the static figure."""
