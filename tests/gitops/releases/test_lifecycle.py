"""A release's whole life through the commands, on a real git repository and a real registry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow
import pytest

from modelops.registry import tags
from tests.cli_runner import invoke
from tests.conftest import register_demo_model
from tests.gitops.conftest import ENVIRONMENTS, pin_everywhere

pytestmark = pytest.mark.slow


def _last_branch(output: str) -> str:
    return next(line.split()[1] for line in output.splitlines() if line.startswith("branch "))


def _gate_pull_request(repo, branch: str, out):
    """What CI does: check out the pull request's head, gate it against main."""
    repo.git("checkout", "--quiet", branch)
    try:
        return invoke("gate", "--base", "main", "--head", branch, "--out", out, "--json")
    finally:
        repo.git("checkout", "--quiet", "main")


def _promote(repo, *args: str):
    result = invoke("promote", "credit-risk", *args)
    assert result.exit_code == 0, result.output
    branch = _last_branch(result.stdout)
    assert "gh pr create" in result.stdout  # no gh here: the exact commands are printed
    return branch


def _relax_staging_fairness(repo) -> None:
    # This test is about the commands. The demo's better model misses staging's stricter parity
    # limit on age (0.141 > 0.12): a per-model override, committed like any policy change, lets
    # the release climb so that every command gets exercised.
    policy = repo.root / "policies/models/credit-risk.yaml"
    override = "overrides:\n  staging:\n    fairness:\n      max_demographic_parity_difference: 0.15\n"
    policy.write_text(policy.read_text().replace("overrides: {}\n", override))
    repo.git("commit", "--quiet", "-am", "Relax staging's parity limit for credit-risk")


def test_a_release_from_dev_to_prod_and_back(gitops_repo, demo_versions, tmp_path):
    repo, better, champion = gitops_repo, demo_versions.better, demo_versions.champion
    _relax_staging_fairness(repo)

    # dev: promote, gate the pull request, merge.
    branch = _promote(repo, "--version", better, "--to", "dev")
    assert repo.git("rev-parse", "--abbrev-ref", "HEAD").strip() == "main"  # working branch untouched
    gate = _gate_pull_request(repo, branch, tmp_path / "dev")
    verdict = json.loads(gate.stdout)
    assert gate.exit_code == 0, gate.output
    assert [(r["model"], r["environment"], r["challenger"], r["champion"]) for r in verdict["releases"]] == [
        ("credit-risk", "dev", better, champion)
    ]
    assert verdict["other_changes"] == []  # the promotion's files are its release, gated above
    repo.merge(branch)
    assert repo.state("dev").stable.version == better
    assert mlflow.MlflowClient().get_model_version("credit-risk", better).tags[tags.gate("dev")] == "passed"

    # staging: the ladder holds (dev runs it and passed its gate).
    branch = _promote(repo, "--from", "dev")
    assert branch == f"promote/credit-risk/staging/v{better}"
    gate = _gate_pull_request(repo, branch, tmp_path / "staging")
    assert gate.exit_code == 0, gate.output
    repo.merge(branch)

    # prod: canary, stepped, completed.
    repo.merge(_promote(repo, "--version", better, "--to", "prod"))
    state = repo.state("prod")
    assert (state.stable.version, state.candidate.version, state.traffic.candidate) == (champion, better, 10)
    for expected in (25, 50):
        result = invoke("rollout", "step", "credit-risk", "--env", "prod")
        assert result.exit_code == 0, result.output
        if expected == 25:  # a step gates no release, and its report names the split it makes
            gate = _gate_pull_request(repo, _last_branch(result.stdout), tmp_path / "step")
            assert gate.exit_code == 0, gate.output
            [moved] = json.loads(gate.stdout)["releases"]
            assert (moved["challenger"], moved["champion"]) == (better, champion)
            assert moved["reasons"] == [
                f"traffic change only, no release changed: stable v{champion} (90%), candidate v{better} "
                f"(10%) -> stable v{champion} (75%), candidate v{better} (25%)"
            ]
        repo.merge(_last_branch(result.stdout))
        assert repo.state("prod").traffic.candidate == expected
    last = invoke("rollout", "step", "credit-risk", "--env", "prod")
    assert last.exit_code == 2 and "the last step; run complete" in last.output
    result = invoke("rollout", "complete", "credit-risk", "--env", "prod")
    repo.merge(_last_branch(result.stdout))
    state = repo.state("prod")
    assert (state.stable.version, state.candidate, state.traffic.stable) == (better, None, 100)
    assert not (repo.root / "gitops/models/credit-risk/overlays/prod/candidate.yaml").exists()

    # rollback: the previous stable release comes back from the overlay's history.
    result = invoke("rollback", "credit-risk", "--env", "prod")
    assert result.exit_code == 0, result.output
    repo.merge(_last_branch(result.stdout))
    assert repo.state("prod").stable.version == champion
    # A second rollback goes further back, never forward to the release just backed out.
    again = invoke("rollback", "credit-risk", "--env", "prod")
    assert again.exit_code == 2 and "no earlier stable release" in again.output

    # A rollback's pull request is not held to the ladder (staging runs the newer version) and is
    # judged on absolute rules, not against the release it backs out.
    result = invoke("rollback", "credit-risk", "--env", "staging")
    branch = _last_branch(result.stdout)
    gate = _gate_pull_request(repo, branch, tmp_path / "rollback")
    release = json.loads(gate.stdout)["releases"][0]
    assert (release["challenger"], release["champion"]) == (champion, None)
    assert not any("requires" in reason for reason in release["reasons"]), release["reasons"]
    why = f"a rollback to v{champion}, which served staging before"
    assert release["no_champion"] == why
    assert f"no champion ({why})" in Path(release["report"]).read_text()
    assert (
        f"Champion at gating: none ({why})" in Path(release["report"]).with_name("model_card.md").read_text()
    )

    status = invoke("status", "--no-gates")
    assert status.exit_code == 0
    assert "credit-risk" in status.stdout and f"v{better}" in status.stdout
    assert invoke("validate").exit_code == 0


