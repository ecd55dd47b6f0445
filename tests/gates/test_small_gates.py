from modelops.config.environment import LatencyPolicy
from modelops.gates import check_latency
from modelops.gates.ladder import check_ladder


def test_latency_p95_on_both_sides_of_the_sla():
    latencies = [float(v) for v in range(1, 101)]  # p95 = 95.05
    assert check_latency(latencies, policy=LatencyPolicy(p95_ms=95.05)).passed
    blocked = check_latency(latencies, policy=LatencyPolicy(p95_ms=95.0))
    assert not blocked.passed
    assert "exceeds the SLA" in blocked.reasons[0]


def test_latency_without_measurements_fails():
    assert not check_latency([], policy=LatencyPolicy(p95_ms=10)).passed


def test_first_rung_needs_nothing_before_it():
    assert check_ladder("dev", None, {}).passed


def test_a_rung_needs_the_previous_gate_passed():
    assert check_ladder("staging", "dev", {"gate.dev": "passed"}).passed
    for tags in ({}, {"gate.dev": "failed"}):
        result = check_ladder("staging", "dev", tags)
        assert not result.passed
        assert "passed the dev gate first" in result.reasons[0]
