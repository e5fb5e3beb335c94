"""View modules, one per feature."""
