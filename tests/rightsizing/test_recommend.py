"""The recommender's rules, each on both sides of its boundary (pure: no Prometheus)."""

from __future__ import annotations

import dataclasses

import pytest

from modelops.config import load_environment
from modelops.config.rightsizing import RightsizingPolicy
from modelops.rightsizing.recommend import candidate_comparison, confidence_margin, recommend
from modelops.rightsizing.usage import Resources, Usage

MIB = 1024**2
POLICY = RightsizingPolicy()  # the anchors' defaults
SLA_MS = 40.0
CURRENT = Resources(cpu_request=0.25, cpu_limit=1.0, memory_request=512 * MIB, memory_limit=1024 * MIB)
STEADY = Usage(
    cpu_percentile=0.1,
    cpu_peak=0.15,
    memory_peak=300 * MIB,
    cpu_samples=8064,
    memory_samples=8064,
    history_days=14.0,
    throttled_share=0.0,
    pods=2,
    latency_p95_ms=10.0,
)


def _with(**changes: object) -> Usage:
    return dataclasses.replace(STEADY, **changes)  # type: ignore[arg-type]


def _recommended(usage: Usage, current: Resources = CURRENT, policy: RightsizingPolicy = POLICY) -> Resources:
    result = recommend(usage, current, policy=policy, sla_ms=SLA_MS)
    assert result.recommended is not None, result.refused
    return result.recommended


def test_every_environment_has_a_rightsizing_policy() -> None:
    for name in ("local", "dev", "staging", "prod"):
        assert load_environment(name).rightsizing is not None


def test_the_margin_shrinks_with_days_of_history() -> None:
    assert confidence_margin(1, policy=POLICY) == pytest.approx(2.0)
    assert confidence_margin(14, policy=POLICY) == pytest.approx(1 + 1 / 14)
    assert confidence_margin(7, policy=POLICY) > confidence_margin(14, policy=POLICY)


def test_history_at_the_minimum_is_used_and_just_under_it_is_refused() -> None:
    at = recommend(_with(history_days=7.0), CURRENT, policy=POLICY, sla_ms=SLA_MS)
    under = recommend(_with(history_days=6.99), CURRENT, policy=POLICY, sla_ms=SLA_MS)
    assert at.recommended is not None and at.refused is None
    assert under.recommended is None
    assert under.refused is not None and "7.0 days" in under.refused and "needs 7 days" in under.refused


def test_no_samples_at_all_is_refused_even_with_a_long_window() -> None:
    assert recommend(Usage(), CURRENT, policy=POLICY, sla_ms=SLA_MS).refused is not None
    no_memory = _with(memory_peak=None)
    assert recommend(no_memory, CURRENT, policy=POLICY, sla_ms=SLA_MS).refused is not None


def test_cpu_and_memory_follow_krr_scaled_by_the_margin() -> None:
    recommended = _recommended(STEADY)
    margin = 1 + 1 / 14
    assert recommended.cpu_request == pytest.approx(0.1 * margin, abs=0.001)
    assert recommended.memory_request == recommended.memory_limit
    assert recommended.memory_request == pytest.approx(300 * MIB * 1.15 * margin, abs=MIB)


def test_floors_hold_an_idle_release_up() -> None:
    recommended = _recommended(_with(cpu_percentile=0.001, cpu_peak=0.002, memory_peak=10 * MIB))
    assert recommended.cpu_request == POLICY.min_cpu_millicores / 1000
    assert recommended.memory_request == POLICY.min_memory_mib * MIB


def test_the_latency_guard_holds_cpu_at_the_margin_and_releases_it_just_under() -> None:
    near = (1 - POLICY.latency_headroom) * SLA_MS  # 32 ms
    held = recommend(_with(latency_p95_ms=near), CURRENT, policy=POLICY, sla_ms=SLA_MS)
    assert held.recommended is not None and held.recommended.cpu_request == CURRENT.cpu_request
    assert any("within 20% of the SLA 40.0 ms" in note for note in held.notes)
    released = _recommended(_with(latency_p95_ms=near - 0.1))
    assert released.cpu_request < CURRENT.cpu_request


def test_the_latency_guard_never_stops_cpu_from_rising() -> None:
    assert _recommended(_with(cpu_percentile=0.5, latency_p95_ms=39.0)).cpu_request > CURRENT.cpu_request


def test_without_latency_cpu_is_not_lowered() -> None:
    held = recommend(_with(latency_p95_ms=None), CURRENT, policy=POLICY, sla_ms=SLA_MS)
    assert held.recommended is not None and held.recommended.cpu_request == CURRENT.cpu_request
    assert any("no latency" in note for note in held.notes)


