"""Glue for the GitHub Actions workflows under .github/workflows/."""
