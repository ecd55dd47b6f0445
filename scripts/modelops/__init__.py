"""Promotion gates and registry glue."""
