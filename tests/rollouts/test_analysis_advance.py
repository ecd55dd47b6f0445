"""`modelops rollout analyze | advance` end to end: a real git repository whose prod overlay holds a
canary, a real Prometheus holding its traffic, the session's MLflow for the records."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from modelops.bench.prometheus_history import OpenMetricsWriter, create_blocks, serving
from modelops.gitops.releases.registered import resolve_release
from modelops.gitops.releases.transitions import OverlayState, Traffic
from modelops.gitops.repository import layout
from modelops.gitops.repository.overlay_files import read_state, write_state
from modelops.rollouts.records import analyses
from modelops_infra.manifests.dashboards import serving_dashboard
from tests.cli_runner import invoke
from tests.conftest import REPO_ROOT
from tests.gitops.conftest import git, init_repository, pin_everywhere
from tests.infra.manifests.promtool import live
from tests.monitoring.pushgateway import push_login, pushgateway, scrape_config  # noqa: F401
from tests.rollouts.history import Release as Served
from tests.rollouts.history import Serving, write_serving
from tests.tools import require_command

MODEL = "credit-risk"


@dataclass
class Clock:
    """When the backfilled traffic ends. Set as the servers start, not when the module is imported: the
    commands judge windows ending at the real clock, and a full test run reaches this module many
    minutes after collecting it."""

    now: float = 0.0

    @property
    def start(self) -> float:
        return self.now - 2 * 3600


CLOCK = Clock()


def _write(writer: OpenMetricsWriter) -> None:
    served = [
        Served(MODEL, "stable", [Serving(CLOCK.start, 9.0)]),
        Served(MODEL, "candidate", [Serving(CLOCK.start, 1.0)]),
    ]
    write_serving(writer, served, start=CLOCK.start, end=CLOCK.now)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(Prometheus URL, Pushgateway address): Prometheus answers over the backfilled canary traffic and
    scrapes the Pushgateway every second, as the platform's does (honor_labels)."""
    promtool, binary = require_command("promtool"), require_command("prometheus")
    workdir = tmp_path_factory.mktemp("advance-history")
    CLOCK.now = math.floor(time.time() / 60) * 60 - 60
    with (workdir / "history.om").open("w") as out:
        writer = OpenMetricsWriter(out)
        _write(writer)
        writer.close()
    create_blocks(workdir / "history.om", workdir / "data", promtool=promtool)
    with pushgateway(workdir) as gateway:
        config = workdir / "prometheus.yml"
        scrape = scrape_config(gateway)
        config.write_text(json.dumps({"global": {"scrape_interval": "1s"}, "scrape_configs": [scrape]}))
        with serving(workdir / "data", workdir, config=config, binary=binary) as base:
            yield base, gateway


@pytest.fixture(scope="module")
def prometheus_url(servers: tuple[str, str]) -> str:
    return servers[0]


def _canary(root: Path, demo_versions, percent: int, *, committed: float, mirror: int = 0) -> None:
    """prod serves the champion with the better model as candidate at `percent`, committed at `committed`."""
    overlay = root / layout.overlay_dir(MODEL, "prod")
    texts = {str(p.relative_to(root)): p.read_text() for p in overlay.glob("*.yaml")}
    state = OverlayState(
        stable=read_state(texts, MODEL, "prod").stable,
        candidate=resolve_release(MODEL, demo_versions.better)[0],
        traffic=Traffic(100 - percent, percent, mirror),
    )
    for path, text in write_state(texts, model=MODEL, environment="prod", state=state).items():
        target = root / path
        if text is None:
            target.unlink()
        else:
            target.write_text(text)
    stamp = f"@{int(committed)} +0000"
    git(root, "add", "-A")
    subprocess.run(
        ["git", "-C", str(root), "commit", "-qm", f"Canary at {percent}%"],
        check=True,
        env={**os.environ, "GIT_COMMITTER_DATE": stamp, "GIT_AUTHOR_DATE": stamp},
    )


@pytest.fixture()
def canary_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_versions) -> Path:
    root = tmp_path / "platform"
    for folder in ("environments", "policies", "gitops"):
        shutil.copytree(REPO_ROOT / folder, root / folder)
    pin_everywhere(root, MODEL, demo_versions.champion)
    init_repository(root, "Platform at v" + demo_versions.champion)
    monkeypatch.setenv("MODELOPS_ROOT", str(root))
    monkeypatch.delenv("MODELOPS_PUSHGATEWAY", raising=False)
    return root


