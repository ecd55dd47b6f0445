"""What a release command does with `gh`: opens the pull request, or says how to finish by hand.

gh is stood in for by a script on PATH (GitHub is not reachable here); git pushes to a real bare
repository.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.cli_runner import invoke

pytestmark = pytest.mark.slow

URL = "https://github.com/example-org/modelops-platform/pull/9"


def _stand_in_gh(folder: Path, *, create_fails: bool) -> Path:
    """A logged-in gh whose `pr create` prints a URL, or fails as GitHub's API can."""
    calls = folder / "gh-calls.jsonl"
    script = folder / "gh"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys\n"
        f"open({str(calls)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "if sys.argv[1:3] == ['pr', 'create']:\n"
        + (
            "    sys.exit('GraphQL: Resource not accessible by integration (createPullRequest)\\nHTTP 403')\n"
            if create_fails
            else f"    print({URL!r})\n"
        )
        + "elif sys.argv[1:3] != ['auth', 'status']:\n"
        "    sys.exit('not stood in for')\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return calls


@pytest.fixture()
def remote(gitops_repo, tmp_path: Path) -> Path:
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
    gitops_repo.git("remote", "add", "origin", str(bare))
    return bare


def _with_gh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, create_fails: bool) -> Path:
    folder = tmp_path / "gh-bin"
    folder.mkdir()
    calls = _stand_in_gh(folder, create_fails=create_fails)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return calls


def _pushed(bare: Path, branch: str) -> bool:
    done = subprocess.run(
        ["git", "-C", str(bare), "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def _promote(demo_versions):
    return invoke("promote", "credit-risk", "--version", demo_versions.better, "--to", "dev")


def _branch(output: str) -> str:
    return next(line.split()[1] for line in output.splitlines() if line.startswith("branch "))


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def test_gh_opens_the_pull_request(gitops_repo, remote, demo_versions, tmp_path, monkeypatch):
    calls = _with_gh(monkeypatch, tmp_path, create_fails=False)
    result = _promote(demo_versions)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == URL
    assert _pushed(remote, _branch(result.stdout))
    assert [json.loads(line) for line in calls.read_text().splitlines()][-1][:2] == ["pr", "create"]


def test_a_failed_gh_pr_create_after_the_push_fails_and_says_how_to_finish(
    gitops_repo, remote, demo_versions, tmp_path, monkeypatch
):
    _with_gh(monkeypatch, tmp_path, create_fails=True)
    result = _promote(demo_versions)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    branch = _branch(result.stdout)
    assert _pushed(remote, branch)
    assert _error_lines(result.output) == [
        f"error: {branch} is pushed, but gh pr create failed: GraphQL: Resource not accessible by "
        "integration (createPullRequest); HTTP 403; run the command above to open its pull request"
    ]
    lines = result.stdout.splitlines()
    [command] = lines[lines.index("to open the pull request run:") + 1 :]
    assert command.strip().startswith(f"git log -1 --format=%b {branch} | gh pr create --base main")

    # Run by hand once gh works again, the printed command opens the pull request.
    (tmp_path / "later").mkdir()
    calls = _with_gh(monkeypatch, tmp_path / "later", create_fails=False)
    done = subprocess.run(["bash", "-e", "-c", command], cwd=gitops_repo.root, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == URL, done.stderr
    [created] = [json.loads(line) for line in calls.read_text().splitlines()]
    assert created[created.index("--head") + 1] == branch


def test_a_failed_push_leaves_the_branch_and_both_commands(gitops_repo, demo_versions, tmp_path, monkeypatch):
    _with_gh(monkeypatch, tmp_path, create_fails=False)  # but no remote named origin
    result = _promote(demo_versions)
    assert result.exit_code == 2, result.output
    branch = _branch(result.stdout)
    [error] = _error_lines(result.output)
    assert error == (
        f"error: {branch} is committed here, but git push -u: fatal: 'origin' does not appear to be a git "
        "repository; run the commands above to push it and open its pull request"
    )
    lines = result.stdout.splitlines()
    commands = [line.strip() for line in lines[lines.index("to open the pull request run:") + 1 :]]
    assert commands[0] == f"git push -u origin {branch}" and "gh pr create" in commands[1]
    assert branch in gitops_repo.branches()
