"""The images workflow builds the CI runner image on pull requests and pushes it from main.

No Docker engine where the tests run: the steps' scripts run under bash with a `docker` stand-in on
PATH that records its arguments, so what is checked is what the workflow would ask Docker to do (the
base version, the build context, the tag pushed), not the image itself (the workflow's build is that).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from modelops_infra import versions
from tests.conftest import REPO_ROOT
from tests.github.workflow_runner import load_workflow

WORKFLOW = load_workflow(REPO_ROOT / ".github" / "workflows" / "images.yml")
REPOSITORY = "Example-Org/ModelOps-Platform"
# Records each call as a JSON line; `docker run ... id -un` answers as the image's user would.
DOCKER_STAND_IN = """#!/usr/bin/env python3
import json, os, sys
with open(os.environ["DOCKER_CALLS"], "a") as calls:
    calls.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[1:2] == ["run"] and sys.argv[-1] == "-un":
    print(os.environ.get("IMAGE_USER", "runner"))
"""


def _step(job: str, name_part: str) -> dict:
    (step,) = [s for s in WORKFLOW["jobs"][job]["steps"] if name_part in str(s.get("name", ""))]
    return step


def _run(step: dict, tmp_path: Path, *, image_user: str = "runner") -> tuple[int, list[list[str]]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    docker = bin_dir / "docker"
    docker.write_text(DOCKER_STAND_IN)
    docker.chmod(0o755)
    calls = tmp_path / "calls.jsonl"
    calls.write_text("")
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "DOCKER_CALLS": str(calls),
        "IMAGE_USER": image_user,
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "REPOSITORY": REPOSITORY,
        "ACTOR": "someone",
        "TOKEN": "not-a-token",
    }
    done = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", step["run"]], cwd=REPO_ROOT, env=env, timeout=120, check=False
    )
    return done.returncode, [json.loads(line) for line in calls.read_text().splitlines()]


def _builds(calls: list[list[str]], context: str) -> list[list[str]]:
    return [c for c in calls if c[:1] == ["build"] and c[-1] == context]


def test_both_triggers_watch_the_runner_image_and_the_version_it_builds_on():
    for trigger in ("pull_request", "push"):
        paths = WORKFLOW["on"][trigger]["paths"]
        assert "infra/images/**" in paths and "infra/modelops_infra/versions.py" in paths


def test_a_pull_request_builds_the_runner_image_on_the_pinned_runner(tmp_path):
    code, calls = _run(_step("build", "Build"), tmp_path)
    assert code == 0
    (build,) = _builds(calls, "infra/images/ci-runner")
    assert "--pull" in build
    assert build[build.index("--build-arg") + 1] == f"RUNNER_VERSION={versions.RUNNER_VERSION}"
    assert not [c for c in calls if c[:1] in (["push"], ["login"])]  # a pull request pushes nothing


def test_main_pushes_the_tag_the_scale_sets_name(tmp_path):
    code, calls = _run(_step("publish", "CI runner"), tmp_path)
    assert code == 0
    image = versions.ci_runner_image(REPOSITORY)
    (build,) = _builds(calls, "infra/images/ci-runner")
    assert build[build.index("--tag") + 1] == image
    assert build[build.index("--build-arg") + 1] == f"RUNNER_VERSION={versions.RUNNER_VERSION}"
    verbs = [c[0] for c in calls]
    assert verbs == ["build", "run", "login", "push", "logout"]
    assert calls[3] == ["push", image]
    assert "--password-stdin" in calls[2] and "not-a-token" not in json.dumps(calls)
    assert f"pushed {image}" in (tmp_path / "summary.md").read_text()


def test_an_image_that_runs_jobs_as_root_is_not_pushed(tmp_path):
    code, calls = _run(_step("publish", "CI runner"), tmp_path, image_user="root")
    assert code != 0
    assert not [c for c in calls if c[:1] == ["push"]]


def test_the_publish_job_has_the_token_scopes_of_the_other_images_only():
    publish = WORKFLOW["jobs"]["publish"]
    assert publish["permissions"] == {"contents": "read", "packages": "write"}
    step = _step("publish", "CI runner")
    assert step["env"]["TOKEN"] == "${{ github.token }}" and "${{" not in step["run"]
