"""From a verdict to its pull request: step, complete or abort, with the evidence in the body.

The move itself is `promotion.rollout`, the one every `modelops rollout step|complete|abort` makes;
this adds the evidence, asks for auto-merge where the environment's policy allows it, and ties the
proposal's commit to the analysis record.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from modelops.config.environment import Environment
from modelops.gitops.releases import promotion
from modelops.gitops.repository.gitrepo import Repo
from modelops.gitops.repository.pull_request import Opening, Proposal, gh_ready, open_pull_request
from modelops.rollouts.analysis import finite
from modelops.rollouts.analysis_run import Analysis
from modelops.rollouts.records import set_proposed_commit

MOVES = ("step", "complete", "abort")
GH_TIMEOUT_S = 60


def _cell(value: float | str) -> str:
    if isinstance(value, str):
        return value.replace("|", "\\|").replace("\n", " ")
    return f"{value:.4g}" if finite(value) else "-"


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def evidence_markdown(analysis: Analysis) -> str:
    """The verdict, its window and every check, as the pull request shows them."""
    verdict, window = analysis.verdict, analysis.window
    lines = [
        f"### Canary analysis: {verdict.decision}",
        "",
        *(f"- {_cell(reason)}" for reason in verdict.reasons),
        f"- window: {_when(window.start)} to {_when(window.end)} ({window.seconds / 60:.0f} min of the "
        f"{window.candidate_percent}% step, which began {_when(window.step_start)})",
        f"- rollout record: `{analysis.record_id or 'not recorded'}`",
        "",
        "| check | candidate | stable | limit | outcome |",
        "|---|---|---|---|---|",
    ]
    for check in verdict.checks:
        outcome = f"{check.outcome}: {check.detail}" if check.detail else check.outcome
        lines.append(
            f"| {_cell(check.name)} | {_cell(check.candidate)} | {_cell(check.stable)} | "
            f"{_cell(check.limit)} | {_cell(outcome)} |"
        )
    return "\n".join(lines)


def may_merge_itself(decision: str, environment: Environment) -> bool:
    """Whether the policy lets this move's pull request merge without review.

    A passing step merges itself where `auto_merge_steps` says so, and so does an abort (putting all
    traffic back on stable is never the riskier move); a complete only where `auto_merge_complete` says so.
    """
    policy = environment.gitops.rollout.analysis
    if policy is None or decision not in MOVES:
        return False
    return policy.auto_merge_complete if decision == "complete" else policy.auto_merge_steps


def open_proposal_branch(repo: Repo, analysis: Analysis) -> str | None:
    """A branch already proposing a move of this very rollout (one open move at a time), if any."""
    rollout = analysis.rollout
    prefix = f"rollout/{rollout.model}/{rollout.environment}/"
    suffix = f"-v{rollout.candidate_version}"
    return next((b for b in repo.branches() if b.startswith(prefix) and b.endswith(suffix)), None)


@dataclass(frozen=True)
class Advanced:
    analysis: Analysis
    proposal: Proposal | None = None
    opening: Opening | None = None
    auto_merge: str = ""  # what became of the auto-merge request ('' when none was made)
    note: str = ""


def _request_auto_merge(repo: Repo, url: str) -> str:
    try:
        done = subprocess.run(
            ["gh", "pr", "merge", "--auto", "--squash", url],
            cwd=repo.root,
            capture_output=True,
            text=True,
            timeout=GH_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"auto-merge not set: {error}"
    if done.returncode != 0:
        return f"auto-merge not set: {(done.stderr or done.stdout).strip().splitlines()[0:1]}"
    return "auto-merge set"


def advance(repo: Repo, root: Path, analysis: Analysis, *, environment: Environment) -> Advanced:
    """Propose the move the verdict calls for (none for 'wait'), and open its pull request."""
    decision = analysis.verdict.decision
    if decision not in MOVES:
        return Advanced(analysis, note="waiting: no pull request")
    if branch := open_proposal_branch(repo, analysis):
        return Advanced(analysis, note=f"{branch} already proposes a move of this rollout; not another")
    proposal = promotion.rollout(
        repo,
        root,
        model=analysis.rollout.model,
        environment=analysis.rollout.environment,
        action=decision,
        evidence=evidence_markdown(analysis),
    )
    if analysis.record_id:
        set_proposed_commit(analysis.record_id, proposal.commit)
    opening = open_pull_request(repo, proposal)
    auto = ""
    if opening.url and may_merge_itself(decision, environment) and gh_ready():
        auto = _request_auto_merge(repo, opening.url)
    elif may_merge_itself(decision, environment):
        auto = "auto-merge allowed by the policy, requested once the pull request is open"
    return Advanced(analysis, proposal, opening, auto)
