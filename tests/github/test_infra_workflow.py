"""The infra workflow's own steps on main: which stacks a push deploys, and that none is skipped.

GitHub keeps one pending run per concurrency group and cancels the rest. Here the first of two
pushes never runs (cancelled); the second run must deploy every stack either push touched, and a
stack whose `pulumi up` failed must be deployed again by the next run.

Local equivalents: checkout is a clone of a fixture origin; the install puts this interpreter on
PATH; `pulumi` and `gh` are stand-ins on PATH that record their calls (the `pulumi up` and
tag-moving steps run their own `run:` text). The jobs run in an order their `needs:` allow (ties
broken by name, which would put up-dev before up-registry), and each job's own `if:` is evaluated
as GitHub does at job level: the `needs` context of its direct needs, `failure()` true when any
job before it (however far back) failed, `success()` when all of them succeeded.
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
from tests.github.workflow_runner import JobRun, StepContext, WorkflowJob, evaluate, load_workflow
from tests.gitops.conftest import git, init_repository

INFRA = REPO_ROOT / ".github" / "workflows" / "infra.yml"
LADDER = ["dev", "staging", "prod"]
STACKS = ["registry", *LADDER]


@pytest.fixture()
def origin(tmp_path: Path) -> Path:
    root = tmp_path / "origin"
    for part in ("environments", "policies"):
        shutil.copytree(REPO_ROOT / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "infra").mkdir()
    shutil.copy2(REPO_ROOT / "infra" / "Pulumi.registry.yaml", root / "infra")  # the registry stack exists
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
        """The stacks job, then every up-<stack> job whose own `if:` says it runs, in `needs:` order."""
        workflow = load_workflow(INFRA)
        stacks_run = self.job("stacks", before=before, sha=sha)
        assert stacks_run.succeeded, [(s.name, s.output[-2000:]) for s in stacks_run.steps]
        results = {"stacks": ("success", stacks_run.outputs)}
        deployed: dict[str, bool] = {}
        for name in needs_order(workflow["jobs"]):
            if name == "stacks":
                continue
            if not job_runs(workflow["jobs"], name, results):
                results[name] = ("skipped", {})
                continue
            succeeded = self.job(name, before=before, sha=sha).succeeded
            results[name] = ("success" if succeeded else "failure", {})
            deployed[name.removeprefix("up-")] = succeeded
        return json.loads(stacks_run.outputs["stacks"]), deployed


def _needs(job: dict) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def needs_order(jobs: dict) -> list[str]:
    """A run order GitHub could pick: a job after all it needs, ties by name (up-dev before up-registry)."""
    done: list[str] = []
    while len(done) < len(jobs):
        ready = sorted(n for n in jobs if n not in done and set(_needs(jobs[n])) <= set(done))
        assert ready, f"a cycle in needs: {sorted(set(jobs) - set(done))}"
        done.append(ready[0])
    return done


def _ancestors(jobs: dict, name: str) -> set[str]:
    direct = set(_needs(jobs[name]))
    return direct.union(*(_ancestors(jobs, n) for n in direct))


def job_runs(jobs: dict, name: str, results: dict[str, tuple[str, dict]]) -> bool:
    """A job's `if:` as GitHub evaluates it (default `success()`; without a status function,
    `success() && (...)`), over the results of the jobs before it."""
    before = [results[n][0] for n in _ancestors(jobs, name)]
    status = {
        "success()": all(r == "success" for r in before),
        "failure()": "failure" in before,
        "cancelled()": False,
        "always()": True,
    }
    needs = {n: {"result": results[n][0], "outputs": results[n][1]} for n in _needs(jobs[name])}

    def lookup(reference: str) -> object:
        if reference in status:
            return status[reference]
        root, _, rest = reference.partition(".")
        assert root == "needs", f"{name}: the test knows no context {root!r}"
        value: object = needs
        for part in rest.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    condition = str(jobs[name].get("if", "")).strip()
    if condition.startswith("${{") and condition.endswith("}}"):
        condition = condition[3:-2]
    if condition and not any(f in condition for f in status):
        condition = f"success() && ({condition})"
    return bool(evaluate(condition or "success()", lookup))


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
    # From the push's `before` alone, dev would have been left out. The registry reads every
    # environment file, so it is deployed too, first.
    assert stacks == ["registry", "dev", "staging"]
    assert deployed == {"registry": True, "dev": True, "staging": True}
    assert _ups(calls) == ["registry", "dev", "staging"]
    assert [_tag(origin, s) for s in STACKS] == [second, second, second, start]
    # A third push touching nothing of theirs deploys nothing of theirs again.
    before, third = _push(origin, "environments/prod.yaml", "# third push\n")
    assert runs.push_run(before=before, sha=third) == (["registry", "prod"], {"registry": True, "prod": True})


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
    expected = {"registry": True, "dev": True, "staging": False}
    assert runs.push_run(before=before, sha=head) == (STACKS, expected)
    assert [_tag(origin, s) for s in STACKS] == [head, head, start, start]
    (tmp_path / "failing-staging").unlink()
    before, after = _push(origin, "environments/dev.yaml", "# y\n")
    # dev (and the registry) for its own change; staging and prod for the pins never deployed.
    assert runs.push_run(before=before, sha=after) == (STACKS, {s: True for s in STACKS})
    assert {_tag(origin, s) for s in STACKS} == {after}
    assert _ups(calls) == ["registry", "dev", "staging", "registry", "dev", "staging", "prod"]


def test_a_registry_change_deploys_the_registry_then_every_environment_reading_it(origin, runs, pulumi_bin):
    _, calls = pulumi_bin
    start = git(origin, "rev-parse", "main").strip()
    for stack in STACKS:
        git(origin, "tag", f"deployed/{stack}", start)
    before, head = _push(origin, "environments/shared/registry.yaml", "# a setting\n")
    assert runs.push_run(before=before, sha=head) == (STACKS, {s: True for s in STACKS})
    # In needs: order with ties by name, up-dev would go first if it did not wait for the registry.
    assert _ups(calls) == STACKS
    assert {_tag(origin, s) for s in STACKS} == {head}


def test_a_failed_registry_deploys_no_environment_and_the_next_run_deploys_them_all(
    origin, runs, pulumi_bin, tmp_path
):
    _, calls = pulumi_bin
    start = git(origin, "rev-parse", "main").strip()
    for stack in STACKS:
        git(origin, "tag", f"deployed/{stack}", start)
    before, head = _push(origin, "environments/shared/registry.yaml", "# a setting\n")
    (tmp_path / "failing-registry").write_text("")
    assert runs.push_run(before=before, sha=head) == (STACKS, {"registry": False})
    assert {_tag(origin, s) for s in STACKS} == {start}
    (tmp_path / "failing-registry").unlink()
    assert runs.push_run(before=before, sha=head) == (STACKS, {s: True for s in STACKS})  # a re-run
    assert _ups(calls) == ["registry", *STACKS]


def test_an_environment_deploys_when_the_registry_is_skipped_as_unaffected(
    origin, runs, pulumi_bin, tmp_path
):
    _, calls = pulumi_bin
    start = git(origin, "rev-parse", "main").strip()
    for stack in STACKS:
        git(origin, "tag", f"deployed/{stack}", start)
    before, head = _push(origin, "environments/dev.yaml", "# x\n")
    (tmp_path / "failing-dev").write_text("")
    assert runs.push_run(before=before, sha=head) == (["registry", "dev"], {"registry": True, "dev": False})
    (tmp_path / "failing-dev").unlink()
    # The re-run: the registry's tag is at head (nothing to deploy), dev's is not.
    assert runs.push_run(before=before, sha=head) == (["dev"], {"dev": True})
    assert _ups(calls) == ["registry", "dev", "dev"]
    assert [_tag(origin, s) for s in STACKS] == [head, head, start, start]


def test_every_environment_waits_for_the_registry_in_its_vpc_and_its_environment():
    jobs = load_workflow(INFRA)["jobs"]
    registry = jobs["up-registry"]
    assert (registry["runs-on"], registry["environment"], _needs(registry)) == (
        "modelops-registry",
        "registry",
        ["stacks"],
    )
    for stack in LADDER:
        assert "up-registry" in _needs(jobs[f"up-{stack}"]), stack
    assert needs_order(jobs) == ["stacks", *(f"up-{s}" for s in STACKS)]
    # The registry's job is its environment's twin: same steps, stack name aside.
    as_dev = json.dumps(registry).replace("registry", "dev").replace("the dev's", "dev's")
    dev = jobs["up-dev"]
    for key in ("permissions", "steps", "timeout-minutes"):
        assert json.loads(as_dev)[key] == dev[key], key


def test_the_job_conditions_are_evaluated_not_assumed():
    # The rules job_runs applies, on the workflow's own conditions: what makes these tests honest.
    jobs = load_workflow(INFRA)["jobs"]
    stacks = ("success", {"stacks": '["dev"]'})
    assert job_runs(jobs, "up-dev", {"stacks": stacks, "up-registry": ("skipped", {})})
    assert not job_runs(jobs, "up-dev", {"stacks": stacks, "up-registry": ("failure", {})})
    assert not job_runs(jobs, "up-registry", {"stacks": stacks})
    failed_far_back = {"stacks": stacks, "up-registry": ("failure", {}), "up-dev": ("skipped", {})}
    assert not job_runs(
        jobs, "up-staging", failed_far_back | {"stacks": ("success", {"stacks": '["staging"]'})}
    )


def test_before_the_tags_exist_a_push_is_compared_from_its_before(origin, runs):
    before, head = _push(origin, "environments/prod.yaml", "# z\n")
    assert runs.push_run(before=before, sha=head) == (["registry", "prod"], {"registry": True, "prod": True})
    assert _tag(origin, "prod") == head
