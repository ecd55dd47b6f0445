"""The rightsizing benchmark end to end on a small history, through the entry point `make bench` uses."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT
from tests.tools import require_command


def test_every_side_recommends_the_same_for_every_model() -> None:
    require_command("promtool"), require_command("prometheus")
    command = [sys.executable, "-m", "modelops.bench.rightsizing", "--models", "4", "--days", "8"]
    completed = subprocess.run(
        [*command, "--window", "8d", "--repeat", "1"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert output.count("│ yes") == 3, output  # the three sides agree with each other
    assert "4 recommendations, 0 refused" in output