def test_a_changed_artifact_under_an_unchanged_version_is_caught(gitops_repo, demo_versions, tmp_path):
    release = gitops_repo.root / "gitops/models/credit-risk/overlays/dev/release.yaml"
    text = release.read_text()
    uri = next(line for line in text.splitlines() if "storageUri:" in line).split("storageUri:")[1].strip()
    forged = uri.rsplit("/models/", 1)[0] + "/models/m-" + "f" * 32 + "/artifacts"
    gitops_repo.git("checkout", "--quiet", "-b", "forged")
    release.write_text(text.replace(uri, forged))
    gitops_repo.git("commit", "--quiet", "-am", "Point dev at another artifact, same version and digest")
    result = invoke("gate", "--base", "main", "--head", "forged", "--out", tmp_path, "--json", "--no-html")
    assert result.exit_code == 1
    release = json.loads(result.stdout)["releases"][0]
    assert any(
        r.startswith(f"pin: pinned storageUri {forged} is not the registry's") for r in release["reasons"]
    )
    # The release's own report and verdict say the same as the combined one.
    report = Path(release["report"])
    assert "BLOCKED" in report.read_text()
    assert not report.with_name("drift.html").exists()  # --no-html holds in the pull-request mode too
    verdict = json.loads(report.with_name("verdict.json").read_text())
    assert verdict["passed"] is False and verdict["reasons"] == release["reasons"]
    # Same version as the base: compared with no champion, and the report says why.
    assert release["champion"] is None
    assert verdict["no_champion"] == f"v{release['challenger']} already serves dev: only its pin changed"


def test_the_pull_request_gate_judges_the_commits_not_the_checkout(gitops_repo, demo_versions, tmp_path):
    branch = _promote(gitops_repo, "--version", demo_versions.better, "--to", "dev")
    # The checkout is main, with an uncommitted edit that would fail validation: neither is --head.
    release = gitops_repo.root / "gitops/models/credit-risk/overlays/dev/release.yaml"
    release.write_text(release.read_text().replace("storageUri: s3://", "storageUri: models:/"))
    (release.parent / "untracked.yaml").write_text("kind: Deployment\n")
    result = invoke("gate", "--base", "main", "--head", branch, "--out", tmp_path, "--json", "--no-html")
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert verdict["validation"]["findings"] == []
    assert [(r["environment"], r["challenger"]) for r in verdict["releases"]] == [
        ("dev", demo_versions.better)
    ]


def test_skipping_an_environment_is_refused_and_changes_nothing(gitops_repo, demo_versions):
    before = (
        gitops_repo.branches(),
        gitops_repo.git("status", "--porcelain"),
        gitops_repo.git("rev-parse", "HEAD"),
    )
    result = invoke("promote", "credit-risk", "--version", demo_versions.better, "--to", "staging")
    assert result.exit_code == 1
    assert (
        f"cannot go to staging: staging requires dev first, which runs v{demo_versions.champion}"
        in result.output
    )
    after = (
        gitops_repo.branches(),
        gitops_repo.git("status", "--porcelain"),
        gitops_repo.git("rev-parse", "HEAD"),
    )
    assert after == before


