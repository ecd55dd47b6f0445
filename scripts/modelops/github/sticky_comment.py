"""One pull-request comment per check, edited on every run instead of appended.

Workflows run this file as `python3 scripts/modelops/github/sticky_comment.py` in a job that
holds the only write token (`pull-requests: write`). That job checks out the base branch, never
the pull request, and installs nothing: hence the standard library only, and `gh` for the API.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

# Whose comments may be edited: the workflow's own. Anyone can write a comment holding the marker;
# only ours are ever picked (GitHub would refuse to let the token edit anybody else's anyway).
BOT_LOGIN = "github-actions[bot]"
# GitHub refuses comment bodies longer than 65,536 characters; leave room for the notice.
MAX_BODY_CHARS = 65_000
_GH_TIMEOUT_S = 60


class CommentError(Exception):
    """The comment could not be posted or edited: the job fails with this one line."""


def marker(key: str) -> str:
    """An invisible first line that identifies the check's comment among the others."""
    return f"<!-- modelops:{key} -->"


def compose(key: str, report: str, *, run_url: str = "") -> str:
    """The comment's body: the marker, the report, and a link to the run that produced it."""
    footer = f"\n\n---\n[Workflow run and full reports]({run_url})" if run_url else ""
    room = MAX_BODY_CHARS - len(marker(key)) - len(footer) - 200
    if len(report) > room:
        notice = "\n\n…the report is longer than a comment may be; the job summary has all of it."
        report = report[:room].rsplit("\n", 1)[0] + notice
    return f"{marker(key)}\n{report.rstrip()}{footer}\n"


def comment_to_edit(comments: Iterable[Mapping[str, Any]], key: str, *, bot: str = BOT_LOGIN) -> int | None:
    """The id of the bot's earlier comment for this check, or None when there is none yet."""
    for comment in comments:
        if comment.get("user") == bot and str(comment.get("body", "")).startswith(marker(key)):
            return int(comment["id"])
    return None


# --- talking to GitHub through gh ------------------------------------------------------------------


def _gh(args: list[str], *, stdin: str | None = None) -> str:
    try:
        done = subprocess.run(
            ["gh", *args], input=stdin, capture_output=True, text=True, timeout=_GH_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CommentError(f"gh {args[0]} {args[1] if len(args) > 1 else ''}: {exc}") from exc
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise CommentError(f"gh {' '.join(args[:3])}: {last}")
    return done.stdout


def existing_comments(repository: str, pull_request: int) -> list[dict[str, Any]]:
    # One JSON object per line, across every page of comments.
    listing = _gh(
        [
            "api",
            "--paginate",
            f"repos/{repository}/issues/{pull_request}/comments",
            "--jq",
            ".[] | {id: .id, user: .user.login, body: .body} | tojson",
        ]
    )
    return [json.loads(line) for line in listing.splitlines() if line.strip()]


def post(repository: str, pull_request: int, *, key: str, body: str) -> str:
    """Edit the check's comment if it exists, else create it; returns 'edited' or 'created'."""
    payload = json.dumps({"body": body})
    previous = comment_to_edit(existing_comments(repository, pull_request), key)
    if previous is None:
        _gh(["api", "--method", "POST", f"repos/{repository}/issues/{pull_request}/comments", "--input", "-"],
            stdin=payload)  # fmt: skip
        return "created"
    _gh(["api", "--method", "PATCH", f"repos/{repository}/issues/comments/{previous}", "--input", "-"],
        stdin=payload)  # fmt: skip
    return "edited"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repository", required=True, help="OWNER/REPO")
    parser.add_argument("--pull-request", required=True, type=int)
    parser.add_argument("--key", required=True, help="which check's comment, e.g. promotion-gate")
    parser.add_argument("--report", required=True, type=Path, help="markdown file to post")
    parser.add_argument("--run-url", default="", help="link to the workflow run")
    args = parser.parse_args(argv)
    try:
        report = args.report.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"sticky_comment: {args.report}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        done = post(
            args.repository,
            args.pull_request,
            key=args.key,
            body=compose(args.key, report, run_url=args.run_url),
        )
    except CommentError as exc:
        print(f"sticky_comment: {exc}", file=sys.stderr)
        return 1
    print(f"{done} the {args.key} comment on {args.repository}#{args.pull_request}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
