"""Where each job runs: inside a VPC on a stack's self-hosted scale set, or on GitHub's runners.

Inside: the jobs that need the registry (MLflow answers inside the registry cluster's network only)
or a cluster's API endpoint or in-cluster Prometheus. Everything else, and above all everything
that runs a pull request's code, stays on GitHub-hosted runners.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.github import hardening
from tests.github.workflow_runner import load_workflow

WORKFLOWS = {
    path.stem: load_workflow(path) for path in sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
}
# (workflow, job) -> the self-hosted labels it runs on; every job not listed runs on GitHub's runners.
INSIDE = {
    ("promotion-gate", "gate"): {"modelops-registry"},
    ("record", "record"): {"modelops-registry"},
    ("retrain", "retrain"): {"modelops-registry"},
    ("rollout", "advance"): {"modelops-prod"},  # each canary environment's own cluster (matrix)
    ("infra", "up-registry"): {"modelops-registry"},
    ("infra", "up-dev"): {"modelops-dev"},
    ("infra", "up-staging"): {"modelops-staging"},
    ("infra", "up-prod"): {"modelops-prod"},
}


def test_exactly_the_jobs_that_need_the_network_run_inside_it():
    placed = {
        (name, job_name): hardening.self_hosted_labels(job)
        for name, workflow in WORKFLOWS.items()
        for job_name, job in workflow["jobs"].items()
    }
    assert {key: labels for key, labels in placed.items() if labels} == INSIDE
    for key in placed.keys() - INSIDE.keys():
        assert hardening.runner_labels(WORKFLOWS[key[0]]["jobs"][key[1]]) == {"ubuntu-24.04"}, key


def test_each_deploy_runs_in_its_own_stacks_vpc_and_each_rollout_in_its_environments():
    infra = WORKFLOWS["infra"]["jobs"]
    for stack in ("registry", "dev", "staging", "prod"):
        assert hardening.self_hosted_labels(infra[f"up-{stack}"]) == {f"modelops-{stack}"}
    advance = WORKFLOWS["rollout"]["jobs"]["advance"]
    environments = advance["strategy"]["matrix"]["environment"]
    assert hardening.self_hosted_labels(advance) == {f"modelops-{env}" for env in environments}


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_no_job_a_pull_request_or_a_branch_can_rewrite_runs_inside_a_vpc(name):
    workflow = WORKFLOWS[name]
    assert hardening.self_hosted_problems(workflow) == []
    triggers = set(workflow["on"])
    if "pull_request" in triggers:  # the pull request's own workflow file: every job hosted
        assert not [job for job in workflow["jobs"].values() if hardening.self_hosted_labels(job)]
    if "pull_request_target" in triggers:  # main's file: the pull request is read, never run
        assert hardening.pull_request_data_problems(workflow) == []


def test_the_gate_inside_the_network_runs_only_the_bases_installed_gate_on_the_pull_request():
    gate = WORKFLOWS["promotion-gate"]["jobs"]["gate"]
    inside = [step for step in gate["steps"] if step.get("working-directory") == "pull-request"]
    assert [step["id"] for step in inside] == ["gate"]
    assert set(hardening._commands(inside[0]["run"])) == {"mkdir", "modelops", "tee"}
    assert "id-token" in gate["permissions"] and set(gate["permissions"].values()) == {"read", "write"}
    assert gate["permissions"]["contents"] == "read"  # the token cannot push or comment


# --- each rule catches what it is for ----------------------------------------------------------

_JOB = """
    runs-on: {runs_on}
    timeout-minutes: 5
    permissions:
      contents: read # check out
    steps:
{steps}
"""
_CHECKOUT_BASE = """      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          ref: ${{ github.event.pull_request.base.sha }}
          persist-credentials: false
"""
_CHECKOUT_HEAD = """      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          ref: ${{{{ github.event.pull_request.head.sha }}}}
          persist-credentials: false
{path}
"""


def _workflow(
    tmp_path: Path, on: str, *, runs_on: str = "modelops-registry", steps: str = "      - run: true\n"
):
    text = f"name: bad\non:\n{on}\npermissions: {{}}\njobs:\n  job:\n" + _JOB.format(
        runs_on=runs_on, steps=steps
    )
    path = tmp_path / "bad.yml"
    path.write_text(text)
    return load_workflow(path), text


JUSTIFIED = "  pull_request_target: # zizmor: ignore[dangerous-triggers] main's code only\n"
BAD = [
    ("pull_request on a self-hosted runner", "  pull_request:\n", {}, "under pull_request"),
    ("a push from any branch", "  push:\n", {}, "push to a branch other than main"),
    ("a push to main or a tag", "  push:\n    branches: [main]\n    tags: ['v*']\n", {}, "other than main"),
    ("dispatch from any branch", "  workflow_dispatch:\n", {}, "outside an environment"),
    (
        "a label chosen by an input",
        "  schedule:\n    - cron: '0 0 * * *'\n",
        {"runs_on": "${{ vars.RUNNER }}"},
        "is an expression",
    ),
    ("the self-hosted label", "  pull_request:\n", {"runs_on": "[self-hosted, linux]"}, "under pull_request"),
    ("pull_request_target unexplained", "  pull_request_target:\n", {}, "trigger pull_request_target"),
    (
        "the pull request over the workspace",
        JUSTIFIED,
        {"steps": _CHECKOUT_HEAD.format(path="")},
        "checks the pull request out over the workspace",
    ),
    (
        "make in the pull request's checkout",
        JUSTIFIED,
        {
            "steps": _CHECKOUT_BASE
            + _CHECKOUT_HEAD.format(path="          path: pr")
            + "      - working-directory: pr\n        run: make sync\n"
        },
        "runs ['make']",
    ),
    (
        "a script of the pull request run from the workspace",
        JUSTIFIED,
        {
            "steps": _CHECKOUT_BASE
            + _CHECKOUT_HEAD.format(path="          path: pr")
            + "      - run: bash pr/x.sh\n"
        },
        "reads the pull request's checkout",
    ),
    (
        "an action of the pull request",
        JUSTIFIED,
        {
            "steps": _CHECKOUT_HEAD.format(path="          path: pr")
            + "      - uses: ./pr/.github/actions/x\n"
        },
        "uses an action from the pull request",
    ),
]


@pytest.mark.parametrize(("on", "parts", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_the_rules_catch_a_workflow_that_lets_untrusted_code_inside(tmp_path, on, parts, expected):
    workflow, text = _workflow(tmp_path, on, **parts)
    problems = "\n".join(hardening.all_problems(workflow, text))
    assert expected in problems


def test_main_only_triggers_and_a_pull_request_read_as_data_pass(tmp_path):
    for on in (
        "  push:\n    branches: [main]\n",
        "  schedule:\n    - cron: '0 0 * * *'\n",
        "  repository_dispatch:\n",
    ):
        workflow, _ = _workflow(tmp_path, on)
        assert hardening.self_hosted_problems(workflow) == [], on
    steps = _CHECKOUT_BASE + _CHECKOUT_HEAD.format(path="          path: pr")
    steps += (
        "      - working-directory: pr\n        run: modelops gate --base a --head b 2>&1 | tee out.txt\n"
    )
    workflow, text = _workflow(tmp_path, JUSTIFIED, steps=steps)
    assert hardening.trigger_problems(workflow, text) == []
    assert hardening.self_hosted_problems(workflow) == []
