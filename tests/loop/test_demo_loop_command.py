"""`make demo-loop` as a newcomer runs it (`python -m modelops.demo.loop`), after a `make demo` registry.

The loop's parts have their own tests; this one runs the entry point itself, in its own registry, so a
command that cannot find its runtime or its versions fails here and not on a newcomer's machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, GermanCredit, register_demo_model
from tests.tools import require_command


@pytest.fixture()
def demo_registry(tmp_path: Path, german_credit: GermanCredit, monkeypatch: pytest.MonkeyPatch):
    """A registry holding what `make demo` leaves: @champion, and a challenger that passed dev's gate."""
    import mlflow

    from modelops.registry import configure, tags

    state = tmp_path / "state"
    monkeypatch.setenv("MODELOPS_STATE_DIR", str(state))
    configure(REPO_ROOT)
    try:
        champion = register_demo_model("champion", german_credit)
        challenger = register_demo_model("better", german_credit)
        client = mlflow.MlflowClient()
        client.set_registered_model_alias("credit-risk", "champion", champion)
        client.set_model_version_tag("credit-risk", challenger, tags.gate("dev"), "passed")
        yield state, champion, challenger
    finally:
        monkeypatch.undo()  # the session's registry again, for every later test
        configure(REPO_ROOT)


def test_the_demo_loop_command_serves_detects_the_shift_and_proposes_a_retrain(
    demo_registry, serving_runtime, tmp_path: Path
) -> None:
    require_command("kubectl")
    state, champion, challenger = demo_registry
    done = subprocess.run(
        [sys.executable, "-m", "modelops.demo.loop"],
        env={**os.environ, "MODELOPS_STATE_DIR": str(state), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert f"credit-risk v{champion} (champion) stable" in out
    assert f"v{challenger} a " in out
    assert "ModelDriftHigh fires for candidate/credit_amount, stable/credit_amount;" in out
    assert "repository_dispatch model-drift {'model': 'credit-risk'}" in out
    assert (state / "demo-loop" / "payloads").is_dir()
