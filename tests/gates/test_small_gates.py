import math

from modelops.config.environment import LatencyPolicy
from modelops.gates import check_latency
from modelops.gates.ladder import check_ladder
from modelops.gates.latency import LatencyMeasurement


def measured(p95_ms: float, *, requests: int = 200, failed: int = 0) -> LatencyMeasurement:
    return LatencyMeasurement(requests, p95_ms / 2, p95_ms, p95_ms * 1.2, failed)


def test_latency_p95_on_both_sides_of_the_sla():
    assert check_latency([measured(95.05)], policy=LatencyPolicy(p95_ms=95.05)).passed
    blocked = check_latency([measured(95.06)], policy=LatencyPolicy(p95_ms=95.05))
    assert not blocked.passed
    assert "exceeds the SLA" in blocked.reasons[0]


def test_the_quietest_batch_is_judged_and_every_batch_is_reported():
    result = check_latency([measured(80.0), measured(40.0), measured(60.0)], policy=LatencyPolicy(p95_ms=50))
    assert result.passed and result.measured["p95_ms"] == 40.0
    assert result.measured["batches_p95_ms"] == [80.0, 40.0, 60.0]
    assert not check_latency([measured(80.0), measured(51.0)], policy=LatencyPolicy(p95_ms=50)).passed


def test_latency_without_measurements_fails():
    assert not check_latency([], policy=LatencyPolicy(p95_ms=10)).passed
    assert not check_latency([measured(math.nan, requests=0)], policy=LatencyPolicy(p95_ms=10)).passed


def test_a_fast_server_that_fails_requests_does_not_pass():
    # Errors answer fast: a p95 over failures would reward them, and a failure in any batch counts.
    result = check_latency([measured(80.0), measured(1.0, failed=3)], policy=LatencyPolicy(p95_ms=10))
    assert result.reasons == ("3 of the timed requests failed on the model server",)


def test_first_rung_needs_nothing_before_it():
    assert check_ladder("dev", None, {}).passed


def test_a_rung_needs_the_previous_gate_passed():
    assert check_ladder("staging", "dev", {"gate.dev": "passed"}).passed
    for tags in ({}, {"gate.dev": "failed"}):
        result = check_ladder("staging", "dev", tags)
        assert not result.passed
        assert "passed the dev gate first" in result.reasons[0]
