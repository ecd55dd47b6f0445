"""`make demo-loop` (`python -m modelops.demo.loop`): the production loop on this machine, after
`make demo`.

The champion (@champion) and the challenger (the newest other version that passed dev's gate) are
served by the platform's MLServer as a prod canary (75/25), written into a scratch copy of gitops/ by
the same code as `modelops rollout`. A client sends the pinned holdout's rows through the route, each
request and response logged to the payload sink by an agent stand-in; then the same rows with one
input shifted. The monitor measures each stretch with the gate's rules, the ModelDriftHigh rule's
condition is applied to what it would push, and the platform's dispatch relay says what it proposes.
No cluster, no Prometheus, no GitHub: those hops are proven by tests/loop.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from modelops.cli.common import console, errors, input_errors

if TYPE_CHECKING:
    from modelops.demo.proposal import FiringAlert
    from modelops.monitoring.job import MonitorReport

MODEL = "credit-risk"
ENVIRONMENT = "prod"  # canary is prod's rollout strategy; the overlay is a scratch copy
CANDIDATE_WEIGHT = 25  # the second of prod's canary steps: enough rows for the candidate to be measured
SHIFTED_COLUMN, SHIFT_FACTOR = "credit_amount", 2.0  # loan amounts doubled upstream
DRIFT_ALERT = "ModelDriftHigh"
# Alertmanager groups drift notifications by these (infra's alert_routing.py): one per model.
DRIFT_GROUP_BY = ("alertname", "namespace", "model")


@dataclass(frozen=True)
class Versions:
    champion: str
    challenger: str


def demo_versions(model: str) -> Versions:
    """The champion alias `make demo` sets, and the newest other version that passed dev's gate."""
    import mlflow

    from modelops.errors import InputError
    from modelops.registry import tags
    from modelops.registry.errors import registry_errors

    client = mlflow.MlflowClient()
    hint = "run `make demo` first"
    try:
        with registry_errors(f"model {model}"):
            champion = client.get_registered_model(model).aliases.get("champion")
            versions = client.search_model_versions(f"name='{model}'")
    except InputError as error:
        raise InputError(f"{error}; {hint}") from None
    if champion is None:
        raise InputError(f"model {model}: no @champion version in the registry; {hint}")
    passed = [
        str(v.version)
        for v in versions
        if v.tags.get(tags.gate("dev")) == "passed" and str(v.version) != str(champion)
    ]
    if not passed:
        raise InputError(f"model {model}: no version besides v{champion} passed dev's gate; {hint}")
    return Versions(str(champion), max(passed, key=int))


@dataclass(frozen=True)
class PublishedDrift:
    """One column's `modelops_drift_score` and `modelops_drift_detected`, as the monitor pushes them."""

    score: float
    detected: bool


def drift_scores(report: MonitorReport) -> dict[tuple[str, str], PublishedDrift]:
    """(release, column) -> what the monitor pushes for `report`: the published series themselves, so a
    column the gate could not measure is +Inf here as on the Pushgateway."""
    from modelops.monitoring.publish import registry_for

    scores: dict[tuple[str, str], float] = {}
    detected: dict[tuple[str, str], bool] = {}
    for family in registry_for(report, now=time.time()).collect():
        for sample in family.samples:
            key = (sample.labels.get("release", ""), sample.labels.get("column", ""))
            if sample.name == "modelops_drift_score":
                scores[key] = sample.value
            elif sample.name == "modelops_drift_detected":
                detected[key] = sample.value == 1
    return {key: PublishedDrift(score, detected.get(key, False)) for key, score in scores.items()}


def firing(
    published: Mapping[tuple[str, str], PublishedDrift], *, threshold: float, model: str, namespace: str
) -> list[FiringAlert]:
    """The ModelDriftHigh alerts the platform's rule (`promql.drift_alert`) fires on these series once
    its `for` has passed: the score past the environment's distance_threshold, and the column found
    drifted by the monitor (larger than chance in its window)."""
    from modelops.demo.proposal import FiringAlert

    return [
        FiringAlert(
            {"alertname": DRIFT_ALERT, "namespace": namespace, "model": model, "release": r, "column": c}
        )
        for (r, c), drift in sorted(published.items())
        if drift.score > threshold and drift.detected
    ]


def _score(value: float | None) -> str:
    if value is None:
        return "—"
    return "+Inf" if math.isinf(value) else f"{value:.3f}"


def _scores_table(
    before: Mapping[tuple[str, str], PublishedDrift],
    after: Mapping[tuple[str, str], PublishedDrift],
    *,
    threshold: float,
) -> Table:
    table = Table(
        title=f"modelops_drift_score on the holdout's rows (before) and with {SHIFTED_COLUMN} "
        f"x{SHIFT_FACTOR:g} (after); the alert needs a score over {threshold:g} that the monitor "
        "finds larger than chance (drifted)"
    )
    for heading in ("release", "column", "before", "after", ""):
        table.add_column(heading)

    def alerting(drift: PublishedDrift | None) -> bool:
        return drift is not None and drift.score > threshold and drift.detected

    for key in sorted(set(before) | set(after)):
        was, now = before.get(key), after.get(key)
        note = ""
        if alerting(now) and not alerting(was):
            note = "[bold red]drifted[/]"
        elif alerting(was):
            note = "[yellow]drifted already on the holdout[/]"
        elif now is not None and now.score > threshold:
            note = "over the threshold, within chance"
        table.add_row(*key, _score(was.score if was else None), _score(now.score if now else None), note)
    return table


