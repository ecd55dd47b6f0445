"""In CI, a pull request's gate reads the served registry, never a SQLite file its checkout holds.

With `MLFLOW_TRACKING_URI` unset the registry is embedded, at `.modelops/mlflow.db` under the project
root: in the promotion gate's job that root is the pull request's checkout, so the pull request could
commit the registry that judges it, with whatever versions, metrics and tags it likes.
"""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
import pytest

from modelops.errors import InputError
from modelops.registry.tracking import refuse_registry_in_checkout, running_in_ci, sqlite_file_inside
from tests.cli_runner import invoke


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"CI": "true"}, True),
        ({"GITHUB_ACTIONS": "true"}, True),
        ({"CI": "TRUE"}, True),
        ({"CI": "1"}, True),
        ({"CI": "false", "GITHUB_ACTIONS": "true"}, True),
        ({}, False),
        ({"CI": "false"}, False),
        ({"CI": ""}, False),
    ],
)
def test_ci_is_told_by_ci_or_github_actions(environ, expected):
    assert running_in_ci(environ) is expected


def test_a_sqlite_file_in_the_checkout_is_recognised_however_it_is_written(tmp_path, monkeypatch):
    checkout, elsewhere = tmp_path / "pull-request", tmp_path / "runner-state"
    (checkout / ".modelops").mkdir(parents=True)
    elsewhere.mkdir()
    monkeypatch.chdir(checkout)
    assert sqlite_file_inside(f"sqlite:///{checkout}/.modelops/mlflow.db", checkout)  # the default
    assert sqlite_file_inside("sqlite:///.modelops/mlflow.db", checkout)  # relative: from the working folder
    assert sqlite_file_inside(f"sqlite:///{checkout}/sub/../mlflow.db?mode=ro", checkout)
    assert not sqlite_file_inside(f"sqlite:///{elsewhere}/mlflow.db", checkout)
    assert not sqlite_file_inside("http://mlflow.internal:5000", checkout)
    assert not sqlite_file_inside("sqlite://", checkout)  # in memory: nothing the pull request wrote


def test_a_symlink_either_way_does_not_hide_a_file_of_the_checkout(tmp_path):
    checkout, elsewhere = tmp_path / "pull-request", tmp_path / "runner-state"
    checkout.mkdir()
    elsewhere.mkdir()
    (checkout / ".modelops").symlink_to(elsewhere)  # committed by the pull request
    assert sqlite_file_inside(f"sqlite:///{checkout}/.modelops/mlflow.db", checkout)
    (tmp_path / "link-in").symlink_to(checkout)  # a path outside that leads into the checkout
    assert sqlite_file_inside(f"sqlite:///{tmp_path}/link-in/mlflow.db", checkout)


@pytest.fixture()
def checkout_registry(tmp_path, monkeypatch) -> Path:
    """A pull request's checkout holding a registry of its own, and no registry variable set."""
    checkout = tmp_path / "pull-request"
    (checkout / ".modelops").mkdir(parents=True)
    (checkout / ".modelops" / "mlflow.db").write_bytes(b"SQLite format 3\x00forged")
    for variable in (
        "MLFLOW_TRACKING_URI",
        "MLFLOW_REGISTRY_URI",
        "MODELOPS_STATE_DIR",
        "CI",
        "GITHUB_ACTIONS",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("MODELOPS_ROOT", str(checkout))
    monkeypatch.chdir(checkout)
    return checkout


@pytest.mark.parametrize("ci", ["CI", "GITHUB_ACTIONS"])
def test_in_ci_the_embedded_default_in_the_checkout_is_refused(checkout_registry, monkeypatch, ci):
    monkeypatch.setenv(ci, "true")
    with pytest.raises(InputError, match=r"^MLFLOW_TRACKING_URI is not set: in CI") as refused:
        refuse_registry_in_checkout(checkout_registry)
    assert str(checkout_registry / ".modelops" / "mlflow.db") in str(refused.value)


def test_in_ci_a_variable_naming_a_file_of_the_checkout_is_refused_too(checkout_registry, monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///.modelops/mlflow.db")
    with pytest.raises(InputError, match=r"^MLFLOW_TRACKING_URI names a SQLite file in the checkout"):
        refuse_registry_in_checkout(checkout_registry)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.internal:5000")
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", f"sqlite:///{checkout_registry}/.modelops/mlflow.db")
    with pytest.raises(InputError, match=r"^MLFLOW_REGISTRY_URI names a SQLite file in the checkout"):
        refuse_registry_in_checkout(checkout_registry)


def test_what_is_not_a_file_of_the_checkout_or_not_ci_passes(checkout_registry, monkeypatch, tmp_path):
    refuse_registry_in_checkout(checkout_registry)  # a laptop: the embedded registry is the point
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://mlflow.registry.internal")
    refuse_registry_in_checkout(checkout_registry)  # the served registry
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.setenv("MODELOPS_STATE_DIR", str(tmp_path / "runner-state"))
    refuse_registry_in_checkout(checkout_registry)  # an embedded registry the runner chose, outside


def test_the_gate_in_pull_request_mode_under_ci_exits_2_with_one_line(
    checkout_registry, monkeypatch, tmp_path
):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    before = mlflow.get_tracking_uri()
    forged = (checkout_registry / ".modelops" / "mlflow.db").read_bytes()
    out = tmp_path / "reports"
    result = invoke("gate", "--base", "HEAD~1", "--head", "HEAD", "--out", out, "--no-record")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: MLFLOW_TRACKING_URI is not set"), result.output
    assert "BLOCKED" in (out / "report.md").read_text()  # the job summary and comment say why
    # Refused before MLflow was pointed anywhere: the forged registry was never opened.
    assert mlflow.get_tracking_uri() == before
    assert (checkout_registry / ".modelops" / "mlflow.db").read_bytes() == forged
    assert os.environ.get("MLFLOW_TRACKING_URI") is None
