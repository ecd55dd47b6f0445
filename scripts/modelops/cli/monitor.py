"""`modelops monitor`: measure a model's live releases on a window of logged payloads and publish it."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from modelops.cli.common import console, errors, fail_input, input_errors, steps

if TYPE_CHECKING:
    from modelops.monitoring.job import MonitorReport

# 0: measured and published; 2: unusable input (a release's reference, a payload file); 3: measured,
# but the Pushgateway could not be reached after every retry (the alert on the job's silence fires).
EXIT_PUBLISH_FAILED = 3


def _table(report: MonitorReport) -> Table:
    table = Table(title=f"{report.model} in {report.environment}, {report.window}")
    for heading in ("release", "rows", "drifted columns", "prediction drift", "live metrics", "shadow"):
        table.add_column(heading)
    for result in report.releases:
        name = f"{result.release.role} v{result.release.version}"
        if result.problem is not None:
            table.add_row(name, str(result.rows), f"[red]{escape(result.problem)}[/]", "—", "—", "—")
            continue
        drifted = ", ".join(result.drifted) or "none"
        prediction = result.prediction
        predicted = "—" if prediction is None or prediction.score is None else f"{prediction.score:.3f}"
        metrics = (
            ", ".join(f"{k} {v:.3f}" for k, v in result.metrics.items())
            + f" ({result.labelled_rows} labelled)"
            if result.metrics
            else "no labels yet"
        )
        shadow = "—"
        if result.shadow is not None:
            s = result.shadow
            shadow = (
                f"{s.agreement:.1%} agree, |Δscore| {s.divergence:.3f} on {s.matched_rows} of {s.shadow_rows}"
                if s.matched_rows
                else f"none of {s.shadow_rows} rows matched a stable input"
            )
        table.add_row(name, str(result.rows), escape(drifted), predicted, escape(metrics), shadow)
    return table


def monitor(
    model: str = typer.Argument(..., help="The model, as named under gitops/models/."),
    env: str = typer.Option(..., "--env", help="Environment whose overlay says what is live."),
    window: str = typer.Option("1h", help="How far back from --end to read: 45m, 1h, 2d."),
    payloads: str = typer.Option(
        ".modelops/payloads",
        envvar="MODELOPS_PAYLOADS",
        help="Where the payload sink writes: a folder, or s3://bucket/prefix.",
    ),
    pushgateway: str | None = typer.Option(
        None, envvar="MODELOPS_PUSHGATEWAY", help="Pushgateway address (host:port or URL); none: print only."
    ),
    end: str | None = typer.Option(None, help="End of the window, ISO 8601 with a zone; default now."),
    namespace: str | None = typer.Option(
        None,
        envvar="MODELOPS_MODELS_NAMESPACE",
        help="Read the live releases from this namespace's InferenceServices through the Kubernetes API "
        "(inside a pod, as its service account); unset: from the gitops overlay.",
    ),
) -> None:
    """Drift, prediction drift, live metrics and shadow agreement of MODEL's live releases in ENV."""
    from modelops.config import project_root
    from modelops.monitoring.job import run_monitor
    from modelops.monitoring.payload_store import open_store
    from modelops.monitoring.publish import PublishError, push, push_login, registry_for
    from modelops.monitoring.window import parse_duration, window_ending
    from modelops.registry import configure

    with input_errors():
        root = project_root()
        try:
            ending = datetime.fromisoformat(end) if end else datetime.now(UTC)
        except ValueError:
            raise fail_input(f"--end {end!r}: not an ISO 8601 time") from None
        span = window_ending(ending, parse_duration(window))
        store = open_store(payloads)
        releases = None
        if namespace is not None:
            from modelops.monitoring.cluster_releases import cluster_releases
            from modelops.monitoring.kubernetes_api import ApiServer

            releases = cluster_releases(ApiServer.in_cluster(), model=model, namespace=namespace)
        login = push_login(os.environ) if pushgateway else None
        configure(root)
        with steps() as step:
            report = run_monitor(
                model=model,
                environment=env,
                window=span,
                store=store,
                root=root,
                releases=releases,
                step=step,
            )
    console.print(_table(report))
    if pushgateway:
        try:
            push(registry_for(report, now=time.time()), gateway=pushgateway, model=model, login=login)
        except PublishError as error:
            errors.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_PUBLISH_FAILED) from None
    for line in report.errors:
        fail_input(line)
    if report.errors:
        raise typer.Exit(2)
