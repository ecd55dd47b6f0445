"""Rendering gitops/ with kustomize, and reading what the rendered objects serve."""
