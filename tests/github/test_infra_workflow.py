"""The infra workflow's own steps on main: which stacks a push deploys, and that none is skipped.

GitHub keeps one pending run per concurrency group and cancels the rest. Here the first of two
pushes never runs (cancelled); the second run must deploy every stack either push touched, and a
stack whose `pulumi up` failed must be deployed again by the next run.

Local equivalents: checkout is a clone of a fixture origin; the install puts this interpreter on
PATH; `pulumi` and `gh` are stand-ins on PATH that record their calls (the `pulumi up` and
tag-moving steps run their own `run:` text). The jobs' `if:` (which up-<stack> jobs run) is read
from the stacks job's output here, as GitHub would.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.github.local_steps import REPOSITORY, assume_role, checkout_from, runner_env
from tests.github.workflow_runner import JobRun, StepContext, WorkflowJob, load_workflow
from tests.gitops.conftest import git, init_repository

INFRA = REPO_ROOT / ".github" / "workflows" / "infra.yml"
STACKS = ["dev", "staging", "prod"]


@pytest.fixture()
def origin(tmp_path: Path) -> Path:
    root = tmp_path / "origin"
    for part in ("environments", "policies"):
        shutil.copytree(REPO_ROOT / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    init_repository(root, "The platform")
    return root


@pytest.fixture()
def pulumi_bin(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in `pulumi` recording each call; it fails while a file named `failing-<stack>` exists."""
    folder = tmp_path / "pulumi-bin"
    folder.mkdir()
    calls = tmp_path / "pulumi-calls.jsonl"
    script = folder / "pulumi"
    script.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        "stack = sys.argv[sys.argv.index('--stack') + 1]\n"
        f"open({str(calls)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"sys.exit(1 if os.path.exists(os.path.join({str(tmp_path)!r}, 'failing-' + stack)) else 0)\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return folder, calls


def _push(origin: Path, path: str, text: str) -> tuple[str, str]:
    before = git(origin, "rev-parse", "main").strip()
    target = origin / path
    target.write_text(target.read_text() + text)
    git(origin, "commit", "--quiet", "-am", f"Change {path}")
    return before, git(origin, "rev-parse", "main").strip()


def _install(step: StepContext) -> None:
    step.path.append(str(Path(sys.executable).parent))


def _pulumi_action(step: StepContext) -> None:
    assert step.inputs["pulumi-version"]


class Runs:
    def __init__(self, origin: Path, tmp_path: Path, bins: list[Path]) -> None:
        self.origin, self.tmp_path, self.count = origin, tmp_path, 0
        env = runner_env()
        env["PATH"] = os.pathsep.join([*map(str, bins), env["PATH"]])
        self.env = env

    def job(self, name: str, *, before: str, sha: str) -> JobRun:
        self.count += 1
        return WorkflowJob(
            load_workflow(INFRA),
            name,
            self.tmp_path / f"run{self.count}-{name}",
            github={
                "event_name": "push",
                "event": {"before": before},
                "sha": sha,
                "repository": REPOSITORY,
                "run_id": str(self.count),
                "token": "job-token",
            },
            variables={
                "PULUMI_BACKEND_URL": "file://state",
                "AWS_REGION": "eu-west-1",
                "DEPLOY_ROLE_ARN": "arn:aws:iam::123456789012:role/ci-deploy",
            },
            actions={
                "actions/checkout": checkout_from(self.origin),
                "pulumi/actions": _pulumi_action,
                "aws-actions/configure-aws-credentials": assume_role,
            },
            replaced_steps={"install": _install},
            base_env=self.env,
        ).run()

    def push_run(self, *, before: str, sha: str) -> tuple[list[str], dict[str, bool]]:
        """The stacks job, then each up-<stack> job its output selects, in order, until one fails."""
        stacks_run = self.job("stacks", before=before, sha=sha)
        assert stacks_run.succeeded, [(s.name, s.output[-2000:]) for s in stacks_run.steps]
        stacks = json.loads(stacks_run.outputs["stacks"])
        deployed: dict[str, bool] = {}
        for stack in STACKS:
            if stack in stacks and all(
                deployed.values()
            ):  # `!failure()`: a failed stack stops the later ones
                deployed[stack] = self.job(f"up-{stack}", before=before, sha=sha).succeeded
        return stacks, deployed


def _tag(origin: Path, stack: str) -> str:
    return git(origin, "rev-parse", f"refs/tags/deployed/{stack}").strip()


@pytest.fixture()
def runs(origin, tmp_path, pulumi_bin, pr_gh) -> Runs:
    gh_folder, _ = pr_gh
    return Runs(origin, tmp_path, [pulumi_bin[0], gh_folder])


def _ups(calls: Path) -> list[str]:
    lines = calls.read_text().splitlines() if calls.exists() else []
    return [args[args.index("--stack") + 1] for args in map(json.loads, lines) if args[0] == "up"]


def test_a_cancelled_run_skips_no_stack(origin, runs, pulumi_bin):
    _, calls = pulumi_bin
    start = git(origin, "rev-parse", "main").strip()
    for stack in STACKS:  # each stack was last deployed at the start
        git(origin, "tag", f"deployed/{stack}", start)
    _push(origin, "environments/dev.yaml", "# first push\n")  # its run is cancelled
    before, second = _push(origin, "environments/staging.yaml", "# second push\n")
    stacks, deployed = runs.push_run(before=before, sha=second)
    # From the push's `before` alone, only staging would have been deployed.
    assert stacks == ["dev", "staging"]
    assert deployed == {"dev": True, "staging": True}
    assert _ups(calls) == ["dev", "staging"]
    assert (_tag(origin, "dev"), _tag(origin, "staging"), _tag(origin, "prod")) == (second, second, start)
    # A third push touching nothing of theirs deploys nothing again.
    before, third = _push(origin, "environments/prod.yaml", "# third push\n")
    assert runs.push_run(before=before, sha=third) == (["prod"], {"prod": True})


def test_a_failed_deploy_is_not_marked_and_the_next_run_deploys_it_and_the_stacks_after_it(
    origin, runs, pulumi_bin, tmp_path
):
    _, calls = pulumi_bin
    start = git(origin, "rev-parse", "main").strip()
    for stack in STACKS:
        git(origin, "tag", f"deployed/{stack}", start)
    before, _ = _push(origin, "environments/dev.yaml", "# x\n")
    shutil.copy2(REPO_ROOT / "pyproject.toml", origin / "pyproject.toml")  # touches every stack
    git(origin, "add", "-A")
    git(origin, "commit", "--quiet", "-m", "The project's pins")
    head = git(origin, "rev-parse", "main").strip()
    (tmp_path / "failing-staging").write_text("")
    assert runs.push_run(before=before, sha=head) == (STACKS, {"dev": True, "staging": False})
    assert (_tag(origin, "dev"), _tag(origin, "staging"), _tag(origin, "prod")) == (head, start, start)
    (tmp_path / "failing-staging").unlink()
    before, after = _push(origin, "environments/dev.yaml", "# y\n")
    # dev for its own change; staging and prod for the pins their failed run never deployed.
    assert runs.push_run(before=before, sha=after) == (STACKS, {s: True for s in STACKS})
    assert {_tag(origin, s) for s in STACKS} == {after}
    assert _ups(calls) == ["dev", "staging", "dev", "staging", "prod"]


def test_before_the_tags_exist_a_push_is_compared_from_its_before(origin, runs):
    before, head = _push(origin, "environments/prod.yaml", "# z\n")
    assert runs.push_run(before=before, sha=head) == (["prod"], {"prod": True})
    assert _tag(origin, "prod") == head
