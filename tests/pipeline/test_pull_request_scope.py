"""What a pull request changes besides releases: files every environment of a model shares, or
an overlay edit that changes no release, are validated, not gated (no release changed), and the
gate's report says how far they reach.
"""

from __future__ import annotations

import json

import pytest

from modelops.pipeline.pr_gate import reach
from tests.cli_runner import invoke


@pytest.mark.parametrize(
    ("path", "reaches"),
    [
        ("gitops/models/credit-risk/overlays/prod/kustomization.yaml", "credit-risk in prod"),
        ("gitops/models/credit-risk/base/inferenceservice.yaml", "every environment of credit-risk"),
        (
            "gitops/models/credit-risk/components/candidate/kustomization.yaml",
            "every environment of credit-risk",
        ),
        ("gitops/environments/prod/kustomization.yaml", "everything in prod"),
        ("gitops/bootstrap/applicationset.yaml", "Argo CD's projects and applications"),
        ("gitops/README.md", None),
        ("gitops/kustomization.yaml", "gitops/ as a whole"),
        ("policies/models/credit-risk.yaml", "the gate policy of credit-risk, from the next pull request"),
        ("policies/models/README.md", None),
        ("policies/crossguard/rules.py", "the infrastructure policies, at the next preview and deploy"),
        (
            "environments/prod.yaml",
            "the prod environment's settings: its cluster and Application once merged, "
            "its thresholds from the next pull request",
        ),
        (
            "environments/shared/registry.yaml",
            "the shared registry stack and every environment, at their next deploy",
        ),
        ("scripts/modelops/cli/app.py", None),
    ],
)
def test_how_far_a_changed_file_reaches(path, reaches):
    assert reach(path) == reaches


def test_a_change_to_a_models_base_is_listed_in_the_gate_report(gitops_repo, tmp_path):
    base = gitops_repo.root / "gitops/models/credit-risk/base/kustomization.yaml"
    base.write_text(base.read_text().replace("# credit-risk:", "# credit-risk (reviewed):", 1))
    notes = gitops_repo.root / "gitops/models/credit-risk/base/notes für prod.txt"  # space, non-ASCII
    notes.write_text("Reviewed with the risk team.\n")
    gitops_repo.git("checkout", "--quiet", "-b", "base-note")
    gitops_repo.git("add", "-A")
    gitops_repo.git("commit", "--quiet", "-m", "Note on the base")

    result = invoke("gate", "--base", "main", "--head", "base-note", "--out", tmp_path, "--json")

    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert verdict["releases"] == []
    base_files = [
        "gitops/models/credit-risk/base/kustomization.yaml",
        str(notes.relative_to(gitops_repo.root)),
    ]
    assert verdict["other_changes"] == [
        {"path": path, "reaches": "every environment of credit-risk"} for path in base_files
    ]
    report = (tmp_path / "report.md").read_text()
    assert (
        "- `gitops/models/credit-risk/base/kustomization.yaml`: reaches every environment of credit-risk"
        in report
    )


def test_a_changed_environment_file_and_model_policy_are_listed_with_when_they_take_effect(
    gitops_repo, tmp_path
):
    dev = gitops_repo.root / "environments/dev.yaml"
    dev.write_text(dev.read_text().replace("p95_ms: 50", "p95_ms: 500", 1))
    policy = gitops_repo.root / "policies/models/credit-risk.yaml"
    policy.write_text(policy.read_text() + "# reviewed with the risk team\n")
    gitops_repo.git("checkout", "--quiet", "-b", "relax-dev")
    gitops_repo.git("commit", "--quiet", "-am", "Relax dev's latency SLA")

    result = invoke("gate", "--base", "main", "--head", "relax-dev", "--out", tmp_path, "--json")

    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert verdict["releases"] == []
    assert verdict["other_changes"] == [
        {"path": "environments/dev.yaml", "reaches": reach("environments/dev.yaml")},
        {"path": "policies/models/credit-risk.yaml", "reaches": reach("policies/models/credit-risk.yaml")},
    ]
    report = (tmp_path / "report.md").read_text()
    assert "- `environments/dev.yaml`: reaches the dev environment's settings" in report
    assert "its thresholds from the next pull request" in report
