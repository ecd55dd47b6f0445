"""The pull-request gate's tests run on the same real GitOps repository as the release commands'."""

from tests.gitops.conftest import gitops_repo  # noqa: F401  (a fixture, shared)
