"""`modelops rollout plan MODEL --env ENV` end to end: real git, real MLflow, the real command."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path

import pytest

from modelops.rollouts.plan import schedule_for
from modelops.rollouts.records import AnalysisRecord, log_analysis
from tests.cli_runner import invoke
from tests.conftest import REPO_ROOT
from tests.gitops.conftest import init_repository
from tests.rollouts.plan_histories import DAY, Timeline, add_model, commit_timeline, prod_policy, register


@pytest.fixture()
def planned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A model with 5 clean rollouts in prod and an abort at 25 % five days ago."""
    root, model = tmp_path / "platform", f"plan-{uuid.uuid4().hex[:8]}"
    for folder in ("environments", "gitops"):
        shutil.copytree(REPO_ROOT / folder, root / folder)
    add_model(root, model)
    init_repository(root, "Platform")
    timeline = Timeline(start=time.time() - 100 * DAY)
    for _ in range(5):
        timeline.rollout()
    timeline.rollout("abort", steps=(10, 25), at=time.time() - 5 * DAY)
    commit_timeline(root, model, timeline)
    register(model, timeline.next_version - 1)
    # A record git cannot place: shown as set aside, not used.
    log_analysis(
        AnalysisRecord(model, "prod", "42", "1", 10, time.time() - 9e3, time.time() - 6e3, "step", "")
    )
    monkeypatch.setenv("MODELOPS_ROOT", str(root))
    return model


def test_the_plan_its_reasons_and_evidence_as_json(planned: str) -> None:
    result = invoke("rollout", "plan", planned, "--env", "prod", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    cautious = schedule_for(1.0, prod_policy())
    assert (found["source"], found["steps"], found["bake_minutes"]) == (
        "history",
        list(cautious.steps),
        list(cautious.bake_minutes),
    )
    assert found["estimate"]["failures"] == 1 and found["estimate"]["trials"] == 5 * 4 + 2
    assert "failed at 25% 5.0 days ago" in found["estimate"]["recent_failure"]
    assert [r["outcome"] for r in found["rollouts"]] == ["completed"] * 5 + ["aborted"]
    [note] = found["set_aside"]
    assert "v42 at 10% matches no rollout step in git" in note
    assert found["analysis_records_used"] == 0


def test_the_plan_as_tables(planned: str) -> None:
    result = invoke("rollout", "plan", planned, "--env", "prod")
    assert result.exit_code == 0, result.output
    assert "learned from the rollout history" in result.stdout
    assert "recent failure, most cautious schedule" in result.stdout
    assert "Evidence: rollouts" in result.stdout and "aborted" in result.stdout
    assert "set aside:" in result.stdout


@pytest.mark.parametrize(
    ("model", "env", "message"),
    [
        (None, "dev", "environments/dev.yaml: gitops.rollout.plan is not set (strategy direct)"),
        (None, "nowhere", "nowhere"),
        ("no-such-model", "prod", "gitops/models/no-such-model/overlays/prod: no-such-model has no overlay"),
        ("../escape", "prod", "model name '../escape': only letters"),
    ],
)
def test_unusable_input_exits_2_with_one_line(
    planned: str, model: str | None, env: str, message: str
) -> None:
    result = invoke("rollout", "plan", model or planned, "--env", env)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
