"""What the release commands say to input they cannot use, and what they print for people to run.

Each unusable input exits 2 with one line naming what is at fault, and nothing is left behind.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import mlflow
import pytest

from tests.cli_runner import invoke

pytestmark = pytest.mark.slow


def _refused(result, *expected: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    for text in expected:
        assert text in errors[0], errors[0]


def test_status_outside_a_repository_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELOPS_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    _refused(invoke("status", "--no-gates"), f"{tmp_path}/gitops/models: no such folder")


def test_validate_outside_a_repository_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELOPS_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    _refused(invoke("validate"), f"{tmp_path}/gitops: no such folder")


def test_status_of_an_unknown_model_is_refused(gitops_repo) -> None:
    _refused(invoke("status", "nosuch", "--no-gates"), "no model 'nosuch'", "known: credit-risk")


def test_status_lists_environments_in_ladder_order(gitops_repo) -> None:
    result = invoke("status", "--no-gates")
    assert result.exit_code == 0, result.output
    rows = [line.split("│")[2].strip() for line in result.stdout.splitlines() if "credit-risk" in line]
    # dev and local both come first (they require nothing), then staging, then prod.
    assert rows == ["dev", "local", "staging", "prod"]


def test_status_says_when_the_registry_does_not_answer(gitops_repo, monkeypatch: pytest.MonkeyPatch) -> None:
    nowhere = "http://127.0.0.1:9"  # nothing listens on port 9
    for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.setenv(variable, nowhere)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    tracking, registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    try:
        result = invoke("status")  # points this process's MLflow at nowhere
    finally:
        mlflow.set_tracking_uri(tracking)
        mlflow.set_registry_uri(registry)
    assert result.exit_code == 0, result.output
    assert "note: the registry could not say every gate" in result.output
    assert "127.0.0.1:9" in result.output


def test_status_marks_an_unknown_version_alone(gitops_repo) -> None:
    release = gitops_repo.root / "gitops/models/credit-risk/overlays/staging/release.yaml"
    text = release.read_text()
    version_line = next(line for line in text.splitlines() if "modelops.io/model-version" in line)
    release.write_text(text.replace(version_line, '    modelops.io/model-version: "999"'))
    result = invoke("status")
    assert result.exit_code == 0, result.output
    gates = {
        line.split("│")[2].strip(): line.split("│")[6].strip()
        for line in result.stdout.splitlines()
        if "credit-risk" in line
    }
    assert gates["staging"] == "?"
    assert "?" not in {gates["dev"], gates["prod"]}  # the registry is still asked for the others
    assert "credit-risk v999" in result.output


def test_a_shadow_share_outside_1_to_100_is_refused(gitops_repo) -> None:
    branches = gitops_repo.branches()
    _refused(
        invoke("rollout", "shadow", "credit-risk", "150", "--env", "prod"),
        "shadow 150: give a percent from 1 to 100",
    )
    assert gitops_repo.branches() == branches


def test_an_unknown_rollout_move_is_a_usage_error(gitops_repo) -> None:
    branches = gitops_repo.branches()
    result = invoke("rollout", "widen", "credit-risk", "--env", "prod")
    assert result.exit_code == 2 and "No such command 'widen'" in result.output, result.output
    assert gitops_repo.branches() == branches


def test_promote_from_an_unknown_environment_is_refused(gitops_repo) -> None:
    _refused(invoke("promote", "credit-risk", "--from", "nosuch"), "no such environment 'nosuch'")


def test_the_pull_request_gate_names_a_revision_that_is_no_commit(gitops_repo, tmp_path: Path) -> None:
    _refused(
        invoke("gate", "--base", "nosuch", "--head", "HEAD", "--out", tmp_path), "nosuch: no such commit"
    )


def test_the_pull_request_gate_takes_no_model_of_its_own(gitops_repo, tmp_path: Path) -> None:
    result = invoke("gate", "--base", "HEAD", "--head", "HEAD", "--model", "credit-risk", "--out", tmp_path)
    _refused(result, "--model does not go with --base and --head")


def test_the_printed_pull_request_commands_run_as_printed(gitops_repo, demo_versions, tmp_path: Path) -> None:
    """Pasted into bash, the commands push the branch and hand gh the title and the commit's body."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    gitops_repo.git("remote", "add", "origin", str(remote))
    result = invoke("promote", "credit-risk", "--version", demo_versions.better, "--to", "dev")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    commands = lines[lines.index(next(line for line in lines if line.endswith("run:"))) + 1 :]
    assert len(commands) == 2, commands  # one line each, however narrow the terminal
    branch = next(line.split()[1] for line in lines if line.startswith("branch "))
    # gh is not installed here: a shell function stands in, printing the arguments it was given.
    script = "gh() { printf '%s\\n' \"$@\"; echo '--- body'; cat; }\n" + "\n".join(
        c.strip() for c in commands
    )
    done = subprocess.run(
        ["bash", "-e", "-c", script], cwd=gitops_repo.root, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    printed, body = done.stdout.split("--- body\n")
    arguments = printed.splitlines()[printed.splitlines().index("pr") :]  # after git push's own line
    assert arguments == [
        "pr", "create", "--base", "main", "--head", branch,
        "--title", f"Promote credit-risk v{demo_versions.better} to dev as stable", "--body-file", "-",
    ]  # fmt: skip
    assert body.strip() == gitops_repo.git("log", "-1", "--format=%b", branch).strip()
    assert subprocess.run(
        ["git", "-C", str(remote), "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
        capture_output=True, check=False,
    ).returncode == 0  # fmt: skip


def test_validate_names_the_overlay_that_is_not_yaml(gitops_repo) -> None:
    overlays = gitops_repo.root / "gitops/models/credit-risk/overlays"
    broken = "spec:\n  predictor: [unclosed\n"
    (overlays / "staging/release.yaml").write_text((overlays / "staging/release.yaml").read_text() + broken)
    # A file of the same name that no environment renders, and that sorts first, is not blamed.
    (overlays / "retired").mkdir()
    (overlays / "retired/release.yaml").write_text(broken)
    # kustomize itself says only "unable to parse SM or JSON patch from [path: ...]".
    _refused(
        invoke("validate"),
        "gitops/models/credit-risk/overlays/staging/release.yaml: not valid YAML (line ",
        "kustomize could not render",
    )


NOT_ENVIRONMENTS = ["../../../../../etc/x", "../overlays/dev", "dev.yaml", "/etc/hostname", "dev/"]


@pytest.mark.parametrize("name", NOT_ENVIRONMENTS)
@pytest.mark.parametrize(
    "command",
    [
        ("promote", "credit-risk", "--version", "1", "--to", "{}"),
        ("promote", "credit-risk", "--from", "{}"),
        ("rollout", "step", "credit-risk", "--env", "{}"),
        ("rollout", "shadow", "credit-risk", "20", "--env", "{}"),
        ("rollback", "credit-risk", "--env", "{}"),
    ],
    ids=["promote --to", "promote --from", "rollout step", "rollout shadow", "rollback"],
)
def test_a_release_command_takes_an_environment_by_name_only(gitops_repo, command, name) -> None:
    branches = gitops_repo.branches()
    result = invoke(*(part.format(name) for part in command))
    _refused(result, f"no such environment '{name}' (known: dev, local, prod, staging)")
    assert gitops_repo.branches() == branches


@pytest.mark.parametrize("name", NOT_ENVIRONMENTS)
def test_the_gate_takes_an_environment_by_name_only(gitops_repo, demo_versions, name, tmp_path: Path) -> None:
    result = invoke(
        "gate", "--model", "credit-risk", "--version", demo_versions.better, "--env", name, "--out", tmp_path
    )
    _refused(result, f"no such environment '{name}' (known: dev, local, prod, staging)")
