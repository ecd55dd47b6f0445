"""The production loop end to end, every part a real process on a loopback port, started and stopped here.

Two registered versions run as a prod canary (75/25) in the platform's MLServer, started from the
InferenceServices kustomize renders; a client sends the pinned holdout's rows through the route, then
the same rows with `credit_amount` doubled; each release's agent stand-in logs every request and
response to the payload sink, which writes parquet; `modelops monitor` pushes to a Pushgateway; a
Prometheus loaded with the platform's own alert rules scrapes it and the servers' metrics ports, and
sends ModelDriftHigh to an Alertmanager configured as the chart renders it, which notifies the dispatch
relay with its bearer token; the relay sends `model-drift` to a stand-in GitHub API; and the retrain
workflow's own steps, run on that dispatch, open a promotion pull request.

What differs from the cluster, and only this:
- ModelDriftHigh holds for 2 s instead of 30m before it fires. The rule file is generated from
  `alert_rules.slo_rules` with prod's settings, as the Monitoring component generates it; only that
  rule's `for` is replaced (the builder takes no parameter for it), its expression is the platform's.
- Prometheus scrapes and evaluates every second; Alertmanager's group_wait is 1 s (tests/alerting).
- KServe's agent (a Go sidecar) cannot run here: modelops.demo.kserve_agent sends what it sends.
- The servers' series get the PodMonitor's job and labels from the scrape config, not from pods.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import pyarrow.dataset as ds
import pytest

from modelops.demo.canary import write_canary
from modelops.demo.loop import drift_scores
from modelops.demo.production import in_production
from modelops.demo.traffic import shifted
from modelops_infra import layout as infra_layout
from modelops_infra.manifests import promql
from modelops_infra.manifests.alert_rules import monitor_rules, slo_rules
from modelops_infra.runtime.dispatch_relay import DRIFT_ALERT, RETRAIN_EVENT
from modelops_infra.settings import load_settings
from tests.alerting.conftest import REPOSITORY as RELAY_REPOSITORY
from tests.alerting.conftest import TOKEN as GITHUB_TOKEN
from tests.cli_runner import invoke
from tests.conftest import REPO_ROOT
from tests.github.local_steps import (
    git,
)
from tests.github.test_retrain_workflow import models_job, retrain_job
from tests.infra.manifests.promtool import live
from tests.monitoring.pushgateway import push_login, pushgateway, scrape_config  # noqa: F401
from tests.tools import require_command

pytestmark = pytest.mark.slow

MODEL, ENVIRONMENT = "credit-risk", "prod"
CANDIDATE_WEIGHT = 25
SHIFTED, FACTOR = "credit_amount", 2.0
TEST_FOR = "2s"  # ModelDriftHigh's `for` here; the platform's is 30m
T = TypeVar("T")


def _until(probe: Callable[[], T | None], *, what: str, timeout_s: float = 60.0) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen within {timeout_s:g} s")
        time.sleep(0.25)


def _rule_groups() -> tuple[dict[str, Any], float]:
    """prod's PrometheusRule specs, built as the Monitoring component builds them, with the drift
    rule's `for` shortened; and the drift threshold they hold."""
    settings = load_settings(ENVIRONMENT, root=REPO_ROOT)
    promotion = settings.environment.promotion
    threshold = promotion.drift.distance_threshold
    spec = slo_rules(
        models_namespace=settings.models_namespace,
        error_rate=settings.platform.monitoring.slo.error_rate,
        p95_ms=promotion.latency.p95_ms,
        drift_threshold=threshold,
    )
    spec["groups"] += monitor_rules(models_namespace=settings.models_namespace, period_s=3600)["groups"]
    [drift] = [r for g in spec["groups"] for r in g["rules"] if r.get("alert") == DRIFT_ALERT]
    assert drift["expr"] == promql.drift_alert(threshold)
    drift["for"] = TEST_FOR
    return spec, threshold


