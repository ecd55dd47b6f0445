"""The OIDC `sub` claims GitHub issues to this repository's jobs, as the roles' trust must name them.

`python -m modelops.github.repository_settings` makes GitHub build `sub` from `repo`, `context` and
`job_workflow_ref`: `repo:ORG/REPO:<context>:job_workflow_ref:ORG/REPO/.github/workflows/<file>@<ref>`.
AWS reads no GitHub claim but `sub` and `aud` in a trust policy (a condition on the
`job_workflow_ref` key is never met, so such a role could not be assumed), so the workflow file and
its ref are pinned through `sub`.

What each context may be trusted at, and no more (what the roles of infra/ ci_access.py need):
- `environment:<name>` and `ref:refs/heads/main`: workflow files at `refs/heads/main`, exactly;
- `pull_request`: at `refs/heads/main` exactly, which only `pull_request_target` issues (main's file;
  the pull request is data). A `pull_request` job at its merge ref runs the pull request's own copy
  of the file, and a `pull_request_target` job for another base, were GitHub to run that base's
  file, another branch's: neither is reviewed;
- `environment:infra-preview`, the reviewed previews' environment: at the pull request's merge ref
  only, `refs/pull/<number>/merge`, matched with `StringLike` and `*` in place of the number. That
  context is issued only once a required reviewer approved the run. Nothing else may be a wildcard.
"""

from __future__ import annotations

import re

GITHUB_ISSUER = "token.actions.githubusercontent.com"
PULL_REQUEST_REF = "refs/pull/*/merge"
MAIN_REF = "refs/heads/main"
# infra/: modelops.github.repository_settings.PREVIEW_ENVIRONMENT (the pack runs on its own).
PREVIEW_ENVIRONMENT = "infra-preview"
PREVIEW_CONTEXT = f"environment:{PREVIEW_ENVIRONMENT}"
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
    ref, context = match["ref"], match["context"]
    if ref == PULL_REQUEST_REF:
        if context != PREVIEW_CONTEXT or not pattern:
            return (
                f"sub {value!r}: {PULL_REQUEST_REF} only in {PREVIEW_CONTEXT} (reviewed runs), "
                "matched with StringLike"
            )
        return None
    if "*" in value or "?" in value:
        return f"sub {value!r} has a wildcard other than the pull request's number"
    if context == PREVIEW_CONTEXT:
        return f"sub {value!r}: {PREVIEW_CONTEXT} only at {PULL_REQUEST_REF}"
    if ref != MAIN_REF:
        if context == "pull_request":
            return f"sub {value!r}: pull_request jobs at {MAIN_REF} only (pull_request_target, main's file)"
        return f"sub {value!r}: a role that acts on main trusts workflow files at {MAIN_REF} only"
    if pattern:
        return f"sub {value!r} is exact: match it with StringEquals"
    return None


def is_pull_request_pattern(value: str) -> bool:
    return subject_problem(value, pattern=True) is None and value.endswith(f"@{PULL_REQUEST_REF}")
