"""The payload sink's alerts, checked by promtool's rule unit tests on the series the sink exports.

The series names are read from the sink's own metrics registry, so a renamed counter fails here
before it silences an alert in a cluster.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from modelops.payloads.metrics import SinkMetrics
from modelops_infra import layout as L
from modelops_infra.manifests.alert_rules import SINK_JOB, sink_rules, sink_scrape
from tests.infra.manifests.promtool.cases import render
from tests.tools import require_command

SINK = {"job": SINK_JOB, "namespace": L.JOBS_NAMESPACE, "instance": "10.0.0.7:8080"}


def _series(name: str, values: str, **labels: str) -> dict[str, str]:
    selector = ",".join(f'{k}="{v}"' for k, v in {**SINK, **labels}.items())
    return {"series": f"{name}{{{selector}}}", "values": values}


def _write(path: Path, document: dict[str, Any]) -> Path:
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(document, handle)
    return path


def _promtool_test(
    tmp_path: Path, series: list[dict[str, str]], at: str, expected: dict[str, bool], *, value: float = 0.0
) -> None:
    """Each alert of `expected` fires at `at` (with its labels and rendered annotations) or is silent."""
    rules = _write(tmp_path / "sink.rules.yaml", sink_rules())
    document = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {
                        "eval_time": at,
                        "alertname": alert,
                        "exp_alerts": [_expected(alert, value)] if fires else [],
                    }
                    for alert, fires in expected.items()
                ],
            }
        ],
    }
    done = subprocess.run(
        [require_command("promtool"), "test", "rules", str(_write(tmp_path / "sink.test.yaml", document))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _rules() -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for g in sink_rules()["groups"] for r in g["rules"]}


def _expected(alert: str, value: float) -> dict[str, Any]:
    rule = _rules()[alert]
    labels: dict[str, str] = {}  # sums and absent() of a comparison keep no label of the series
    return {
        "exp_labels": {**labels, **rule["labels"]},
        "exp_annotations": {k: render(v, labels, value) for k, v in rule["annotations"].items()},
    }


def test_the_rules_read_series_the_sink_exports():
    exported = {
        sample.name
        for family in SinkMetrics().registry.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    } | {f"{family.name}_total" for family in SinkMetrics().registry.collect() if family.type == "counter"}
    for rule in _rules().values():
        for name in (
            "payload_sink_events_total",
            "payload_sink_evicted_total",
            "payload_sink_flush_failures_total",
        ):
            if name in rule["expr"]:
                assert name in exported, (rule["alert"], name)
    assert sink_scrape()["spec"]["selector"]["matchLabels"] == {"app": SINK_JOB}


@pytest.mark.parametrize(
    ("failures", "fires"),
    [("0+0x40", False), ("0+0x10 1+1x30", True)],
    ids=["writes succeed", "writes keep failing"],
)
def test_failing_writes_page(tmp_path, failures, fires):
    series = [_series("payload_sink_flush_failures_total", failures), _series("up", "1+0x40")]
    _promtool_test(tmp_path, series, "35m", {"PayloadSinkWritesFailing": fires, "PayloadSinkDown": False})


@pytest.mark.parametrize(
    ("evicted_per_minute", "fires"),
    [(0, False), (2, False), (15, True)],
    ids=["every event paired", "2% unpaired: model errors", "15% unpaired"],
)
def test_events_dropped_unpaired_past_the_share_open_a_ticket(tmp_path, evicted_per_minute, fires):
    series = [
        _series("payload_sink_events_total", "0+100x80", kind="request", outcome="pending"),
        _series("payload_sink_evicted_total", f"0+{evicted_per_minute}x80"),
        _series("up", "1+0x80"),
    ]
    _promtool_test(
        tmp_path, series, "75m", {"PayloadSinkUnpairedEvents": fires}, value=evicted_per_minute / 100
    )


@pytest.mark.parametrize(("up", "fires"), [("1+0x30", False), ("0+0x30", True), (None, True)])
def test_a_sink_down_or_unscraped_opens_a_ticket(tmp_path, up, fires):
    series = [_series("up", up)] if up else [_series("payload_sink_rows_written_total", "0+1x30")]
    _promtool_test(tmp_path, series, "25m", {"PayloadSinkDown": fires})
