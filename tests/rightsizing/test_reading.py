"""Usage and recommendations read from a real Prometheus holding synthetic histories with known answers."""

from __future__ import annotations

from datetime import datetime

import pytest

from modelops.bench.cadvisor_history import MIB
from modelops.config import load_environment
from modelops.errors import InputError
from modelops.rightsizing.prometheus import connect, read_usage
from modelops.rightsizing.recommend import recommend
from modelops.rightsizing.usage import Resources, Usage
from tests.rightsizing.conftest import DAYS, NAMESPACE

ENV = load_environment("prod")
POLICY = ENV.rightsizing
SLA_MS = ENV.promotion.latency.p95_ms
BASE = Resources(cpu_request=0.25, cpu_limit=1.0, memory_request=512 * MIB, memory_limit=1024 * MIB)
MARGIN = 1 + 1 / DAYS  # VPA's confidence margin at ten days of history


def _usage(prometheus_history: tuple[str, datetime], *models: str) -> dict[tuple[str, str], Usage]:
    assert POLICY is not None
    base, end = prometheus_history
    return read_usage(connect(base), namespace=NAMESPACE, models=models, window="14d", policy=POLICY, at=end)


def _recommend(usage: Usage) -> Resources | None:
    assert POLICY is not None
    return recommend(usage, BASE, policy=POLICY, sla_ms=SLA_MS).recommended


def test_steady_usage_gives_krr_with_the_confidence_margin(prometheus_history) -> None:
    usage = _usage(prometheus_history, "steady")[("steady", "stable")]
    assert usage.cpu_percentile == pytest.approx(0.1)
    assert usage.memory_peak == pytest.approx(300 * MIB)
    assert usage.history_days == pytest.approx(DAYS, abs=0.01)
    assert usage.pods == 1
    assert usage.cpu_samples == DAYS * 720  # one every 2 minutes
    assert usage.latency_p95_ms == pytest.approx(19.5)
    recommended = _recommend(usage)
    assert recommended is not None
    assert recommended.cpu_request == pytest.approx(0.1 * MARGIN, abs=0.001)
    assert recommended.memory_request == recommended.memory_limit
    assert recommended.memory_limit == pytest.approx(300 * MIB * 1.15 * MARGIN, abs=MIB)
    assert recommended.cpu_limit == BASE.cpu_limit  # never lowered


def test_other_namespaces_models_and_containers_are_ignored_and_the_candidate_kept_apart(
    prometheus_history,
) -> None:
    usage = _usage(prometheus_history, "steady")
    assert set(usage) == {("steady", "stable"), ("steady", "candidate")}
    stable, candidate = usage[("steady", "stable")], usage[("steady", "candidate")]
    assert stable.cpu_peak == pytest.approx(0.1) and stable.memory_peak == pytest.approx(300 * MIB)
    assert candidate.cpu_percentile == pytest.approx(0.2)
    assert candidate.memory_peak == pytest.approx(400 * MIB)
    assert candidate.history_days == pytest.approx(3, abs=0.01)
    assert candidate.latency_p95_ms == pytest.approx(39.5)


def test_a_rare_spike_stays_above_the_percentile_and_a_common_one_sets_it(prometheus_history) -> None:
    usage = _usage(prometheus_history, "spiky", "busy")
    spiky, busy = usage[("spiky", "stable")], usage[("busy", "stable")]
    assert spiky.cpu_percentile == pytest.approx(0.1)
    assert spiky.cpu_peak == pytest.approx(0.8)
    assert busy.cpu_percentile == pytest.approx(0.8)
    recommended = _recommend(busy)
    assert recommended is not None
    assert recommended.cpu_request == pytest.approx(0.8 * MARGIN, abs=0.001)
    assert recommended.cpu_limit == pytest.approx(0.8 * MARGIN * 4, abs=0.004)  # request x cpu_limit_ratio


def test_a_memory_peak_between_two_steps_is_seen(prometheus_history) -> None:
    peaky = _usage(prometheus_history, "peaky")[("peaky", "stable")]
    assert peaky.memory_peak == pytest.approx(900 * MIB)
    recommended = _recommend(peaky)
    assert recommended is not None
    assert recommended.memory_limit == pytest.approx(900 * MIB * 1.15 * MARGIN, abs=MIB)