def test_a_failed_promotion_leaves_the_repository_as_it_was(gitops_repo):
    before = (gitops_repo.branches(), gitops_repo.git("status", "--porcelain"))
    result = invoke("promote", "credit-risk", "--version", "9999", "--to", "dev")
    assert result.exit_code == 2
    assert "model credit-risk version 9999: not found" in result.output
    assert (gitops_repo.branches(), gitops_repo.git("status", "--porcelain")) == before


def test_yaml_comments_and_order_survive_and_the_diff_is_the_release(gitops_repo, demo_versions):
    branch = _promote(gitops_repo, "--version", demo_versions.better, "--to", "dev")
    diff = gitops_repo.git("diff", "main", branch, "--unified=0")
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert len(changed) == 8  # version, digest, storageUri, logger url: one line out, one line in each
    assert {line.split(":")[0].strip("+- ") for line in changed} == {
        "modelops.io/model-version",
        "modelops.io/artifact-digest",
        "storageUri",
        "url",
    }
    release = gitops_repo.git("show", f"{branch}:gitops/models/credit-risk/overlays/dev/release.yaml")
    assert release.startswith("# The stable release of credit-risk in dev")


def test_two_models_promoted_on_two_branches_merge_cleanly(gitops_repo, demo_versions, german_credit):
    root = gitops_repo.root
    shutil.copytree(root / "gitops/models/credit-risk", root / "gitops/models/scorecard")
    for path in (root / "gitops/models/scorecard").rglob("*.yaml"):
        path.write_text(path.read_text().replace("credit-risk", "scorecard"))
    for env in ENVIRONMENTS:
        kustomization = root / f"gitops/environments/{env}/kustomization.yaml"
        kustomization.write_text(kustomization.read_text() + f"  - ../../models/scorecard/overlays/{env}\n")
    first = register_demo_model("champion", german_credit, name="scorecard")
    pin_everywhere(root, "scorecard", first)
    gitops_repo.git("add", "-A")
    gitops_repo.git("commit", "--quiet", "-m", "Add the scorecard model")
    second = register_demo_model("better", german_credit, name="scorecard")

    credit_branch = _promote(gitops_repo, "--version", demo_versions.better, "--to", "dev")
    scorecard = invoke("promote", "scorecard", "--version", second, "--to", "dev")
    assert scorecard.exit_code == 0, scorecard.output
    gitops_repo.merge(credit_branch)
    gitops_repo.merge(_last_branch(scorecard.stdout))  # no conflict: each touched its own overlay
    assert gitops_repo.state("dev").stable.version == demo_versions.better
    assert gitops_repo.state("dev", "scorecard").stable.version == second


def test_a_hand_edited_mutable_uri_fails_validation_naming_the_file(gitops_repo):
    release = gitops_repo.root / "gitops/models/credit-risk/overlays/staging/release.yaml"
    text = release.read_text()
    uri = next(line for line in text.splitlines() if "storageUri:" in line).split("storageUri:")[1].strip()
    release.write_text(text.replace(uri, "models:/credit-risk@champion"))
    result = invoke("validate")
    assert result.exit_code == 1
    assert (
        "gitops/models/credit-risk/overlays/staging/release.yaml: InferenceService/credit-risk: "
        "storageUri models:/credit-risk@champion is mutable" in " ".join(result.stdout.split())
    )


def test_symlinks_under_gitops_fail_validation(gitops_repo):
    (gitops_repo.root / "gitops/models/credit-risk/overlays/dev/extra.yaml").symlink_to("/etc/hostname")
    result = invoke("validate")
    assert result.exit_code == 1
    assert "extra.yaml: symlinks are not allowed under gitops/" in result.stdout


def test_a_shadow_rollout_mirrors_without_serving(gitops_repo, demo_versions):
    client = mlflow.MlflowClient()
    for environment in ("dev", "staging"):  # what the PR gates of those promotions would have recorded
        client.set_model_version_tag("credit-risk", demo_versions.better, tags.gate(environment), "passed")
    gitops_repo.merge(_promote(gitops_repo, "--version", demo_versions.better, "--to", "dev"))
    gitops_repo.merge(_promote(gitops_repo, "--from", "dev"))
    gitops_repo.merge(_promote(gitops_repo, "--from", "staging"))
    shadow = invoke("rollout", "shadow", "credit-risk", "20", "--env", "prod")
    assert shadow.exit_code == 0, shadow.output
    gitops_repo.merge(_last_branch(shadow.stdout))
    state = gitops_repo.state("prod")
    assert (state.traffic.stable, state.traffic.candidate, state.traffic.mirror) == (100, 0, 20)
    assert invoke("validate").exit_code == 0
