"""The latency gate measures what the live alert measures: the candidate on the platform's MLServer,
timed by MLServer's own request-duration histogram, its quantiles interpolated as Prometheus does."""

from __future__ import annotations

import json
import math
import time
import urllib.parse
import urllib.request

import pytest

from modelops.serving.histogram import INFER_PATH, Histogram, quantile, request_durations
from modelops.serving.latency import measure_latency
from tests.infra.manifests.promtool.live import get_json, prometheus
from tests.tools import require_command

INF = math.inf


def test_quantiles_interpolate_inside_the_bucket_as_prometheus_does():
    histogram = Histogram(((0.005, 0), (0.01, 10), (0.025, 90), (0.05, 100), (INF, 100)))
    assert quantile(0.5, histogram) == pytest.approx(0.01 + 0.015 * (50 - 10) / 80)
    assert quantile(0.95, histogram) == pytest.approx(0.025 + 0.025 * (95 - 90) / 10)
    # A rank in +Inf answers the highest finite bound; nothing observed answers NaN.
    assert quantile(0.99, Histogram(((0.1, 1), (INF, 100)))) == 0.1
    assert math.isnan(quantile(0.95, Histogram(((0.1, 0), (INF, 0)))))


def test_only_the_infer_route_with_status_200_is_read_and_warm_up_is_subtracted():
    page = "\n".join(
        [
            "# TYPE rest_server_request_duration_seconds histogram",
            *(
                f'rest_server_request_duration_seconds_bucket{{app_name="mlserver",method="{m}",path="{p}",'
                f'status_code="{s}",le="{le}"}} {n}'
                for m, p, s, n in [
                    ("POST", INFER_PATH, "200", 7),
                    ("GET", "/v2/health/ready", "200", 1000),
                    ("POST", INFER_PATH, "500", 1000),
                ]
                for le in ("0.01", "+Inf")
            ),
        ]
    )
    histogram = request_durations(page)
    assert histogram.buckets == ((0.01, 7.0), (INF, 7.0))
    assert histogram.minus(Histogram(((0.01, 2.0), (INF, 2.0)))).count == 5


@pytest.mark.slow
def test_the_gates_p95_is_prometheus_histogram_quantile_over_the_same_server(
    demo_versions, german_credit, serving_runtime, tmp_path
):
    from modelops.config import load_model_policy
    from modelops.registry.versions import VersionRef, fetch_version

    binary = require_command("prometheus")
    policy = load_model_policy("credit-risk")
    rows = german_credit.evaluation.drop(columns=[policy.label]).head(20)
    fetched = fetch_version(VersionRef("credit-risk", demo_versions.champion), tmp_path / "artifact")

    [measured] = measure_latency(
        fetched.local_dir,
        model="credit-risk",
        rows=rows,
        requests=60,
        warmup=5,
        log=tmp_path / "mlserver.log",
    )
    assert measured.requests == 60 and measured.failed == 0
    assert 0 < measured.p50_ms <= measured.p95_ms <= measured.p99_ms

    # The same measurement without the warm-up subtraction, side by side with a real Prometheus
    # scraping that server: the gate's interpolation must give Prometheus' answer.
    from modelops.serving.latency import served_as
    from modelops.serving.mlserver import infer, running
    from modelops.serving.v2 import request_from_frame

    with running(
        served_as("credit-risk"), artifact_dir=fetched.local_dir, log=tmp_path / "second.log"
    ) as server:
        for i in range(40):
            status, _ = infer(
                f"{server.url}/v2/models/credit-risk/infer", request_from_frame(rows.iloc[[i % 20]])
            )
            assert status == 200
        target = urllib.parse.urlparse(server.metrics_url).netloc
        config = tmp_path / "prometheus.yml"
        config.write_text(
            json.dumps(
                {
                    "global": {"scrape_interval": "1s"},
                    "scrape_configs": [{"job_name": "mlserver", "static_configs": [{"targets": [target]}]}],
                }
            )
        )
        query = (
            "histogram_quantile(0.95, sum by (le) (rest_server_request_duration_seconds_bucket"
            f'{{path="{INFER_PATH}",method="POST",status_code="200"}}))'
        )
        with prometheus(binary, config, tmp_path) as base:
            deadline = time.monotonic() + 30
            answer: list = []
            while not answer and time.monotonic() < deadline:
                time.sleep(1)
                answer = get_json(f"{base}/api/v1/query?query={urllib.parse.quote(query)}")["data"]["result"]
            assert answer, "Prometheus never scraped MLServer's histogram"
            with urllib.request.urlopen(server.metrics_url, timeout=10) as page:
                ours = quantile(0.95, request_durations(page.read().decode()))
        assert float(answer[0]["value"][1]) == pytest.approx(ours, rel=1e-9)