def _prometheus_config(
    rules: Path, *, gateway: str, metrics: Mapping[str, str], alertmanager: str, namespace: str
) -> dict[str, Any]:
    """The Pushgateway (with honor_labels, as kube-prometheus-stack scrapes it), each model server's
    metrics port as the PodMonitor's job with the labels it copies from the pod, and Alertmanager."""
    pods = [
        {
            "targets": [urlsplit(url).netloc],
            "labels": {
                "namespace": namespace,
                "model": MODEL,
                "release": role,
                "container": "kserve-container",
            },
        }
        for role, url in metrics.items()
    ]
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [urlsplit(alertmanager).netloc]}]}]},
        "scrape_configs": [
            scrape_config(gateway),
            {"job_name": f"{infra_layout.MONITORING_NAMESPACE}/{promql.POD_MONITOR}", "static_configs": pods},
        ],
    }


def _query(base: str, expr: str) -> list[dict[str, Any]]:
    return live.get_json(f"{base}/api/v1/query?query={quote(expr)}")["data"]["result"]


def _firing(base: str, column: str) -> list[dict[str, Any]]:
    alerts = live.get_json(f"{base}/api/v1/alerts")["data"]["alerts"]
    return [
        a
        for a in alerts
        if a["labels"].get("alertname") == DRIFT_ALERT
        and a["labels"].get("column") == column
        and a["state"] == "firing"
    ]


def _retrain(origin: Path, dispatch: dict[str, Any], gh_folder: Path, workdir: Path):
    """The retrain workflow on the dispatch the stand-in GitHub received, as GitHub would run it."""
    event = {"action": dispatch["event_type"], "client_payload": dispatch["client_payload"]}
    listed = models_job(workdir, origin, event, "repository_dispatch").run()
    assert listed.succeeded and json.loads(listed.outputs["models"]) == [MODEL]
    return retrain_job(
        origin, event=event, listed=listed, gh_folder=gh_folder, workdir=workdir / "retrain", run_number="12"
    ).run()