def run_demo_loop(*, workdir: Path | None = None) -> None:
    from modelops.config import load_environment, project_root
    from modelops.demo.canary import copy_platform, write_canary
    from modelops.demo.dataset import LABEL, demo_split, load_german_credit
    from modelops.demo.production import in_production
    from modelops.demo.proposal import ask_relay, notification
    from modelops.demo.traffic import shifted
    from modelops.registry import configure
    from modelops.registry.tracking import state_dir
    from modelops.serving.mlserver import runtime_bin

    started = time.perf_counter()
    root = project_root()
    uri = configure(root)
    runtime_bin()  # the serving runtime is installed, before anything starts
    versions = demo_versions(MODEL)
    threshold = load_environment(ENVIRONMENT, root=root).promotion.drift.distance_threshold
    workdir = workdir or state_dir(root) / "demo-loop"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    console.print(
        f"[bold]modelops demo-loop[/]: registry at {uri}; {MODEL} v{versions.champion} (champion) stable, "
        f"v{versions.challenger} a {CANDIDATE_WEIGHT}% canary in {ENVIRONMENT} (a scratch copy of gitops/ "
        f"in {workdir})",
        highlight=False,
    )
    platform = copy_platform(root, workdir / "platform")
    write_canary(
        platform,
        model=MODEL,
        environment=ENVIRONMENT,
        stable=versions.champion,
        candidate=versions.challenger,
        candidate_weight=CANDIDATE_WEIGHT,
    )
    holdout = demo_split(load_german_credit())[1].drop(columns=[LABEL])
    with in_production(platform, model=MODEL, environment=ENVIRONMENT, workdir=workdir) as production:
        for release in production.canary.releases:
            server = production.servers[release.role]
            console.print(
                f"MLServer: {release.role} v{release.version} at {server.url}{production.canary.path}, "
                f"logging to {production.sink.local(release.logger_url)}",
                highlight=False,
            )
        calm = production.send(holdout)
        console.print(
            f"sent the holdout's {len(holdout)} rows: {_split(calm.sent.rows)}; "
            f"sink wrote {_split(calm.written)}"
        )
        before = drift_scores(production.measure(calm))
        shift = production.send(shifted(holdout, column=SHIFTED_COLUMN, factor=SHIFT_FACTOR))
        console.print(
            f"sent them again with {SHIFTED_COLUMN} x{SHIFT_FACTOR:g}: {_split(shift.sent.rows)}; "
            f"sink wrote {_split(shift.written)} in all"
        )
        after = drift_scores(production.measure(shift))
        namespace = production.canary.namespace
    console.print(_scores_table(before, after, threshold=threshold))
    alerts = firing(after, threshold=threshold, model=MODEL, namespace=namespace)
    if not alerts:
        errors.print("[bold red]demo-loop:[/] no column drifted past the threshold; nothing to propose")
        raise typer.Exit(1)
    named = ", ".join(f"{a.labels['release']}/{a.labels['column']}" for a in alerts)
    console.print(
        f"{DRIFT_ALERT} fires for {named}; Alertmanager sends them to the relay as one notification"
    )
    body = notification(alerts, group_by=DRIFT_GROUP_BY, started=datetime.now(UTC))
    dispatched = ask_relay(
        body, root=root, environment=ENVIRONMENT, models=[MODEL], workdir=workdir / "relay"
    )
    for dispatch in dispatched:
        console.print(
            f"[bold]proposal[/]: repository_dispatch {dispatch['event_type']} "
            f"{dispatch['client_payload']} → {_WORKFLOWS.get(dispatch['event_type'], 'no workflow listens')}",
            highlight=False,
        )
    console.print(f"payloads: {workdir / 'payloads'}; finished in {time.perf_counter() - started:.0f} s")
    if not dispatched:
        errors.print("[bold red]demo-loop:[/] the relay proposed nothing for the firing alerts")
        raise typer.Exit(1)


_WORKFLOWS = {
    "model-drift": "the retrain workflow: train, register, and a promotion pull request to dev",
    "model-rollback": "the rollback workflow: a pull request that aborts the canary",
}


def _split(rows: Mapping[str, int]) -> str:
    return ", ".join(
        f"{role} {count}" for role, count in sorted(rows.items(), key=lambda kv: kv[0] != "stable")
    )


def main() -> None:
    def command() -> None:
        """The production loop on this machine, after `make demo`."""
        with input_errors():
            run_demo_loop()

    typer.run(command)


if __name__ == "__main__":
    main()