def test_an_oom_kill_bumps_memory_above_the_killed_limit(prometheus_history) -> None:
    oomed = _usage(prometheus_history, "oomed")[("oomed", "stable")]
    assert oomed.oom_killed
    recommended = _recommend(oomed)
    assert recommended is not None
    # 400 MiB x 1.15 x margin is 506 MiB; the kill at the 1 GiB limit asks for 1 GiB x 1.2.
    assert recommended.memory_request == pytest.approx(BASE.memory_limit * 1.2, abs=MIB)
    assert not _usage(prometheus_history, "steady")[("steady", "stable")].oom_killed


def test_too_little_history_is_refused_saying_how_much_there_is(prometheus_history) -> None:
    assert POLICY is not None
    young = _usage(prometheus_history, "young")[("young", "stable")]
    assert young.history_days == pytest.approx(2, abs=0.01)
    outcome = recommend(young, BASE, policy=POLICY, sla_ms=SLA_MS)
    assert outcome.recommended is None
    assert outcome.refused is not None
    assert "2.0 days" in outcome.refused and "needs 7 days" in outcome.refused


def test_history_is_the_release_s_not_each_pod_s_nor_their_sum(prometheus_history) -> None:
    assert POLICY is not None
    usage = _usage(prometheus_history, "rolled", "paired")
    rolled, paired = usage[("rolled", "stable")], usage[("paired", "stable")]
    assert rolled.pods == 2 and paired.pods == 2
    assert rolled.history_days == pytest.approx(10, abs=0.1)  # 5 days of one pod, then 5 of another
    assert paired.history_days == pytest.approx(4, abs=0.1)  # two replicas for 4 days: 4 days
    assert recommend(rolled, BASE, policy=POLICY, sla_ms=SLA_MS).refused is None
    assert recommend(paired, BASE, policy=POLICY, sla_ms=SLA_MS).refused is not None


def test_throttled_cpu_is_not_lowered_and_its_limit_is_raised(prometheus_history) -> None:
    throttled = _usage(prometheus_history, "throttled")[("throttled", "stable")]
    assert throttled.throttled_share == pytest.approx(0.3)
    recommended = _recommend(throttled)
    assert recommended is not None
    assert recommended.cpu_request == BASE.cpu_request
    assert recommended.cpu_limit == pytest.approx(BASE.cpu_limit * 2)


def test_cpu_is_not_lowered_near_the_latency_sla_nor_without_latency(prometheus_history) -> None:
    usage = _usage(prometheus_history, "slow", "brisk", "silent")
    slow, brisk, silent = (usage[(m, "stable")] for m in ("slow", "brisk", "silent"))
    assert slow.latency_p95_ms == pytest.approx(39.5)  # over 0.8 x 40 ms
    assert brisk.latency_p95_ms == pytest.approx(29.5)  # under it
    assert silent.latency_p95_ms is None
    for held in (slow, silent):
        recommended = _recommend(held)
        assert recommended is not None and recommended.cpu_request == BASE.cpu_request
    lowered = _recommend(brisk)
    assert lowered is not None and lowered.cpu_request < BASE.cpu_request


def test_nan_samples_change_nothing(prometheus_history) -> None:
    usage = _usage(prometheus_history, "gappy", "spread")
    gappy, spread = usage[("gappy", "stable")], usage[("spread", "stable")]
    assert spread.cpu_percentile == pytest.approx(0.3)
    assert gappy.cpu_percentile == pytest.approx(spread.cpu_percentile)
    assert gappy.cpu_peak == pytest.approx(spread.cpu_peak)
    assert gappy.memory_peak == pytest.approx(spread.memory_peak)


def test_an_unreachable_prometheus_is_one_input_error() -> None:
    assert POLICY is not None
    query = connect("http://127.0.0.1:9")  # the discard port: nothing listens
    with pytest.raises(InputError, match=r"Prometheus at http://127.0.0.1:9"):
        read_usage(
            query, namespace=NAMESPACE, models=["steady"], window="14d", policy=POLICY, at=datetime.now()
        )


def test_a_model_name_that_would_bend_the_query_is_refused() -> None:
    assert POLICY is not None
    with pytest.raises(InputError, match="not a model name"):
        read_usage(
            connect("http://127.0.0.1:9"),
            namespace=NAMESPACE,
            models=['steady|.*"}'],
            window="14d",
            policy=POLICY,
            at=datetime.now(),
        )
