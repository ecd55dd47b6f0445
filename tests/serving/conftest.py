"""The platform's serving runtime, installed from its own lock (infra/images/mlserver), once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitops.conftest import gitops_repo  # noqa: F401  (a fixture, shared: the releases to serve)
from tests.tools import require_command


@pytest.fixture(scope="session")
def serving_runtime() -> Path:
    from modelops.serving.mlserver import sync_runtime

    return sync_runtime(uv=require_command("uv"))