def test_advance_opens_the_step_pull_request_with_its_evidence_and_records_its_commit(
    canary_repo: Path, demo_versions, prometheus_url: str
) -> None:
    _canary(canary_repo, demo_versions, 10, committed=CLOCK.now - 50 * 60)
    # The session's registry may hold this model's records from other tests (the rollout workflow's).
    earlier = {r.run_id for r in analyses(MODEL, environment="prod")}

    def new_records() -> list:
        return [r for r in analyses(MODEL, environment="prod") if r.run_id not in earlier]

    result = invoke("rollout", "advance", "--env", "prod", "--prometheus", prometheus_url)
    assert result.exit_code == 0, result.output
    branch = f"rollout/{MODEL}/prod/step-25-v{demo_versions.better}"
    assert branch in git(canary_repo, "branch", "--list", "rollout/*"), result.output
    body = git(canary_repo, "log", "-1", "--format=%B", branch)
    assert "### Canary analysis: step" in body
    assert "| p95 latency against stable |" in body and "| pass" in body
    # The proposed commit moves the candidate to the next step, and nothing else.
    changed = git(canary_repo, "diff", "--name-only", f"main...{branch}").split()
    assert changed == [layout.overlay_file(MODEL, "prod", layout.TRAFFIC)]
    [record] = new_records()
    assert record.decision == "step"
    assert record.proposed_commit == git(canary_repo, "rev-parse", branch).strip()

    # Run again while that pull request is open: judged and recorded again, never proposed twice.
    again = invoke("rollout", "advance", "--env", "prod", "--prometheus", prometheus_url)
    assert again.exit_code == 0, again.output
    assert "already proposes a move of this rollout" in again.output
    assert git(canary_repo, "branch", "--list", "rollout/*").split() == [branch]
    assert len(new_records()) == 2


def test_analyze_judges_a_young_step_wait_and_proposes_nothing(
    canary_repo: Path, demo_versions, prometheus_url: str
) -> None:
    _canary(canary_repo, demo_versions, 10, committed=CLOCK.now - 10 * 60)
    result = invoke("rollout", "analyze", MODEL, "--env", "prod", "--prometheus", prometheus_url)
    assert result.exit_code == 0, result.output
    assert "WAIT" in result.output and "baking" in result.output
    assert "rollout/" not in git(canary_repo, "branch", "--list", "rollout/*")


def test_unusable_input_is_one_line_and_exit_2(canary_repo: Path, prometheus_url: str) -> None:
    no_rollout = invoke("rollout", "analyze", MODEL, "--env", "prod", "--prometheus", prometheus_url)
    assert no_rollout.exit_code == 2
    assert "traffic.yaml: no rollout in progress" in no_rollout.output
    not_canary = invoke("rollout", "analyze", MODEL, "--env", "staging", "--prometheus", prometheus_url)
    assert not_canary.exit_code == 2
    assert "Traceback" not in not_canary.output


def test_an_unreachable_prometheus_is_exit_2_after_bounded_retries(canary_repo: Path, demo_versions) -> None:
    _canary(canary_repo, demo_versions, 10, committed=CLOCK.now - 50 * 60)
    started = time.monotonic()
    result = invoke("rollout", "analyze", MODEL, "--env", "prod", "--prometheus", "http://127.0.0.1:9")
    assert result.exit_code == 2
    assert "Prometheus http://127.0.0.1:9: query failed" in result.output
    assert time.monotonic() - started < 30


ROLLOUT_PANELS = (9, 10, 11)  # weights, decision, checks


def _query(base: str, expr: str) -> list:
    return live.get_json(f"{base}/api/v1/query?query={quote(expr)}")["data"]["result"]


@pytest.mark.usefixtures("push_login")
def test_the_rollout_panel_shows_what_the_analysis_pushed(
    canary_repo: Path, demo_versions, servers: tuple[str, str]
) -> None:
    base, gateway = servers
    _canary(canary_repo, demo_versions, 10, committed=CLOCK.now - 50 * 60)
    result = invoke(
        "rollout", "analyze", MODEL, "--env", "prod", "--prometheus", base, "--pushgateway", gateway
    )
    assert result.exit_code == 0, result.output
    panels = {p["id"]: p for p in serving_dashboard(p95_target_ms=40, drift_threshold=0.1)["panels"]}
    exprs = [t["expr"] for i in ROLLOUT_PANELS for t in panels[i]["targets"]]
    deadline = time.monotonic() + 30
    answered: dict[str, list] = {}
    while time.monotonic() < deadline and len(answered) < len(exprs):
        answered = {e: r for e in exprs if (r := _query(base, e))}
        time.sleep(0.5)
    assert sorted(answered) == sorted(exprs), set(exprs) - set(answered)
    weights = {r["metric"]["release"]: float(r["value"][1]) for r in answered[exprs[0]]}
    assert weights == {"stable": 90.0, "candidate": 10.0}
    [decision] = answered[exprs[1]]
    assert decision["metric"] == {"model": MODEL, "decision": "step"}
    checks = {r["metric"]["check"]: float(r["value"][1]) for r in answered[exprs[2]]}
    assert checks["p95 latency against stable"] == 1.0 and set(checks.values()) == {1.0}


