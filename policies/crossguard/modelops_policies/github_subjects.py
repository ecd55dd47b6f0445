"""The OIDC `sub` claims GitHub issues to this repository's jobs, as the roles' trust must name them.

`python -m modelops.github.repository_settings` makes GitHub build `sub` from `repo`, `context` and
`job_workflow_ref`: `repo:ORG/REPO:<context>:job_workflow_ref:ORG/REPO/.github/workflows/<file>@<ref>`.
AWS reads no GitHub claim but `sub` and `aud` in a trust policy (a condition on the
`job_workflow_ref` key is never met, so such a role could not be assumed), so the workflow file and
its ref are pinned through `sub`.

Exact values only, with one exception: a job triggered by `pull_request` runs the pull request's
merge ref, `refs/pull/<number>/merge`, so its subject can only be matched with `StringLike` and `*`
in place of the number. Nothing else may be a wildcard.
"""

from __future__ import annotations

import re

GITHUB_ISSUER = "token.actions.githubusercontent.com"
PULL_REQUEST_REF = "refs/pull/*/merge"
MAIN_REF = "refs/heads/main"
SUBJECT = re.compile(
    r"^repo:(?P<repository>[\w.-]+/[\w.-]+):(?P<context>pull_request|environment:[\w.-]+|ref:refs/heads/main)"
    r":job_workflow_ref:(?P<workflow_repository>[\w.-]+/[\w.-]+)/\.github/workflows/(?P<file>[\w.-]+\.ya?ml)"
    r"@(?P<ref>[\w./*-]+)$"
)


def subject_problem(value: str, *, pattern: bool) -> str | None:
    """Why `value` is not a subject this repository's roles may trust, or None.

    `pattern`: the value sits under `StringLike` (its `*` and `?` match) rather than `StringEquals`.
    """
    match = SUBJECT.match(value)
    if match is None:
        form = "repo:ORG/REPO:<context>:job_workflow_ref:ORG/REPO/.github/workflows/<file>@<ref>"
        return f"sub {value!r} is not {form}"
    if match["workflow_repository"] != match["repository"]:
        return f"sub {value!r} trusts another repository's workflow file"
    ref = match["ref"]
    if ref == PULL_REQUEST_REF:
        if match["context"] != "pull_request" or not pattern:
            return f"sub {value!r}: {PULL_REQUEST_REF} only for pull_request jobs, matched with StringLike"
        return None
    if "*" in value or "?" in value:
        return f"sub {value!r} has a wildcard other than the pull request's number"
    if match["context"] != "pull_request" and ref != MAIN_REF:
        return f"sub {value!r}: a role that acts on main trusts workflow files at {MAIN_REF} only"
    if pattern:
        return f"sub {value!r} is exact: match it with StringEquals"
    return None


def is_pull_request_pattern(value: str) -> bool:
    return subject_problem(value, pattern=True) is None and value.endswith(f"@{PULL_REQUEST_REF}")
