"""promtool unit tests for the model SLO alerts, generated from the environment's thresholds.

Each alert gets cases on both sides of its threshold: well past it and just past it (the alert
fires exactly when its `for:` has elapsed, with the labels and annotations asserted) and just
under it or healthy (silent at every evaluation).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.infra.manifests.promtool import series as S
from tests.infra.manifests.promtool.series import Slo, Target

PER_MINUTE = 10_000  # requests per pod per minute (~170/s): fine enough for "just over" a threshold


@dataclass(frozen=True)
class Firing:
    labels: dict[str, str]  # the labels of the series the alert fires for ($labels)
    value: float  # what the expression evaluates to ($value)


@dataclass(frozen=True)
class Case:
    name: str
    series: list[tuple[dict[str, str], str]]  # labels, promtool's expanding notation
    firing: list[Firing] = field(default_factory=list)  # empty: silent at every evaluation
    onset: int = 0  # minute the expression first holds; rate() needs two samples, so 1


def _counter(per_minute: float, minutes: int) -> str:
    return f"0+{per_minute}x{minutes}"


def _gauge(value: float, minutes: int) -> str:
    return f"{value!r}+0x{minutes}"


def error_rate_cases(slo: Slo, target: Target, minutes: int) -> list[Case]:
    def release(name: str, failed: int, *, client_errors: int = 0, pods: int = 2) -> list:
        out = []
        for index in range(pods):
            pod = target.pod(name, index)
            ok = PER_MINUTE - failed - client_errors
            out.append((S.requests(pod, 200), _counter(ok, minutes)))
            if failed:
                out.append((S.requests(pod, 503), _counter(failed, minutes)))
            if client_errors:
                out.append((S.requests(pod, 422), _counter(client_errors, minutes)))
        return out

    clear = min(1.0, 5 * slo.error_rate)  # well past the SLO
    failing, over = round(clear * PER_MINUTE), S.just_over(slo.error_rate, PER_MINUTE)
    stable = {"model": S.MODEL, "release": "stable"}
    candidate = {"model": S.MODEL, "release": "candidate"}
    return [
        Case(
            "a failing candidate pages for itself, not for stable",
            release("stable", 0) + release("candidate", failing, pods=1),
            [Firing(candidate, failing / PER_MINUTE)],
            onset=1,
        ),
        Case(
            "just over the SLO pages", release("stable", over), [Firing(stable, over / PER_MINUTE)], onset=1
        ),
        Case("just under the SLO is silent", release("stable", S.just_under(slo.error_rate, PER_MINUTE))),
        Case("client errors (4xx) are not failures", release("stable", 0, client_errors=PER_MINUTE // 3)),
    ]


def latency_cases(slo: Slo, target: Target, minutes: int) -> list[Case]:
    def release(name: str, p95: float, pods: int = 2) -> tuple[list, float]:
        counts = S.latency_histogram(p95, PER_MINUTE)
        out = [
            (S.bucket(target.pod(name, index), le), _counter(count, minutes))
            for index in range(pods)
            for le, count in zip(S.BUCKETS, counts, strict=True)
        ]
        return out, S.histogram_quantile(S.QUANTILE, counts)

    t = slo.p95_seconds
    slow, slow_p95 = release("stable", 5 * t)
    over, over_p95 = release("stable", 1.02 * t)
    under, under_p95 = release("stable", 0.98 * t)
    fast, fast_p95 = release("candidate", t / 4, pods=1)
    if not fast_p95 < under_p95 < t < over_p95 < slow_p95:
        raise ValueError(f"the histograms miss the boundary: {under_p95} < {t} < {over_p95}")
    stable = {"model": S.MODEL, "release": "stable"}
    return [
        Case("slow stable pages; fast candidate does not", slow + fast, [Firing(stable, slow_p95)], onset=1),
        Case("p95 just over the target pages", over, [Firing(stable, over_p95)], onset=1),
        Case("p95 just under the target is silent", under),
        Case("a fast release is silent", fast),
    ]


def drift_cases(slo: Slo, target: Target, minutes: int) -> list[Case]:
    d = slo.drift

    def scores(detected: bool | None = None, **by_column: float) -> list:
        """Each column's score and the monitor's verdict: drifted at the threshold unless told otherwise."""
        out = []
        for column, value in by_column.items():
            flag = value >= d if detected is None else detected
            out.append((S.drift("stable", column), _gauge(value, minutes)))
            out.append((S.drift("stable", column, name=S.DRIFT_DETECTED), _gauge(float(flag), minutes)))
        return out

    high, over = 3 * d, d * 1.02

    def firing(column: str, value: float) -> Firing:
        return Firing({"model": S.MODEL, "release": "stable", "column": column}, value)

    return [
        Case(
            "one drifting column opens a ticket for that column",
            scores(credit_amount=high, age=d / 4),
            [firing("credit_amount", high)],
        ),
        Case(
            "just over the gate's threshold opens a ticket", scores(duration=over), [firing("duration", over)]
        ),
        Case("just under the gate's threshold is silent", scores(duration=d * 0.98)),
        Case(
            "a score past the threshold that the window cannot tell from chance is silent",
            scores(detected=False, duration=high),
        ),
        Case("a stable distribution is silent", scores(credit_amount=d / 4, age=d / 5)),
    ]


def scrape_cases(slo: Slo, target: Target, minutes: int, hold: int) -> list[Case]:
    def up(release: str, index: int, values: str) -> tuple[dict[str, str], str]:
        return {"__name__": "up", **target.pod(release, index)}, values

    def down_between(start: int, length: int) -> str:
        return " ".join("0" if start <= m < start + length else "1" for m in range(minutes + 1))

    healthy = [up("stable", 0, _gauge(1, minutes)), up("stable", 1, _gauge(1, minutes))]
    node = ({"__name__": "up", "job": "node-exporter", "namespace": "monitoring"}, _gauge(1, minutes))
    return [
        Case(
            "a pod that stops answering pages",
            [healthy[0], up("stable", 1, _gauge(0, minutes))],
            [Firing(target.pod("stable", 1), 0)],
        ),
        Case(
            "no model-server target at all pages",
            [node],
            [Firing({"job": target.job, "namespace": target.namespace}, 1)],
        ),
        Case(
            "down just longer than `for:` pages",
            [healthy[0], up("stable", 1, down_between(2, hold + 1))],
            [Firing(target.pod("stable", 1), 0)],
            onset=2,
        ),
        Case(
            "down just shorter than `for:` is silent",
            [healthy[0], up("stable", 1, down_between(2, hold - 1))],
        ),
        Case("every pod up is silent", healthy),
    ]


def minutes_of(duration: str) -> int:
    match = re.fullmatch(r"(\d+)([mh])", duration)
    if match is None:
        raise ValueError(f"unexpected duration {duration!r}")
    return int(match[1]) * (60 if match[2] == "h" else 1)


CASES: dict[str, Callable[..., list[Case]]] = {
    "ModelErrorRateHigh": error_rate_cases,
    "ModelLatencyP95High": latency_cases,
    "ModelDriftHigh": drift_cases,
    "ModelScrapeMissing": scrape_cases,
}


def cases_for(alert: str, slo: Slo, target: Target, hold: int) -> tuple[list[Case], int]:
    minutes = hold + 10
    build = CASES[alert]
    extra = {"hold": hold} if alert == "ModelScrapeMissing" else {}
    return build(slo, target, minutes, **extra), minutes


def unit_tests(rule_file: str, rule: dict[str, Any], slo: Slo, target: Target) -> dict[str, Any]:
    """A promtool test file: every case of one alert, asserted at the minutes that matter."""
    alert, hold = rule["alert"], minutes_of(rule["for"])
    cases, minutes = cases_for(alert, slo, target, hold)
    groups = []
    for case in cases:
        if case.firing:
            expected = [
                {
                    "exp_labels": {**f.labels, **rule["labels"]},
                    "exp_annotations": {
                        k: render(v, f.labels, f.value) for k, v in rule["annotations"].items()
                    },
                }
                for f in case.firing
            ]
            checks = [(case.onset + hold - 1, []), (case.onset + hold, expected)]
        else:
            checks = [(m, []) for m in range(minutes + 1)]
        groups.append(
            {
                "name": f"{alert}: {case.name}",
                "interval": "1m",
                "input_series": [{"series": _selector(labels), "values": v} for labels, v in case.series],
                "alert_rule_test": [
                    {"eval_time": f"{m}m", "alertname": alert, "exp_alerts": exp} for m, exp in checks
                ],
            }
        )
    return {"rule_files": [rule_file], "evaluation_interval": "1m", "tests": groups}


def _selector(labels: dict[str, str]) -> str:
    name = labels["__name__"]
    rest = ", ".join(f'{k}="{v}"' for k, v in labels.items() if k != "__name__")
    return f"{name}{{{rest}}}"


_TEMPLATE = re.compile(r"\{\{\s*(.+?)\s*\}\}")


def render(template: str, labels: dict[str, str], value: float) -> str:
    """Expand the few template forms the rules use, as Prometheus does, for the expected text."""

    def one(match: re.Match[str]) -> str:
        expr = match[1]
        if expr.startswith("$labels."):
            return labels[expr.removeprefix("$labels.")]
        if expr == "$value | humanizePercentage":
            return f"{value * 100:.4g}%"
        if expr == "$value | humanizeDuration":
            return _humanize_duration(value)
        if expr == '$value | printf "%.3f"':
            return f"{value:.3f}"
        raise ValueError(f"the test does not know how Prometheus renders {{{{ {expr} }}}}")

    return _TEMPLATE.sub(one, template)


def _humanize_duration(seconds: float) -> str:
    if 1 <= seconds < 60:
        return f"{seconds:.4g}s"
    for prefix in ("m", "u", "n"):
        seconds *= 1000
        if seconds >= 1:
            return f"{seconds:.4g}{prefix}s"
    raise ValueError(f"the test does not render {seconds}s")
