"""One serving runtime, pinned once: the model server's lock holds the versions every artifact was
registered with, so what the gate scored in the project's environment is what the server loads."""

from __future__ import annotations

import tomllib
from pathlib import Path

from modelops.registry.register import pinned_requirements
from tests.conftest import REPO_ROOT

RUNTIME_LOCK = REPO_ROOT / "infra/images/mlserver/uv.lock"


def _locked(lock: Path) -> dict[str, str]:
    return {p["name"]: p["version"] for p in tomllib.loads(lock.read_text())["package"]}


def test_the_runtime_serves_with_the_versions_registration_records():
    runtime = _locked(RUNTIME_LOCK)
    # What `modelops register` writes into every artifact's requirements.txt.
    recorded = dict(r.split("==") for r in pinned_requirements())
    assert {name: runtime.get(name) for name in recorded} == recorded
    # And the library that writes and reads the artifact's MLmodel.
    assert runtime["mlflow"] == _locked(REPO_ROOT / "uv.lock")["mlflow"]


def test_the_runtime_pins_the_event_loop_its_workers_start_with():
    # MLServer 1.7.1's workers die at start with uvloop >= 0.22 (see infra/images/mlserver/pyproject.toml).
    major, minor, *_ = (int(part) for part in _locked(RUNTIME_LOCK)["uvloop"].split("."))
    assert (major, minor) < (0, 22)
