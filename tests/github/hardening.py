"""The hardening rules every workflow must meet, as functions returning the problems they find.

Kept apart from the tests so that each rule is shown to catch a bad workflow as well as to pass
the real ones: a rule that cannot fail would prove nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

PINNED_USES = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v\d+(\.\d+)*\b")
# Values an attacker controls (titles, branch names, inputs) must reach a script through env:.
UNTRUSTED = ("github.event.", "inputs.", "github.head_ref")
STORED_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "aws-access-key-id", "aws-secret-access-key")


def steps(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_name, job in workflow.get("jobs", {}).items():
        for step in job.get("steps", []):
            yield job_name, step


def permission_problems(workflow: dict[str, Any], text: str) -> list[str]:
    problems = []
    top = workflow.get("permissions")
    if top is None:
        problems.append("no top-level permissions (GitHub would grant the repository's default)")
    elif top != {} and not (isinstance(top, dict) and set(top.values()) <= {"read", "none"}):
        problems.append(f"top-level permissions are not {{}} or read-only: {top}")
    for job_name, job in workflow.get("jobs", {}).items():
        if "permissions" not in job:
            problems.append(f"job {job_name}: no permissions of its own")
        elif job["permissions"] in ("write-all", "read-all"):
            problems.append(f"job {job_name}: permissions {job['permissions']}")
    # Each permission a job raises carries a comment saying why.
    lines = text.splitlines()
    for index, line in enumerate(lines):
        block = re.match(r"^(\s+)permissions:\s*$", line)
        if not block:
            continue
        for number, inner in enumerate(lines[index + 1 :], start=index + 2):
            if len(inner) - len(inner.lstrip()) <= len(block.group(1)) or not inner.strip():
                break
            if "#" not in inner or not inner.split("#", 1)[1].strip():
                problems.append(f"line {number}: permission without a comment: {inner.strip()}")
    return problems


def pinning_problems(workflow: dict[str, Any], text: str) -> list[str]:
    problems = []
    uses = [step["uses"] for _, step in steps(workflow) if "uses" in step]
    uses += [job["uses"] for job in workflow.get("jobs", {}).values() if "uses" in job]
    for reference in uses:
        if reference.startswith("./"):
            continue  # this repository's own, reviewed with it
        if not PINNED_USES.match(reference):
            problems.append(f"{reference}: not pinned to a full commit SHA")
            continue
        line = next((line for line in text.splitlines() if reference in line), "")
        if not VERSION_COMMENT.search(line.split(reference, 1)[1]):
            problems.append(f"{reference}: no version comment (# vX.Y.Z)")
    return problems


def checkout_problems(workflow: dict[str, Any]) -> list[str]:
    return [
        f"job {job_name}: checkout keeps the token in .git/config (set persist-credentials: false)"
        for job_name, step in steps(workflow)
        if str(step.get("uses", "")).startswith("actions/checkout@")
        and (step.get("with") or {}).get("persist-credentials") is not False
    ]


def injection_problems(workflow: dict[str, Any]) -> list[str]:
    problems = []
    for job_name, step in steps(workflow):
        for expression in re.findall(r"\$\{\{(.*?)\}\}", str(step.get("run", ""))):
            if any(marker in expression for marker in UNTRUSTED):
                problems.append(
                    f"job {job_name}: untrusted ${{{{{expression}}}}} inside run: (pass it through env:)"
                )
    return problems


def trigger_problems(workflow: dict[str, Any], text: str = "") -> list[str]:
    """`workflow_run` never; `pull_request_target` only where the pull request is data.

    `pull_request_target` runs the base branch's workflow with the base's token and OIDC, which is
    what lets a required check run reviewed code on a runner inside the network (promotion-gate.yml).
    It is accepted only with zizmor's suppression saying why on the trigger's line, and when no
    step runs anything the pull request chose (`pull_request_data_problems`).
    """
    triggers = workflow.get("on", {})
    names = [triggers] if isinstance(triggers, str) else list(triggers)
    problems = [
        f"trigger {name} runs untrusted code with a write token" for name in names if name == "workflow_run"
    ]
    if "pull_request_target" in names:
        justified = re.search(
            r"^\s*pull_request_target:.*#\s*zizmor: ignore\[dangerous-triggers\]\s*\S", text, re.M
        )
        if not justified:
            problems.append("trigger pull_request_target runs untrusted code with a write token")
        problems += pull_request_data_problems(workflow)
    return problems


# What refers to the pull request's own commits (never the base's).
PULL_REQUEST_REFS = ("pull_request.head.", "github.head_ref", "merge_commit_sha", "refs/pull/")
# Commands a step may run inside the pull request's checkout: the base's installed gate, and nothing
# that reads a script, Makefile or lock file from there.
READ_ONLY_COMMANDS = frozenset({"modelops", "mkdir", "tee", "cat", "echo"})


def _commands(run: str) -> list[str]:
    """The first word of each command of a bash script, past `NAME=value` prefixes."""
    words = []
    for part in re.split(r"\n|\|\||&&|\||;", run.replace("\\\n", " ")):
        tokens = [t for t in part.split() if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", t)]
        if tokens and not tokens[0].startswith(("#", "2>&1", ">")):
            words.append(tokens[0])
    return words


def pull_request_data_problems(workflow: dict[str, Any]) -> list[str]:
    """Under `pull_request_target`: the pull request is checked out into a folder of its own, and
    nothing runs from it but READ_ONLY_COMMANDS."""
    problems = []
    for job_name, job in workflow.get("jobs", {}).items():
        folders = []
        for step in job.get("steps", []):
            given = step.get("with") or {}
            if str(step.get("uses", "")).startswith("actions/checkout@") and any(
                marker in str(given.get("ref", "")) for marker in PULL_REQUEST_REFS
            ):
                if not given.get("path"):
                    problems.append(f"job {job_name}: checks the pull request out over the workspace")
                else:
                    folders.append(str(given["path"]).strip("./"))
        for step in job.get("steps", []):
            name = step.get("name", step.get("id", step.get("uses", "?")))
            uses = str(step.get("uses", ""))
            if any(uses.startswith(f"./{folder}") for folder in folders):
                problems.append(f"job {job_name}: step {name} uses an action from the pull request")
            if "run" not in step:
                continue
            inside = str(step.get("working-directory", "")).strip("./") in folders
            if inside:
                others = sorted(set(_commands(step["run"])) - READ_ONLY_COMMANDS)
                if others:
                    problems.append(
                        f"job {job_name}: step {name} runs {others} in the pull request's checkout"
                    )
            elif any(re.search(rf"(^|[\s/\"']){re.escape(f)}(/|\s|$)", step["run"]) for f in folders):
                problems.append(f"job {job_name}: step {name} reads the pull request's checkout")
    return problems


# GitHub's hosted images; any other label is a self-hosted runner (ours: modelops-<stack>, ARC scale sets).
HOSTED_LABEL = re.compile(r"^(ubuntu|windows|macos)-[\w.-]+$")
# Triggers whose workflow file is main's: schedule and repository_dispatch run the default branch,
# pull_request_target the base's; push and workflow_dispatch only where a rule below holds.
MAIN_TRIGGERS = frozenset(
    {"schedule", "repository_dispatch", "pull_request_target", "push", "workflow_dispatch"}
)


def runner_labels(job: dict[str, Any]) -> set[str]:
    """The labels a job may ask for, `${{ matrix.<key> }}` expanded over the job's literal matrix.

    A label still holding an expression is returned as written: nobody can tell where it runs.
    """
    runs_on = job.get("runs-on", "")
    labels = runs_on.get("labels", []) if isinstance(runs_on, dict) else runs_on
    labels = [labels] if isinstance(labels, str) else list(labels)
    if isinstance(runs_on, dict) and runs_on.get("group"):
        labels.append(str(runs_on["group"]))
    matrix = (job.get("strategy") or {}).get("matrix") or {}
    found: set[str] = set()
    for label in labels:
        key = re.fullmatch(r"(.*)\$\{\{\s*matrix\.(\w+)\s*\}\}(.*)", label)
        values = matrix.get(key.group(2)) if key and isinstance(matrix, dict) else None
        if key and isinstance(values, list):
            found |= {f"{key.group(1)}{value}{key.group(3)}" for value in values}
        else:
            found.add(label)
    return found


def self_hosted_labels(job: dict[str, Any]) -> set[str]:
    return {label for label in runner_labels(job) if not HOSTED_LABEL.match(label)}


def self_hosted_problems(workflow: dict[str, Any]) -> list[str]:
    """A self-hosted runner (inside a VPC) runs only main's workflows: never one a pull request or a
    branch wrote. The runner group enforces it at GitHub; this says the same of the files."""
    triggers = workflow.get("on", {})
    names = {triggers} if isinstance(triggers, str) else set(triggers)
    problems = []
    for job_name, job in workflow.get("jobs", {}).items():
        labels = self_hosted_labels(job)
        if not labels:
            continue
        problems += [
            f"job {job_name}: runner label {label} is an expression" for label in labels if "${{" in label
        ]
        for trigger in sorted(names - MAIN_TRIGGERS):
            problems.append(
                f"job {job_name}: self-hosted {sorted(labels)} under {trigger}, a workflow any branch writes"
            )
        push = triggers.get("push") if isinstance(triggers, dict) else None
        if "push" in names and ((push or {}).get("branches") != ["main"] or (push or {}).get("tags")):
            problems.append(f"job {job_name}: self-hosted on push to a branch other than main")
        if "workflow_dispatch" in names and not job.get("environment"):
            problems.append(
                f"job {job_name}: self-hosted on workflow_dispatch (any branch) outside an environment"
            )
    return problems


def stored_key_problems(text: str) -> list[str]:
    return [f"mentions {key}: use OIDC roles, never stored keys" for key in STORED_KEYS if key in text]


def secret_environment_problems(workflow: dict[str, Any]) -> list[str]:
    """A job that reads a stored secret runs in a GitHub environment, whose branch rules guard it.

    A repository secret reaches every workflow on every branch that can run one; an environment's
    secret reaches only the jobs its deployment branches (main) and reviewers let through.
    """
    problems = []
    for job_name, job in workflow.get("jobs", {}).items():
        used = sorted(set(re.findall(r"secrets\.(\w+)", str(job))) - {"GITHUB_TOKEN"})
        if used and not job.get("environment"):
            problems.append(f"job {job_name}: reads secrets {used} outside an environment")
    return problems


def all_problems(workflow: dict[str, Any], text: str) -> list[str]:
    return [
        *permission_problems(workflow, text),
        *pinning_problems(workflow, text),
        *checkout_problems(workflow),
        *injection_problems(workflow),
        *trigger_problems(workflow, text),
        *self_hosted_problems(workflow),
        *stored_key_problems(text),
        *secret_environment_problems(workflow),
    ]
