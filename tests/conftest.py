"""Shared fixtures: a real embedded MLflow in a temp folder and real models on real data."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Fixtures of stand-ins several folders use: an S3 API on loopback.
pytest_plugins = ["tests.s3_stand_in"]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session", autouse=True)
def embedded_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every test talks to one real SQLite-backed MLflow of its own, never the developer's."""
    state = tmp_path_factory.mktemp("modelops-state")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ.pop("MLFLOW_REGISTRY_URI", None)
    os.environ["MODELOPS_STATE_DIR"] = str(state)
    os.environ["MODELOPS_ROOT"] = str(REPO_ROOT)
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    from modelops.registry import configure

    configure(REPO_ROOT)
    return state


@dataclass(frozen=True)
class GermanCredit:
    training: pd.DataFrame  # every row outside the pinned evaluation set
    evaluation: pd.DataFrame  # the pinned evaluation set, as the gate reads it


@pytest.fixture(scope="session")
def german_credit(embedded_registry: Path) -> GermanCredit:
    """The demo's data as the demo uses it: its holdout pinned in the session's registry, as the
    committed policy says, and the training rows disjoint from it."""
    from modelops.config import load_model_policy
    from modelops.demo.dataset import demo_split, load_german_credit
    from modelops.demo.run import pin_demo_holdout

    pin_demo_holdout(load_model_policy("credit-risk", root=REPO_ROOT), REPO_ROOT)
    return GermanCredit(*demo_split(load_german_credit()))


@dataclass(frozen=True)
class DemoVersions:
    champion: str
    better: str
    biased: str


def register_demo_model(
    key: str, data: GermanCredit, *, name: str = "credit-risk", **overrides: object
) -> str:
    """Fit one of the demo's models on the training rows and register it; returns the version number.

    No evaluation frame is logged unless given in `overrides`: the gate scores the pinned set.
    """
    from modelops.config import load_model_policy
    from modelops.demo.models import demo_models, fit
    from modelops.registry import register_model

    policy = load_model_policy("credit-risk", root=REPO_ROOT)
    model = next(m for m in demo_models(data.training) if m.key == key)
    registered = register_model(
        fit(model, data.training),
        name=name,
        training=data.training,
        label=policy.label,
        sensitive_features=policy.sensitive_columns,
        positive_class=policy.positive_class,
        trusted_types=policy.trusted_types,
        **overrides,
    )
    return registered.version


@pytest.fixture(scope="session")
def demo_versions(german_credit: GermanCredit) -> DemoVersions:
    return DemoVersions(
        champion=register_demo_model("champion", german_credit),
        better=register_demo_model("better", german_credit),
        biased=register_demo_model("biased", german_credit),
    )


@pytest.fixture()
def project_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A writable copy of the repository's policy files, used as MODELOPS_ROOT."""
    root = tmp_path / "repo"
    for folder in ("environments", "policies"):
        shutil.copytree(REPO_ROOT / folder, root / folder)
    monkeypatch.setenv("MODELOPS_ROOT", str(root))
    return root
