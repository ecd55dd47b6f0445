"""Builders for the promtool unit tests and the live Prometheus test of the model SLO alerts."""
