"""The backfilled Prometheus the rollout and rightsizing tests and benchmarks query."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from modelops.bench.prometheus_history import HistoryError, OpenMetricsWriter, create_blocks, history
from tests.tools import require_command

DAY = 86_400


def _query(base: str, query: str, at: float) -> list[dict]:
    params = urllib.parse.urlencode({"query": query, "time": at})
    with urllib.request.urlopen(f"{base}/api/v1/query?{params}", timeout=10) as response:
        return json.load(response)["data"]["result"]


def test_weeks_of_backfilled_series_answer_queries_with_their_labels_intact(tmp_path: Path) -> None:
    promtool, prometheus = require_command("promtool"), require_command("prometheus")
    now = time.time()
    start = now - 30 * DAY
    every = 300.0
    odd = 'a "quoted" \\ label'

    def write(writer: OpenMetricsWriter) -> None:
        writer.family("served_requests", "counter", "Requests served")
        for pod, per_second in (("a", 1.0), ("b", 3.0)):
            points = ((start + i * every, i * every * per_second) for i in range(int(30 * DAY / every)))
            writer.series({"pod": pod}, points, suffix="_total")
        writer.family("odd_gauge", "gauge", "A label needing escapes")
        writer.series({"note": odd}, [(now - 120, 2.5)])

    with history(write, tmp_path, promtool=promtool, binary=prometheus) as base:
        three_weeks_ago = _query(base, "sum by (pod) (rate(served_requests_total[1h]))", now - 21 * DAY)
        rates = {row["metric"]["pod"]: float(row["value"][1]) for row in three_weeks_ago}
        assert rates == pytest.approx({"a": 1.0, "b": 3.0})
        [odd_row] = _query(base, "odd_gauge", now - 60)
        assert odd_row["metric"]["note"] == odd
        assert float(odd_row["value"][1]) == 2.5


def test_a_malformed_history_is_refused_with_promtools_reason(tmp_path: Path) -> None:
    promtool = require_command("promtool")
    bad = tmp_path / "bad.om"
    bad.write_text("# TYPE x gauge\nx{ 1\n# EOF\n")
    with pytest.raises(HistoryError, match="promtool refused"):
        create_blocks(bad, tmp_path / "data", promtool=promtool)
