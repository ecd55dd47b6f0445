"""`make demo` stays true: the main job runs end to end and reaches the expected verdicts."""

import json

import pytest

from modelops.demo.run import run_demo
from modelops.errors import InputError

pytestmark = pytest.mark.slow


def test_the_demo_passes_the_better_challenger_and_blocks_the_biased_and_the_leaky_one(
    german_credit, tmp_path
):
    runs = run_demo(tmp_path)
    verdicts = {run.key: run.outcome.passed for run in runs}
    assert verdicts == {"champion": True, "better": True, "biased": False, "leaky": False}
    biased = next(run for run in runs if run.key == "biased")
    assert not biased.outcome.result("fairness").passed
    assert biased.outcome.result("evaluation").passed  # blocked for fairness, not accuracy
    assert biased.outcome.result("leakage").passed
    leaky = next(run for run in runs if run.key == "leaky")
    assert (
        f"leakage: 300 of 300 evaluation rows appear in v{leaky.version}'s training data"
        in leaky.outcome.reasons
    )
    # Every version, champion and challengers alike, was scored on the one pinned set.
    assert {run.outcome.evaluation_data.digest for run in runs} == {german_credit_sha256()}
    for run in runs:
        for name in ("report.md", "verdict.json", "model_card.md", "drift.html"):
            assert (run.report_dir / name).is_file(), (run.key, name)
        assert json.loads((run.report_dir / "verdict.json").read_text())["passed"] is run.outcome.passed


def german_credit_sha256() -> str:
    from modelops.config import load_model_policy
    from tests.conftest import REPO_ROOT

    return load_model_policy("credit-risk", root=REPO_ROOT).evaluation_set.sha256


def test_the_demo_stops_in_one_line_when_the_policy_pins_another_set(project_copy, tmp_path):
    policy = project_copy / "policies" / "models" / "credit-risk.yaml"
    committed = german_credit_sha256()
    policy.write_text(policy.read_text().replace(committed, "ab" * 32))
    with pytest.raises(InputError) as error:
        run_demo(tmp_path / "reports")
    assert str(error.value) == (
        f"{policy}: field 'evaluation_set': the demo's holdout (german-credit-holdout.csv) has sha256 "
        f"{committed}, the policy pins registry {'ab' * 32}; the demo needs location: registry and "
        f"sha256: {committed}"
    )
    assert not (tmp_path / "reports").exists()  # nothing trained, registered or reported