def test_throttling_above_the_share_holds_cpu_and_raises_the_limit_at_it_does_neither() -> None:
    at = _recommended(_with(throttled_share=POLICY.max_throttled_share))
    assert at.cpu_request < CURRENT.cpu_request and at.cpu_limit == CURRENT.cpu_limit
    over = _recommended(_with(throttled_share=POLICY.max_throttled_share + 0.01))
    assert over.cpu_request == CURRENT.cpu_request
    assert over.cpu_limit == pytest.approx(CURRENT.cpu_limit * POLICY.throttled_limit_bump)


def test_the_cpu_limit_is_never_lowered_and_follows_a_large_request() -> None:
    assert _recommended(STEADY).cpu_limit == CURRENT.cpu_limit
    big = _recommended(_with(cpu_percentile=0.6, cpu_peak=0.9))
    assert big.cpu_limit == pytest.approx(big.cpu_request * POLICY.cpu_limit_ratio, abs=0.004)
    assert big.cpu_limit >= 0.9


def test_an_oom_kill_bumps_memory_by_the_larger_of_ratio_and_minimum() -> None:
    oomed = _recommended(_with(oom_killed=True))
    assert oomed.memory_limit == pytest.approx(1024 * MIB * 1.2, abs=MIB)  # 1228.8 > 1024 + 100
    small = Resources(cpu_request=0.25, cpu_limit=1.0, memory_request=256 * MIB, memory_limit=300 * MIB)
    bumped = _recommended(_with(oom_killed=True, memory_peak=290 * MIB), current=small)
    assert bumped.memory_limit == 400 * MIB  # 300 + 100 > 300 x 1.2


def test_small_decreases_are_not_proposed_and_small_increases_are() -> None:
    # 0.23 is 8 % under 0.25: kept. 0.22 is 12 % under: proposed.
    kept = recommend(_with(cpu_percentile=0.23 / (1 + 1 / 14)), CURRENT, policy=POLICY, sla_ms=SLA_MS)
    assert kept.recommended is not None and kept.recommended.cpu_request == CURRENT.cpu_request
    lowered = _recommended(_with(cpu_percentile=0.22 / (1 + 1 / 14)))
    assert lowered.cpu_request == pytest.approx(0.22, abs=0.001)
    raised = _recommended(_with(cpu_percentile=0.255 / (1 + 1 / 14)))
    assert raised.cpu_request == pytest.approx(0.255, abs=0.001)


def test_memory_limit_never_falls_under_the_request() -> None:
    # 500 MiB is within 10 % of the 512 MiB request (kept) but half the 1 GiB limit (lowered).
    peak = 500 * MIB / 1.15 / (1 + 1 / 14)
    recommended = _recommended(_with(memory_peak=peak))
    assert recommended.memory_request == CURRENT.memory_request
    assert recommended.memory_limit >= recommended.memory_request


def test_memory_covers_a_candidate_s_peak_and_only_a_larger_one() -> None:
    margin = 1 + 1 / 14
    hungry = _with(memory_peak=900 * MIB)
    covered = recommend(STEADY, CURRENT, policy=POLICY, sla_ms=SLA_MS, candidate=hungry)
    assert covered.recommended is not None
    assert covered.recommended.memory_limit == pytest.approx(900 * MIB * 1.15 * margin, abs=MIB)
    assert any("candidate's peak 900Mi" in note for note in covered.notes)
    lighter = recommend(STEADY, CURRENT, policy=POLICY, sla_ms=SLA_MS, candidate=_with(memory_peak=200 * MIB))
    assert lighter.recommended == _recommended(STEADY)


def test_unchanged_values_propose_nothing() -> None:
    current = _recommended(STEADY)
    again = recommend(STEADY, current, policy=POLICY, sla_ms=SLA_MS)
    assert not again.changed
    assert recommend(STEADY, CURRENT, policy=POLICY, sla_ms=SLA_MS).changed


def test_a_candidate_that_would_outgrow_the_recommendation_is_named() -> None:
    recommended = _recommended(STEADY)
    hungry = _with(cpu_percentile=0.3, memory_peak=900 * MIB)
    notes = candidate_comparison(STEADY, hungry, recommended, margin=1 + 1 / 14)
    assert any("more CPU than recommended" in n for n in notes)
    assert any("+200%" in n for n in notes)  # 0.3 against stable's 0.1
    assert any("only its share of the traffic" in n for n in notes)
    modest = candidate_comparison(STEADY, STEADY, recommended, margin=1 + 1 / 14)
    assert not any("recommended" in n for n in modest)