def _judged(repo_root: Path, decision: str, percent: int):
    """An analysis of the canary as HEAD holds it, judged `decision` (the verdict's rules are tested
    against Prometheus elsewhere; here what each decision proposes)."""
    from modelops.gitops.repository.gitrepo import Repo
    from modelops.rollouts.analysis import Check, Verdict, Window
    from modelops.rollouts.analysis_run import Analysis, rollout_of
    from modelops.rollouts.queries import ReleaseMeasures

    rollout = rollout_of(Repo(repo_root), model=MODEL, environment="prod")
    check = Check("error ratio", "fail" if decision == "abort" else "pass", 0.2, 0.0, "<= 0.01")
    verdict = Verdict(decision, (f"judged {decision}",), (check,), no_data=False)  # type: ignore[arg-type]
    window = Window(CLOCK.now - 1800, CLOCK.now, CLOCK.now - 3000, percent, last_step=percent == 50)
    return Analysis(rollout, window, ReleaseMeasures(), ReleaseMeasures(), verdict)


@pytest.mark.parametrize(
    ("decision", "percent", "branch", "merges_itself"),
    [
        ("abort", 25, "abort-v{v}", True),  # abort follows auto_merge_steps: stable takes all traffic
        ("complete", 50, "complete-v{v}", False),  # prod's complete waits for review
        ("step", 10, "step-25-v{v}", True),
    ],
)
def test_each_decision_proposes_its_move_and_only_the_policy_lets_it_merge_itself(
    canary_repo: Path, demo_versions, decision: str, percent: int, branch: str, merges_itself: bool
) -> None:
    from modelops.config import load_environment
    from modelops.gitops.repository.gitrepo import Repo
    from modelops.rollouts.analysis_advance import advance, may_merge_itself

    _canary(canary_repo, demo_versions, percent, committed=CLOCK.now - 50 * 60)
    prod = load_environment("prod", root=canary_repo)
    done = advance(Repo(canary_repo), canary_repo, _judged(canary_repo, decision, percent), environment=prod)
    assert done.proposal is not None
    assert done.proposal.branch == f"rollout/{MODEL}/prod/{branch.format(v=demo_versions.better)}"
    assert (
        f"### Canary analysis: {decision}" in done.proposal.body
        and f"judged {decision}" in done.proposal.body
    )
    assert may_merge_itself(decision, prod) is merges_itself
    # gh is not set up here: the pull request is left to open by hand, and nothing merges by itself.
    assert done.opening is not None and done.opening.url is None and done.opening.by_hand
    assert ("auto-merge allowed" in done.auto_merge) is merges_itself


def test_wait_proposes_nothing(canary_repo: Path, demo_versions) -> None:
    from modelops.config import load_environment
    from modelops.gitops.repository.gitrepo import Repo
    from modelops.rollouts.analysis_advance import advance

    _canary(canary_repo, demo_versions, 10, committed=CLOCK.now - 50 * 60)
    prod = load_environment("prod", root=canary_repo)
    done = advance(Repo(canary_repo), canary_repo, _judged(canary_repo, "wait", 10), environment=prod)
    assert done.proposal is None and "rollout/" not in git(canary_repo, "branch", "--list", "rollout/*")


def test_advance_skips_a_shadow_saying_why_and_analyze_refuses_it(
    canary_repo: Path, demo_versions, prometheus_url: str
) -> None:
    _canary(canary_repo, demo_versions, 0, committed=CLOCK.now - 50 * 60, mirror=20)
    result = invoke("rollout", "advance", "--env", "prod", "--prometheus", prometheus_url)
    assert result.exit_code == 0, result.output
    assert "skipped:" in result.output and "shadow (mirror 20%)" in result.output
    assert "no canary rollout in progress in prod" in result.output
    named = invoke("rollout", "analyze", MODEL, "--env", "prod", "--prometheus", prometheus_url)
    assert named.exit_code == 2 and "shadow (mirror 20%)" in named.output
