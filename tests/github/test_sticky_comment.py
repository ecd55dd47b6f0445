"""The promotion gate's sticky comment: one per check, ours only, edited rather than appended."""

from __future__ import annotations

import json

from modelops.github import sticky_comment
from modelops.github.sticky_comment import BOT_LOGIN, MAX_BODY_CHARS, comment_to_edit, compose, marker


def test_the_body_starts_with_the_checks_marker_and_links_the_run():
    body = compose("promotion-gate", "## Gate: PASSED\n", run_url="https://example.org/run/7")
    assert body.splitlines()[0] == marker("promotion-gate")
    assert "## Gate: PASSED" in body
    assert body.rstrip().endswith("(https://example.org/run/7)")


def test_a_report_too_long_for_a_comment_is_cut_at_a_line_with_a_notice():
    report = "\n".join(f"| row {i} | {'x' * 80} |" for i in range(2_000))
    body = compose("promotion-gate", report)
    assert len(body) <= MAX_BODY_CHARS
    assert "job summary has all of it" in body
    kept = body.split("\n")[1:-3]
    assert all(line.endswith("|") for line in kept if line.startswith("| row"))


def test_only_the_bots_comment_for_the_same_check_is_edited():
    comments = [
        {"id": 1, "user": "octocat", "body": marker("promotion-gate") + "\nplanted by a person"},
        {"id": 2, "user": BOT_LOGIN, "body": marker("infra-preview") + "\nanother check"},
        {"id": 3, "user": BOT_LOGIN, "body": marker("promotion-gate") + "\nearlier run"},
    ]
    assert comment_to_edit(comments, "promotion-gate") == 3
    assert comment_to_edit(comments, "policy") is None
    assert comment_to_edit([], "promotion-gate") is None


def test_the_first_run_creates_the_comment_and_later_runs_edit_it(recording_gh, tmp_path):
    listing, recorded = recording_gh
    report = tmp_path / "report.md"
    report.write_text("## Gate: BLOCKED\n")
    args = [
        "--repository",
        "org/repo",
        "--pull-request",
        "12",
        "--key",
        "promotion-gate",
        "--report",
        str(report),
    ]

    assert sticky_comment.main(args) == 0
    create = recorded()[-1]
    assert create["args"][:4] == ["api", "--method", "POST", "repos/org/repo/issues/12/comments"]
    assert json.loads(create["stdin"])["body"].startswith(marker("promotion-gate"))

    listing.write_text(
        json.dumps({"id": 99, "user": BOT_LOGIN, "body": json.loads(create["stdin"])["body"]}) + "\n"
    )
    assert sticky_comment.main(args) == 0
    edit = recorded()[-1]
    assert edit["args"][:4] == ["api", "--method", "PATCH", "repos/org/repo/issues/comments/99"]
    assert len([c for c in recorded() if "POST" in c["args"]]) == 1


def test_a_missing_report_exits_2_naming_the_file(tmp_path, capsys):
    missing = tmp_path / "nowhere.md"
    code = sticky_comment.main(
        ["--repository", "o/r", "--pull-request", "1", "--key", "k", "--report", str(missing)]
    )
    assert code == 2
    assert str(missing) in capsys.readouterr().err
