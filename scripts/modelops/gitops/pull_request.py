"""Turning a promotion branch into a pull request: with `gh` where it is authenticated, else instructions."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass

from modelops.gitops.gitrepo import Repo


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


def open_pull_request(repo: Repo, proposal: Proposal) -> str:
    """The PR's URL, or the exact commands to run where `gh` is missing or not logged in."""
    if not gh_ready():
        return "gh is not available or not authenticated; to open the pull request run:\n  " + "\n  ".join(
            manual_steps(proposal)
        )
    repo.git("push", "-u", "origin", proposal.branch)
    done = subprocess.run(
        [
            "gh",
            "pr",
            "create",
            "--base",
            proposal.base_branch,
            "--head",
            proposal.branch,
            "--title",
            proposal.title,
            "--body",
            proposal.body,
        ],
        cwd=repo.root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        return f"pushed {proposal.branch}; gh pr create failed: {done.stderr.strip()}"
    return done.stdout.strip()
