"""`modelops rightsize` end to end: its exit codes and what it prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelops.errors import EXIT_GATE_FAILED, EXIT_INPUT_ERROR, EXIT_PASSED
from tests.cli_runner import invoke
from tests.rightsizing.conftest import git
from tests.rightsizing.test_proposal import MODEL


def test_a_recommendation_is_committed_on_a_branch_with_the_steps_to_open_its_pull_request(
    platform: Path, prometheus_history
) -> None:
    base, _ = prometheus_history
    result = invoke("rightsize", MODEL, "--env", "prod", "--prometheus", base)
    assert result.exit_code == EXIT_PASSED, result.output
    assert "credit-risk in prod" in result.output
    assert "requests.cpu" in result.output and "116m" in result.output
    assert "git push -u origin rightsize/credit-risk/prod/cpu-116m-memory-380Mi" in result.output
    assert git(platform, "branch", "--list", "rightsize/*").strip()


def test_too_little_history_exits_1_saying_how_much(platform: Path, prometheus_history) -> None:
    base, _ = prometheus_history
    result = invoke("rightsize", MODEL, "--env", "prod", "--prometheus", base, "--window", "2d")
    assert result.exit_code == EXIT_GATE_FAILED, result.output
    assert "refused" in result.output and "2.0 days" in result.output and "needs 7 days" in result.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--env", "nowhere", "--prometheus", "http://127.0.0.1:9"), "no such environment 'nowhere'"),
        (("--env", "prod", "--prometheus", "http://127.0.0.1:9"), "Prometheus at http://127.0.0.1:9"),
        (("--env", "prod", "--prometheus", "http://127.0.0.1:9", "--window", "two weeks"), "--window"),
    ],
)
def test_unusable_input_exits_2_in_one_line(platform: Path, args: tuple[str, ...], says: str) -> None:
    result = invoke("rightsize", MODEL, *args)
    assert result.exit_code == EXIT_INPUT_ERROR, result.output
    assert says in result.output
    assert "Traceback" not in result.output
