"""A real Prometheus on loopback, scraping a stand-in model server that breaches every SLO."""

from __future__ import annotations

import json
import math
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from modelops.bench import prometheus_history
from tests.infra.manifests.promtool import series as S
from tests.infra.manifests.promtool.series import Slo

_RESOLUTION = 10_000  # the latency histogram's shares, in 1/10,000ths


@dataclass(frozen=True)
class Breach:
    """What the stand-in serves: a failing share, a p95 and a drift score, all past the SLO."""

    error_share: float
    p95: float
    drift: float
    per_second: float = 20.0

    @classmethod
    def of(cls, slo: Slo) -> Breach:
        return cls(error_share=min(1.0, 5 * slo.error_rate), p95=5 * slo.p95_seconds, drift=3 * slo.drift)

    def expected(self) -> dict[str, float]:
        """What each alert's expression should evaluate to on these series."""
        p95 = S.histogram_quantile(S.QUANTILE, S.latency_histogram(self.p95, _RESOLUTION))
        return {
            "ModelErrorRateHigh": self.error_share,
            "ModelLatencyP95High": p95,
            "ModelDriftHigh": self.drift,
        }

    def model_server(self, elapsed: float) -> str:
        """MLServer's REST metrics after `elapsed` seconds of traffic (target labels come from the scrape)."""
        total = self.per_second * elapsed
        labels = 'app_name="mlserver",method="POST",path="{path}",status_code="{code}"'
        ok, failed = (
            labels.format(path=S.INFER_PATH, code=200),
            labels.format(path=S.INFER_PATH, code=503),
        )
        lines = [
            "# HELP rest_server_requests_total Total HTTP requests",
            "# TYPE rest_server_requests_total counter",
            f"rest_server_requests_total{{{ok}}} {total * (1 - self.error_share)}",
            f"rest_server_requests_total{{{failed}}} {total * self.error_share}",
            "# HELP rest_server_request_duration_seconds HTTP request duration, in seconds",
            "# TYPE rest_server_request_duration_seconds histogram",
        ]
        counts = S.latency_histogram(self.p95, _RESOLUTION)
        for le, count in zip(S.BUCKETS, counts, strict=True):
            bound = "+Inf" if math.isinf(le) else repr(le)
            observed = total * count / _RESOLUTION
            lines.append(f'rest_server_request_duration_seconds_bucket{{{ok},le="{bound}"}} {observed}')
        lines += [
            f"rest_server_request_duration_seconds_count{{{ok}}} {total}",
            f"rest_server_request_duration_seconds_sum{{{ok}}} {total * self.p95 / 2}",
        ]
        return "\n".join(lines) + "\n"

    def drift_job(self) -> str:
        labels = f'model="{S.MODEL}",release="stable",column="credit_amount"'
        return (
            "# HELP modelops_drift_score Distance of a column between reference and live window\n"
            "# TYPE modelops_drift_score gauge\n"
            f"modelops_drift_score{{{labels}}} {self.drift}\n"
            "# HELP modelops_drift_detected 1 when the monitor finds the column drifted\n"
            "# TYPE modelops_drift_detected gauge\n"
            f"modelops_drift_detected{{{labels}}} 1\n"
        )


@contextmanager
def serving(breach: Breach) -> Iterator[str]:
    """`host:port` of an HTTP server answering /metrics (a model server) and /drift (the drift job)."""
    started = time.monotonic()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            pages = {
                "/metrics": lambda: breach.model_server(time.monotonic() - started),
                "/drift": breach.drift_job,
            }
            if self.path not in pages:
                self.send_error(404)
                return
            body = pages[self.path]().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:  # one line per scrape would drown pytest's output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


@contextmanager
def prometheus(binary: str, config: Path, workdir: Path, *, ready_within: float = 30) -> Iterator[str]:
    """Run Prometheus on a free loopback port until the block ends; yields its base URL."""
    data = workdir / "data"
    with prometheus_history.serving(
        data, workdir, config=config, binary=binary, ready_within_s=ready_within
    ) as base:
        yield base


def config(rule_file: Path, address: str, pod: dict[str, str]) -> dict[str, Any]:
    """Scrape the stand-in as the PodMonitor's job with the pod's target labels, and the drift job."""
    every = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    return {
        "global": every,
        "rule_files": [str(rule_file)],
        "scrape_configs": [
            {
                "job_name": pod["job"],
                "metrics_path": "/metrics",
                "static_configs": [
                    {
                        "targets": [address],
                        "labels": {k: v for k, v in pod.items() if k not in {"job", "instance"}},
                    }
                ],
            },
            {
                "job_name": "modelops-drift",
                "metrics_path": "/drift",
                "honor_labels": True,
                "static_configs": [{"targets": [address]}],
            },
        ],
    }
