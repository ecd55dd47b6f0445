"""The rollout plan a model's history earns: a step schedule and a bake time per step, with reasons.

What is estimated
    p, the chance that one step of this model's rollouts in this environment fails. A step trial is
    a stage a candidate entered, or its completion (modelops.rollouts.history); it failed when the
    rollout was aborted there, an analysis said abort there, or the completed release was rolled
    back. For model m: k_m failed trials out of n_m. Trials are taken as exchangeable Bernoulli
    draws; steps of one rollout share a candidate and are not truly independent, which the bounded
    prior strength and the upper quantile below leave room for.

The prior (empirical Bayes, from every model's history in the environment)
    p_m ~ Beta(a, b) with a = 1/2 + mu * s, b = 1/2 + (1 - mu) * s: Jeffreys' Beta(1/2, 1/2) updated
    by s pseudo-trials at the platform's rate. Here
    - mu = sum k_m / sum n_m over every model with an overlay in the environment (this one
      included), the platform's pooled failure rate (0 before any trial);
    - s, the prior strength in step trials, maximises the Beta-Binomial marginal likelihood
      prod_m BetaBin(k_m | n_m, a(s), b(s)) over [min_prior_strength, max_prior_strength].
      Models that fail alike push s to the upper bound (much shrinkage); models that differ a lot
      pull it down (each model speaks for itself). The bounds keep one odd model, or one model
      alone (which says nothing about spread: s = the upper bound), from making the prior either
      dogmatic or void. Jeffreys' half failure keeps a = 1/2 at least, so a platform with no failure
      yet does not make a short record look certain: the upper quantile of Beta(a, b) with a << 1
      would sit on p = 0 however little was seen.

From the estimate to the schedule
    risk r in [0, 1]: r = 1 when any failed step of the model lies within `recent_failure_days`;
    otherwise r = clip((ln u - ln c0) / (ln c1 - ln c0), 0, 1) with c0, c1 the confident and
    cautious failure rates. Then, with F = minimum.max_first_step, f = cautious_first_step,
    N = minimum.min_steps, n' = cautious_steps, B = minimum.min_bake_minutes,
    B' = cautious_bake_minutes and L the policy's last step:
    - first step  = round(F^(1 - r) * f^r)              (geometric: caution halves shares, not subtracts)
    - step count  = round(N + r * (n' - N))
    - the steps   = first * (L / first)^(i / (count - 1)), i = 0..count-1, rounded to distinct integers
    - bake        = round(B + r * (B' - B)) minutes at every step.
    r = 0 is exactly the least caution the environment allows; r = 1 its most cautious schedule.
    With no step trial on record for the model, the plan is the policy's own schedule with
    `bake_minutes` per step, and says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from modelops.config.environment import RolloutPolicy
from modelops.config.rollout_plan import RolloutPlanPolicy
from modelops.errors import InputError
from modelops.rollouts import plan_schedule
from modelops.rollouts.history import ModelHistory
from modelops.rollouts.plan_schedule import Schedule

_DAY = 86_400.0
_JEFFREYS = 0.5  # Beta(1/2, 1/2): where every estimate starts before any trial


@dataclass(frozen=True)
class Counts:
    failures: int
    trials: int


def counts(history: ModelHistory) -> Counts:
    return Counts(history.failures, len(history.trials))


@dataclass(frozen=True)
class Prior:
    mean: float  # mu
    strength: float  # s, in step trials
    models: int  # models with at least one step trial behind it

    @property
    def alpha(self) -> float:
        return _JEFFREYS + self.mean * self.strength

    @property
    def beta(self) -> float:
        return _JEFFREYS + (1.0 - self.mean) * self.strength


def fit_prior(platform: Mapping[str, Counts], *, min_strength: float, max_strength: float) -> Prior:
    """The platform's Beta prior: pooled mean, strength by maximum marginal likelihood within bounds."""
    from scipy import optimize, stats

    observed = [c for c in platform.values() if c.trials > 0]
    trials = sum(c.trials for c in observed)
    mean = sum(c.failures for c in observed) / trials if trials else 0.0
    if len(observed) < 2 or min_strength == max_strength:
        # One model says nothing about how models differ: the bound that shrinks most.
        return Prior(mean, max_strength, len(observed))

    def minus_log_likelihood(log_strength: float) -> float:
        prior = Prior(mean, math.exp(log_strength), len(observed))
        return -sum(
            float(stats.betabinom.logpmf(c.failures, c.trials, prior.alpha, prior.beta)) for c in observed
        )

    low, high = math.log(min_strength), math.log(max_strength)
    found = optimize.minimize_scalar(minus_log_likelihood, bounds=(low, high), method="bounded")
    # Bounded Brent stops just inside a bound when the optimum is on it: compare the bounds too.
    best = min((float(found.x), low, high), key=minus_log_likelihood)
    return Prior(mean, math.exp(best), len(observed))


@dataclass(frozen=True)
class Estimate:
    failures: int
    trials: int
    prior: Prior
    posterior_mean: float
    upper: float  # the `credibility` quantile of the posterior
    credibility: float
    risk: float  # r in [0, 1]
    recent_failure: str | None  # the failed step that forced r = 1, if one did


