"""The planning maths on synthetic histories with known answers, against the committed prod policy."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from modelops.rollouts import plan_schedule
from modelops.rollouts.plan import Counts, counts, fit_prior, plan, risk_of, schedule_for
from modelops.rollouts.plan_schedule import Schedule
from tests.rollouts.plan_histories import DAY, NOW, Timeline, clean, prod_policy

POLICY = prod_policy()
BOUNDS = POLICY.plan
assert BOUNDS is not None  # the committed prod.yaml sets the bounds these tests are about
LEAST = Schedule((BOUNDS.minimum.max_first_step, POLICY.steps[-1]), (BOUNDS.minimum.min_bake_minutes,) * 2)


def _platform(**others: int) -> dict[str, Counts]:
    """Other models with that many clean rollouts each, and one failure each: a platform that fails
    about once in forty steps."""
    platform = {}
    for name, rollouts in others.items():
        timeline = Timeline()
        for _ in range(rollouts):
            timeline.rollout()
        timeline.rollout("abort", steps=(10,), at=NOW - 300 * DAY)
        platform[name] = counts(timeline.history(name))
    return platform


def _plan(history, platform):
    return plan(history, {**platform, history.model: counts(history)}, POLICY, now=NOW)


def test_twenty_clean_rollouts_earn_the_fewest_largest_steps_the_policy_allows() -> None:
    made = _plan(clean(20), _platform(a=10, b=10, c=10))
    assert made.source == "history"
    assert made.schedule == LEAST
    assert len(made.schedule.steps) == BOUNDS.minimum.min_steps
    assert made.estimate is not None and made.estimate.upper <= BOUNDS.confident_failure_rate
    assert any("least caution" in reason for reason in made.reasons), made.reasons


def test_a_short_clean_record_earns_less_than_a_long_one() -> None:
    platform = _platform(a=10, b=10, c=10)
    short, long = _plan(clean(1), platform), _plan(clean(20), platform)
    assert short.schedule.steps[0] < long.schedule.steps[0]
    assert short.schedule.bake_minutes[0] > long.schedule.bake_minutes[0]
    assert 0.0 < short.estimate.risk < 1.0  # type: ignore[union-attr]


@pytest.mark.parametrize("end", ["abort", "rollback"])
def test_a_failure_last_week_earns_the_most_cautious_schedule(end: str) -> None:
    timeline = Timeline()
    for _ in range(20):
        timeline.rollout()
    timeline.rollout(end, at=NOW - 7 * DAY)
    made = _plan(timeline.history(), _platform(a=10, b=10, c=10))
    assert made.schedule == schedule_for(1.0, POLICY)
    assert made.schedule.steps[0] == BOUNDS.cautious_first_step
    assert len(made.schedule.steps) == BOUNDS.cautious_steps
    assert set(made.schedule.bake_minutes) == {BOUNDS.cautious_bake_minutes}
    assert made.schedule.steps[-1] == POLICY.steps[-1]
    assert made.estimate is not None and made.estimate.recent_failure is not None
    assert "7.0 days ago" in made.estimate.recent_failure


@pytest.mark.parametrize(("days_ago", "most_cautious"), [(13.9, True), (14.1, False)])
def test_recent_means_within_the_policys_days(days_ago: float, most_cautious: bool) -> None:
    assert BOUNDS.recent_failure_days == 14  # the boundary these cases sit on either side of
    timeline = Timeline()
    for _ in range(20):
        timeline.rollout()
    timeline.rollout("abort", at=NOW - days_ago * DAY)
    made = _plan(timeline.history(), _platform(a=10, b=10, c=10))
    assert (made.schedule == schedule_for(1.0, POLICY)) is most_cautious


def test_the_rates_bound_the_risk_on_both_sides() -> None:
    low, high = BOUNDS.confident_failure_rate, BOUNDS.cautious_failure_rate
    assert risk_of(low * 0.999, BOUNDS) == 0.0 < risk_of(low * 1.001, BOUNDS)
    assert risk_of(high * 0.999, BOUNDS) < 1.0 == risk_of(high * 1.001, BOUNDS)
    assert risk_of(math.sqrt(low * high), BOUNDS) == pytest.approx(0.5)  # halfway on the log scale


def test_the_same_failure_long_ago_is_weighed_not_forgotten() -> None:
    old, fresh = Timeline(), Timeline()
    for timeline, when in ((old, NOW - 60 * DAY), (fresh, NOW - 7 * DAY)):
        for _ in range(20):
            timeline.rollout()
        timeline.rollout("abort", at=when)
    platform = _platform(a=10, b=10, c=10)
    clean_plan, old_plan, fresh_plan = _plan(clean(20), platform), _plan(old.history(), platform), None
    fresh_plan = _plan(fresh.history(), platform)
    assert old_plan.estimate is not None and old_plan.estimate.recent_failure is None
    assert 0.0 < old_plan.estimate.risk < 1.0
    # Between a clean record and a fresh failure, on every axis of caution.
    assert fresh_plan.schedule.steps[0] < old_plan.schedule.steps[0] < clean_plan.schedule.steps[0]
    assert (
        fresh_plan.schedule.bake_minutes[0]
        > old_plan.schedule.bake_minutes[0]
        > clean_plan.schedule.bake_minutes[0]
    )


def test_no_history_returns_the_policys_schedule_and_says_so() -> None:
    made = _plan(Timeline().history(), _platform(a=10))
    assert made.source == "policy" and made.estimate is None
    assert made.schedule == Schedule(tuple(POLICY.steps), (BOUNDS.bake_minutes,) * len(POLICY.steps))
    assert "no judged rollout step of m in prod on record" in made.reasons[0]


def test_rollouts_nobody_gated_earn_no_credit_but_their_failures_count() -> None:
    timeline = Timeline()
    for _ in range(20):
        timeline.rollout()
    ungated = timeline.history(gated=set())
    assert counts(ungated) == Counts(0, 0)
    assert _plan(ungated, _platform(a=10)).source == "policy"  # not the least cautious schedule
    assert any("gate.prod" in note for note in ungated.set_aside)
    timeline.rollout("abort", steps=(10, 25), at=NOW - 100 * DAY)
    assert counts(timeline.history(gated=set())) == Counts(1, 1)  # the abort at 25 %, alone


def test_the_prior_pulls_a_one_rollout_model_toward_the_platform_by_the_expected_amount() -> None:
    platform = {"a": Counts(2, 40), "b": Counts(5, 40), "c": Counts(1, 40), "d": Counts(9, 40)}
    one = Timeline()
    one.rollout("abort", steps=(10, 25, 50), at=NOW - 100 * DAY)  # 2 passed steps, 1 failed
    own = counts(one.history())
    assert own == Counts(1, 3)
    everyone = {**platform, "m": own}
    made = plan(one.history(), everyone, POLICY, now=NOW)
    found = made.estimate
    assert found is not None
    prior = found.prior

    pooled = sum(c.failures for c in everyone.values()) / sum(c.trials for c in everyone.values())
    assert prior.mean == pytest.approx(pooled)

    # The strength maximises the Beta-Binomial marginal likelihood within the bounds: checked on a
    # fine grid with scipy's own betabinom.
    def log_likelihood(s: float) -> float:
        a, b = 0.5 + pooled * s, 0.5 + (1 - pooled) * s
        return sum(float(stats.betabinom.logpmf(c.failures, c.trials, a, b)) for c in everyone.values())

    grid = np.exp(np.linspace(math.log(BOUNDS.min_prior_strength), math.log(BOUNDS.max_prior_strength), 2001))
    assert log_likelihood(prior.strength) >= max(log_likelihood(s) for s in grid) - 1e-6
    assert BOUNDS.min_prior_strength <= prior.strength <= BOUNDS.max_prior_strength

    a, b = 0.5 + pooled * prior.strength, 0.5 + (1 - pooled) * prior.strength
    posterior = stats.beta(a + 1, b + 2)
    assert found.posterior_mean == pytest.approx(posterior.mean())
    assert found.upper == pytest.approx(posterior.ppf(BOUNDS.credibility))
    # Shrinkage: the estimate sits between the model's own rate and the prior's mean, moved from the
    # former by the prior's share of the weight, (1 + s) / (1 + s + n).
    own_rate, prior_mean = 1 / 3, a / (a + b)
    weight = (1 + prior.strength) / (1 + prior.strength + 3)
    assert found.posterior_mean == pytest.approx(own_rate + weight * (prior_mean - own_rate))
    assert prior_mean < found.posterior_mean < own_rate


def test_the_prior_strength_stays_within_its_bounds_at_both_ends() -> None:
    bounds = {"min_strength": BOUNDS.min_prior_strength, "max_strength": BOUNDS.max_prior_strength}
    alike = fit_prior({m: Counts(2, 40) for m in "abcd"}, **bounds)
    assert alike.strength == pytest.approx(BOUNDS.max_prior_strength)
    apart = fit_prior(
        {"a": Counts(0, 40), "b": Counts(40, 40), "c": Counts(0, 40), "d": Counts(38, 40)}, **bounds
    )
    assert apart.strength == pytest.approx(BOUNDS.min_prior_strength)
    alone = fit_prior({"a": Counts(3, 10)}, **bounds)
    assert alone.strength == BOUNDS.max_prior_strength and alone.models == 1
    never = fit_prior({"a": Counts(0, 0)}, **bounds)
    assert (never.mean, never.models) == (0.0, 0)


def test_every_caution_between_the_ends_is_allowed_and_more_risk_is_never_less_caution() -> None:
    risks = [i / 100 for i in range(101)]
    schedules = [schedule_for(r, POLICY) for r in risks]
    assert schedules[0] == LEAST
    for schedule in schedules:
        assert plan_schedule.problems(schedule, POLICY) == []
    for before, after in itertools.pairwise(schedules):
        assert after.steps[0] <= before.steps[0]
        assert len(after.steps) >= len(before.steps)
        assert after.bake_minutes[0] >= before.bake_minutes[0]
