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


def trigger_problems(workflow: dict[str, Any]) -> list[str]:
    triggers = workflow.get("on", {})
    names = [triggers] if isinstance(triggers, str) else list(triggers)
    return [
        f"trigger {name} runs untrusted code with a write token"
        for name in names
        if name in ("pull_request_target", "workflow_run")
    ]


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
        *trigger_problems(workflow),
        *stored_key_problems(text),
        *secret_environment_problems(workflow),
    ]
