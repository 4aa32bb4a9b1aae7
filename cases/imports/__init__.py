"""Imports into the cases part. See ``national.py`` and README.md (the column mapping)."""
