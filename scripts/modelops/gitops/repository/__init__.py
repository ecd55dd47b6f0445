"""The repository side of gitops/: its layout, the git plumbing, overlay files and pull requests."""
