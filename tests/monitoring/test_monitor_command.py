"""`modelops monitor` end to end: a real Pushgateway on loopback, a real Prometheus scraping it with the
platform's rule files, and every new dashboard panel's query answered with series."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import quote

import pytest
from ruamel.yaml import YAML

from modelops_infra.manifests import promql
from modelops_infra.manifests.alert_rules import monitor_rules, slo_rules
from modelops_infra.manifests.dashboards import serving_dashboard
from tests.cli_runner import invoke
from tests.infra.manifests.promtool import live
from tests.monitoring.conftest import END, MODEL, live_rows, scorer, write_labels, write_payloads
from tests.monitoring.pushgateway import PUSH_USER, gateway_metrics, push_login, pushgateway, scrape_config  # noqa: F401
from tests.tools import free_port, require_command

NEW_PANELS = (
    4,
    5,
    6,
    7,
    8,
)  # drift per column (first fed here), prediction drift, live metrics, shadow, rows


def _monitor(served, *extra: str):
    return invoke(
        "monitor",
        MODEL,
        "--env",
        "prod",
        "--window",
        "1h",
        "--end",
        END.isoformat(),
        "--payloads",
        served.payloads,
        *extra,
    )


def _traffic(served, german_credit, demo_versions) -> None:
    """An hour of stable traffic with labels for some rows, and its shadow copied to the candidate."""
    from modelops.gitops.releases.registered import resolve_release
    from modelops.gitops.releases.transitions import OverlayState, Traffic
    from modelops.gitops.repository import layout as gitops_layout
    from modelops.gitops.repository.overlay_files import write_state

    overlay = served.root / gitops_layout.overlay_dir(MODEL, "prod")
    texts = {str(p.relative_to(served.root)): p.read_text() for p in overlay.glob("*.yaml")}
    state = OverlayState(
        stable=resolve_release(MODEL, served.version)[0],
        candidate=resolve_release(MODEL, demo_versions.better)[0],
        traffic=Traffic(100, 0, 30),
    )
    for path, text in write_state(texts, model=MODEL, environment="prod", state=state).items():
        (served.root / path).write_text(text)
    inputs = [c for c in german_credit.training.columns if c != "risk"]
    frame = live_rows(german_credit.evaluation, inputs, rows=600, seed=11)
    ids = [f"r{i}" for i in range(len(frame))]
    stable, _ = scorer(served.version)
    write_payloads(
        served.payloads,
        frame,
        scores=stable.predict_proba(frame)[:, 1],
        version=served.version,
        request_ids=ids,
    )
    labels = german_credit.evaluation["risk"].sample(n=600, replace=True, random_state=11).to_numpy()
    write_labels(served.payloads, ids[:400], labels[:400])
    candidate, _ = scorer(demo_versions.better)
    mirrored = frame.iloc[:200]
    write_payloads(
        served.payloads,
        mirrored,
        scores=candidate.predict_proba(mirrored)[:, 1],
        version=demo_versions.better,
        release="candidate",
    )


def _write_yaml(path: Path, document) -> Path:
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(document, handle)
    return path


def _query(base: str, expr: str) -> list:
    return live.get_json(f"{base}/api/v1/query?query={quote(expr)}")["data"]["result"]


@pytest.mark.usefixtures("push_login")
def test_every_new_panel_and_rule_works_on_what_the_command_pushed(
    served,
    german_credit,
    demo_versions,
    tmp_path,
):
    prometheus_binary = require_command("prometheus")
    _traffic(served, german_credit, demo_versions)
    with pushgateway(tmp_path) as gateway:
        result = _monitor(served, "--pushgateway", gateway)
        assert result.exit_code == 0, result.output
        rules = tmp_path / "rules.yaml"
        groups = slo_rules(models_namespace="models-prod", error_rate=0.01, p95_ms=40, drift_threshold=0.1)
        groups["groups"] += monitor_rules(models_namespace="models-prod", period_s=3600)["groups"]
        _write_yaml(rules, groups)
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(rules)],
            "scrape_configs": [scrape_config(gateway)],
        }
        with live.prometheus(
            prometheus_binary, _write_yaml(tmp_path / "prometheus.yml", config), tmp_path
        ) as base:
            panels = {p["id"]: p for p in serving_dashboard(p95_target_ms=40, drift_threshold=0.1)["panels"]}
            exprs = [t["expr"] for i in NEW_PANELS for t in panels[i]["targets"]]
            deadline = time.monotonic() + 60
            answered: dict[str, list] = {}
            while time.monotonic() < deadline and len(answered) < len(exprs):
                answered = {e: r for e in exprs if (r := _query(base, e))}
                time.sleep(0.5)
            assert sorted(answered) == sorted(exprs), set(exprs) - set(answered)
            releases = {s["metric"]["release"] for s in answered[promql.monitored_rows()]}
            assert releases == {"stable", "candidate"}
            (agreement,) = answered[promql.shadow_agreement()]
            assert agreement["metric"] == {"model": MODEL, "release": "candidate"}
            metrics = {s["metric"]["metric"] for s in answered[promql.live_metric()]}
            assert "roc_auc" in metrics
            age = _query(base, promql.monitor_age_seconds())
            assert age and float(age[0]["value"][1]) < 120  # the run just succeeded
            # Evaluated before the first scrape, `absent()` held and the rule went pending; the first
            # evaluation after it must find the job fresh and let it go.
            deadline = time.monotonic() + 30
            while True:
                groups = live.get_json(f"{base}/api/v1/rules")["data"]["groups"]
                stale = next(r for g in groups for r in g["rules"] if r["name"] == "ModelMonitorStale")
                if stale["state"] == "inactive" or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert stale["health"] == "ok" and stale["state"] == "inactive", stale


def test_an_unreachable_pushgateway_is_its_own_exit_code_after_retries(served, german_credit):
    frame = live_rows(german_credit.training, served.features, rows=200, seed=12)
    model, _ = scorer(served.version)
    write_payloads(served.payloads, frame, scores=model.predict_proba(frame)[:, 1], version=served.version)
    started = time.monotonic()
    result = _monitor(served, "--pushgateway", f"127.0.0.1:{free_port()}")
    assert result.exit_code == 3, result.output
    assert "unreachable after 3 attempts" in result.output
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("login", ["none", "wrong"])
def test_a_push_without_the_login_is_refused_at_once_and_stores_nothing(
    served, german_credit, tmp_path, monkeypatch, login
):
    frame = live_rows(german_credit.training, served.features, rows=200, seed=14)
    model, _ = scorer(served.version)
    write_payloads(served.payloads, frame, scores=model.predict_proba(frame)[:, 1], version=served.version)
    if login == "wrong":
        password = tmp_path / "push-password"
        password.write_text("not-the-password")
        monkeypatch.setenv("MODELOPS_PUSHGATEWAY_USERNAME", PUSH_USER)
        monkeypatch.setenv("MODELOPS_PUSHGATEWAY_PASSWORD_FILE", str(password))
    with pushgateway(tmp_path) as gateway:
        started = time.monotonic()
        result = _monitor(served, "--pushgateway", gateway)
        assert result.exit_code == 3, result.output
        assert "refused the push" in result.output and "HTTP 401" in result.output
        assert time.monotonic() - started < 30  # no retries of a login that cannot succeed
        assert "modelops_drift_score" not in gateway_metrics(gateway)


def test_half_a_login_is_exit_2_before_anything_runs(served, monkeypatch):
    monkeypatch.setenv("MODELOPS_PUSHGATEWAY_USERNAME", PUSH_USER)
    monkeypatch.delenv("MODELOPS_PUSHGATEWAY_PASSWORD_FILE", raising=False)
    result = _monitor(served, "--pushgateway", "127.0.0.1:9")
    assert result.exit_code == 2, result.output
    assert "MODELOPS_PUSHGATEWAY_USERNAME and MODELOPS_PUSHGATEWAY_PASSWORD_FILE go together" in result.output


def test_a_malformed_file_in_the_window_is_exit_2_naming_it(served, german_credit):
    frame = live_rows(german_credit.training, served.features, rows=200, seed=13)
    model, _ = scorer(served.version)
    good = write_payloads(
        served.payloads, frame, scores=model.predict_proba(frame)[:, 1], version=served.version
    )
    broken = good.with_name("part-broken.parquet")
    broken.write_bytes(b"PAR1 this is not a parquet file")
    result = _monitor(served)
    assert result.exit_code == 2, result.output
    assert "part-broken.parquet" in result.output and "Traceback" not in result.output


def test_a_release_whose_reference_is_missing_is_exit_2_naming_the_version(
    served, german_credit, monkeypatch
):
    import mlflow

    from tests.conftest import register_demo_model
    from tests.gitops.conftest import pin_everywhere

    version = register_demo_model("champion", german_credit)
    run_id = mlflow.MlflowClient().get_model_version(MODEL, version).run_id
    artifacts = Path(mlflow.MlflowClient().get_run(run_id).info.artifact_uri.removeprefix("file://"))
    (artifacts / "datasets" / "training.parquet").unlink()
    pin_everywhere(served.root, MODEL, version)
    result = _monitor(served)
    assert result.exit_code == 2, result.output
    assert f"stable v{version}" in result.output and "training.parquet" in result.output


@pytest.mark.parametrize("window", ["0h", "1w", "8d", "soon"])
def test_a_window_that_is_no_duration_is_exit_2(served, window):
    result = invoke("monitor", MODEL, "--env", "prod", "--window", window, "--payloads", served.payloads)
    assert result.exit_code == 2 and "--window" in result.output
