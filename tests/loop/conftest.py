"""The parts the loop is made of, each with the fixture its own tests start it with: the relay and a
stand-in for GitHub's API (tests/alerting), Alertmanager configured as the chart renders it
(tests/alerting), the repository on 'GitHub' and a stand-in `gh` (tests/github), and the serving
runtime installed from its lock (tests/serving)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.alerting.conftest import github, pager, pager_stand_in, relay, stand_in  # noqa: F401
from tests.alerting.test_with_alertmanager import alertmanager  # noqa: F401
from tests.github.conftest import pr_gh  # noqa: F401
from tests.github.local_steps import make_origin
from tests.serving.conftest import serving_runtime  # noqa: F401


@pytest.fixture()
def origin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_versions) -> Path:
    """The platform's repository, every environment serving the champion; MODELOPS_ROOT points at it."""
    return make_origin(tmp_path, monkeypatch, demo_versions)