@pytest.mark.usefixtures("push_login")
def test_a_shifted_input_in_served_traffic_ends_in_a_promotion_pull_request(
    origin,
    demo_versions,
    german_credit,
    serving_runtime,
    alertmanager,
    relay,
    github,
    pr_gh,
    tmp_path,
):
    prometheus_binary = require_command("prometheus")
    write_canary(
        origin,
        model=MODEL,
        environment=ENVIRONMENT,
        stable=demo_versions.champion,
        candidate=demo_versions.better,
        candidate_weight=CANDIDATE_WEIGHT,
    )
    git(origin, "commit", "--quiet", "-am", f"credit-risk: v{demo_versions.better} a canary in prod")
    versions = {"stable": demo_versions.champion, "candidate": demo_versions.better}
    spec, threshold = _rule_groups()
    rules = tmp_path / "rules.yaml"
    rules.write_text(json.dumps(spec))  # JSON is YAML
    holdout = german_credit.evaluation.drop(columns=["risk"])
    alertmanager_url = alertmanager(f"{relay.url}/alerts", environment=ENVIRONMENT)

    with (
        in_production(origin, model=MODEL, environment=ENVIRONMENT, workdir=tmp_path / "prod") as production,
        pushgateway(tmp_path) as gateway,
    ):
        namespace = production.canary.namespace
        config = _prometheus_config(
            rules,
            gateway=gateway,
            metrics={role: server.metrics_url for role, server in production.servers.items()},
            alertmanager=alertmanager_url,
            namespace=namespace,
        )
        (tmp_path / "prometheus.yml").write_text(json.dumps(config))
        with live.prometheus(prometheus_binary, tmp_path / "prometheus.yml", tmp_path) as prometheus:
            calm = production.send(holdout)
            shift = production.send(shifted(holdout, column=SHIFTED, factor=FACTOR))

            # Hop 1: every answered row is in parquet, under its release, with the version that served it
            # and what the client sent.
            sent = {role: calm.sent.rows[role] + shift.sent.rows[role] for role in versions}
            assert shift.written == sent
            assert not calm.sent.failed and not shift.sent.failed
            # The route's weights split the requests: a quarter (rounded) to the candidate.
            total = sum(calm.sent.requests.values())
            assert abs(calm.sent.requests["candidate"] - total * CANDIDATE_WEIGHT / 100) <= 0.5
            stored = ds.dataset(production.sink.store, format="parquet", partitioning="hive").to_table()
            rows = stored.select(["release", "_model_version", SHIFTED]).to_pylist()
            assert {(r["release"], r["_model_version"]) for r in rows} == set(versions.items())
            assert sorted(r[SHIFTED] for r in rows) == sorted(
                [*holdout[SHIFTED].tolist(), *(holdout[SHIFTED] * FACTOR).tolist()]
            )

            # The shift moves the shifted column's score and no other: same rows, one column scaled.
            before, after = drift_scores(production.measure(calm)), drift_scores(production.measure(shift))
            moved = {key for key in before if after[key].score != before[key].score}
            assert moved == {(role, SHIFTED) for role in versions}
            assert all(
                after[(role, SHIFTED)].score > before[(role, SHIFTED)].score + threshold
                and after[(role, SHIFTED)].detected
                for role in versions
            )
            # On the unshifted holdout no column of either release is found drifted.
            assert not [key for key, drift in before.items() if drift.detected]

            # Hop 2: the monitor job pushes the window holding both stretches to the Pushgateway.
            result = invoke(
                "monitor", MODEL, "--env", ENVIRONMENT, "--window", "1m", "--end", shift.end.isoformat(),
                "--payloads", production.sink.store, "--pushgateway", gateway,
            )  # fmt: skip
            assert result.exit_code == 0, result.output
            pushed = _until(
                lambda: _query(
                    prometheus,
                    f'{promql.DRIFT}{{job="modelops-monitor", model="{MODEL}", column="{SHIFTED}"}}',
                ),
                what="the pushed drift scores in Prometheus",
            )
            scores = {series["metric"]["release"]: float(series["value"][1]) for series in pushed}
            assert set(scores) == set(versions) and min(scores.values()) > threshold

            # Hop 3: Prometheus scraped both servers: every request each answered is counted.
            answered = {r: float(calm.sent.requests[r] + shift.sent.requests[r]) for r in versions}
            counted = (
                f'sum by (release) ({promql.REQUESTS}{{job="{config["scrape_configs"][1]["job_name"]}", '
                f'namespace="{namespace}", path=~".*/infer", status_code="200"}})'
            )

            def scraped_all() -> dict[str, float] | None:
                # Each server is its own target: wait until a scrape after the traffic saw both.
                found = {s["metric"]["release"]: float(s["value"][1]) for s in _query(prometheus, counted)}
                return found if found == answered else None

            assert _until(scraped_all, what="every answered request counted by Prometheus") == answered

            # Hop 4: the platform's rule fires on the shifted column, on its real expression.
            firing = _until(lambda: _firing(prometheus, SHIFTED), what=f"{DRIFT_ALERT} firing for {SHIFTED}")
            assert {a["labels"]["release"] for a in firing} == set(versions)
            assert all(a["labels"]["namespace"] == namespace for a in firing)

            # Hop 5: Alertmanager notifies the relay with its token; the relay asks GitHub for one retrain.
            [dispatch] = github.wait_for(1, timeout_s=60)
            time.sleep(2)  # two more group_waits: any second notification would have been dispatched
    assert github.dispatched() == [{"event_type": RETRAIN_EVENT, "client_payload": {"model": MODEL}}]
    [call] = github.received
    assert call.path == f"/repos/{RELAY_REPOSITORY}/dispatches"
    assert call.headers["authorization"] == f"Bearer {GITHUB_TOKEN}"
    assert "no valid bearer token" not in relay.log()

    # Hop 6: the retrain workflow, run on that dispatch, trains, registers and opens a promotion PR.
    gh_folder, calls = pr_gh
    run = _retrain(origin, dispatch, gh_folder, tmp_path / "workflow")
    assert run.succeeded, [(s.name, s.outcome, s.output[-2000:]) for s in run.steps]
    version = json.loads((tmp_path / "workflow" / "retrain" / "candidate" / "registered.json").read_text())[
        "version"
    ]
    branch = f"promote/{MODEL}/dev/v{version}"
    assert git(origin, "diff", "--name-only", f"main...{branch}").split() == [
        f"gitops/models/{MODEL}/overlays/dev/release.yaml"
    ]
    created = [json.loads(line) for line in calls.read_text().splitlines()]
    [create] = [c for c in created if c["args"][:2] == ["pr", "create"]]
    assert create["args"][create["args"].index("--head") + 1] == branch