def estimate(own: Counts, prior: Prior, *, credibility: float) -> tuple[float, float]:
    """(posterior mean, upper `credibility` quantile) of p for a model with `own` counts."""
    from scipy import stats

    posterior = stats.beta(prior.alpha + own.failures, prior.beta + own.trials - own.failures)
    return float(posterior.mean()), float(posterior.ppf(credibility))


def risk_of(upper: float, bounds: RolloutPlanPolicy) -> float:
    low, high = math.log(bounds.confident_failure_rate), math.log(bounds.cautious_failure_rate)
    return min(1.0, max(0.0, (math.log(upper) - low) / (high - low)))


def ladder(first: int, last: int, count: int) -> tuple[int, ...]:
    """`count` distinct increasing integers from about `first` to exactly `last`, geometrically spaced."""
    count = max(1, min(count, last - first + 1))
    if count == 1:
        return (last,)
    steps = [round(first * (last / first) ** (i / (count - 1))) for i in range(count)]
    steps[-1] = last
    for i in range(1, count):  # rounding may repeat a share: push each above the one before
        steps[i] = max(steps[i], steps[i - 1] + 1)
    for i in range(count - 2, -1, -1):  # and keep them below the last
        steps[i] = min(steps[i], steps[i + 1] - 1)
    return tuple(steps)


def schedule_for(risk: float, policy: RolloutPolicy) -> Schedule:
    bounds = _bounds(policy)
    floor, last = bounds.minimum, policy.steps[-1]
    first = round(floor.max_first_step ** (1.0 - risk) * bounds.cautious_first_step**risk)
    count = round(floor.min_steps + risk * (bounds.cautious_steps - floor.min_steps))
    bake = round(floor.min_bake_minutes + risk * (bounds.cautious_bake_minutes - floor.min_bake_minutes))
    steps = ladder(first, last, count)
    return Schedule(steps, (bake,) * len(steps))


def _bounds(policy: RolloutPolicy) -> RolloutPlanPolicy:
    if policy.strategy != "canary" or policy.plan is None:
        raise InputError("gitops.rollout.plan: not set for this environment, so there is no plan to make")
    return policy.plan


@dataclass(frozen=True)
class Plan:
    schedule: Schedule
    source: Literal["policy", "history"]
    reasons: tuple[str, ...]
    estimate: Estimate | None = None


def policy_plan(policy: RolloutPolicy, why: str) -> Plan:
    bounds = _bounds(policy)
    schedule = Schedule(tuple(policy.steps), (bounds.bake_minutes,) * len(policy.steps))
    return Plan(schedule, "policy", (why, f"the policy's schedule: {schedule.describe()}"))


def plan(history: ModelHistory, platform: Mapping[str, Counts], policy: RolloutPolicy, *, now: float) -> Plan:
    """The schedule `history` earns within `policy`'s bounds; `platform` holds every model's counts in
    the environment (this model's included) for the prior."""
    bounds = _bounds(policy)
    own = counts(history)
    if own.trials == 0:
        return policy_plan(
            policy, f"no judged rollout step of {history.model} in {history.environment} on record"
        )
    prior = fit_prior(
        platform, min_strength=bounds.min_prior_strength, max_strength=bounds.max_prior_strength
    )
    mean, upper = estimate(own, prior, credibility=bounds.credibility)
    horizon = now - bounds.recent_failure_days * _DAY
    recent = [t for t in history.trials if t.failed and t.at >= horizon]
    risk = 1.0 if recent else risk_of(upper, bounds)
    recent_why = None
    if recent:
        last = max(recent, key=lambda t: t.at)
        rollout = history.rollouts[last.rollout]
        days = (now - last.at) / _DAY
        recent_why = f"v{rollout.candidate.version} failed at {last.stage} {days:.1f} days ago ({last.why})"
    found = Estimate(own.failures, own.trials, prior, mean, upper, bounds.credibility, risk, recent_why)
    schedule = schedule_for(risk, policy)
    if wrong := plan_schedule.problems(schedule, policy):  # the bounds are validated to make this impossible
        raise RuntimeError(f"a learned plan broke its own minimum: {'; '.join(wrong)}")
    return Plan(schedule, "history", _reasons(found, bounds), found)


def _reasons(found: Estimate, bounds: RolloutPlanPolicy) -> tuple[str, ...]:
    prior = found.prior
    reasons = [
        f"{found.failures} failed of {found.trials} judged steps of this model",
        f"platform prior: failure rate {prior.mean:.3f} over {prior.models} model(s), weighing as "
        f"{prior.strength:.1f} steps",
        f"estimated chance a step fails: {found.posterior_mean:.3f} "
        f"({found.credibility:.0%} bound {found.upper:.3f})",
    ]
    if found.recent_failure:
        reasons.append(f"recent failure, most cautious schedule: {found.recent_failure}")
    elif found.risk == 0.0:
        reasons.append(
            f"bound at or below {bounds.confident_failure_rate} (confident): the least caution the "
            "environment allows, fewer and larger steps"
        )
    elif found.risk == 1.0:
        reasons.append(
            f"bound at or above {bounds.cautious_failure_rate} (cautious): the most cautious schedule"
        )
    else:
        reasons.append(
            f"bound between {bounds.confident_failure_rate} and {bounds.cautious_failure_rate}: "
            f"caution {found.risk:.2f} of the way from the least to the most cautious schedule"
        )
    return tuple(reasons)
