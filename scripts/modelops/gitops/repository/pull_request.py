"""Turning a promotion branch into a pull request: with `gh` where it is authenticated, else instructions."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass

from modelops.errors import InputError
from modelops.gitops.repository.gitrepo import Repo


@dataclass(frozen=True)
class Proposal:
    branch: str
    commit: str
    base_branch: str
    title: str
    body: str
    changed: tuple[str, ...]


def gh_ready() -> bool:
    if shutil.which("gh") is None:
        return False
    try:
        return subprocess.run(["gh", "auth", "status"], capture_output=True, timeout=15).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def manual_steps(proposal: Proposal) -> list[str]:
    """Shell commands, one a line, that push the branch and open its PR with the commit's body."""
    branch, base, title = (shlex.quote(s) for s in (proposal.branch, proposal.base_branch, proposal.title))
    return [
        f"git push -u origin {branch}",
        f"git log -1 --format=%b {branch} | gh pr create --base {base} --head {branch} --title {title} "
        "--body-file -",
    ]


@dataclass(frozen=True)
class Opening:
    """What became of a proposal's pull request: its URL, or the commands left to run by hand."""

    url: str | None = None
    by_hand: tuple[str, ...] = ()
    # Why gh could not finish; None when gh is simply not set up here, which is no failure.
    failure: str | None = None


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def open_pull_request(repo: Repo, proposal: Proposal) -> Opening:
    """Push the branch and open its pull request with `gh`; where that cannot be done, or fails
    halfway, the exact commands that finish it."""
    steps = tuple(manual_steps(proposal))
    if not gh_ready():
        return Opening(by_hand=steps)
    try:
        repo.git("push", "-u", "origin", proposal.branch)
    except InputError as error:
        return Opening(
            by_hand=steps,
            failure=f"{proposal.branch} is committed here, but {error}; "
            "run the commands above to push it and open its pull request",
        )
    command = ["gh", "pr", "create", "--base", proposal.base_branch, "--head", proposal.branch]
    command += ["--title", proposal.title, "--body", proposal.body]
    try:
        done = subprocess.run(command, cwd=repo.root, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        reason = str(error)
    else:
        if done.returncode == 0:
            return Opening(url=done.stdout.strip())
        reason = _one_line(done.stderr or done.stdout) or f"exit code {done.returncode}"
    # The push is done: only the pull request is left.
    return Opening(
        by_hand=steps[1:],
        failure=f"{proposal.branch} is pushed, but gh pr create failed: {reason}; "
        "run the command above to open its pull request",
    )
