"""A model in production on this machine: a canary of two versions served by MLServer, the payload
sink, and a client whose traffic each release's agent stand-in logs. `make demo-loop` and the
end-to-end test (tests/loop) run the same pieces; what watches them (the monitor, Prometheus,
Alertmanager, the relay) is theirs to start."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from modelops.demo.canary import Canary, rendered_canary, serving
from modelops.demo.kserve_agent import KServeAgent
from modelops.demo.sink_process import RunningSink, running_sink, wait_for_rows, written_rows
from modelops.demo.traffic import Backend, Sent, send_frame

if TYPE_CHECKING:
    import pandas as pd

    from modelops.monitoring.job import MonitorReport
    from modelops.serving.mlserver import RunningServer

ROWS_PER_REQUEST = 10
SINK_FLUSH_S = 0.5


@dataclass(frozen=True)
class Phase:
    """One stretch of traffic: what was sent, and when (the sink's receive times fall within)."""

    sent: Sent
    start: datetime
    end: datetime
    written: Mapping[str, int]  # rows the sink had written by release once this phase's were in


@dataclass(frozen=True)
class Production:
    platform: Path  # environments/, policies/, gitops/ with the canary: what the monitor reads
    canary: Canary
    sink: RunningSink
    servers: Mapping[str, RunningServer]
    backends: tuple[Backend, ...]

    def send(self, frame: pd.DataFrame, *, rows_per_request: int = ROWS_PER_REQUEST) -> Phase:
        """`frame`'s rows through the route; returns once the sink has written every answered row."""
        before = written_rows(self.sink.store, model=self.canary.model)
        start = datetime.now(UTC)
        sent = send_frame(frame, self.backends, rows_per_request=rows_per_request)
        expected = {role: before.get(role, 0) + rows for role, rows in sent.rows.items()}
        written = wait_for_rows(self.sink.store, model=self.canary.model, expected=expected)
        if any(written.get(role, 0) < rows for role, rows in expected.items()):
            raise RuntimeError(f"the payload sink wrote {written} rows by release, {expected} expected")
        # Every event was received before now: a window ending now holds every row of the phase.
        return Phase(sent, start, datetime.now(UTC), written)

    def measure(self, phase: Phase) -> MonitorReport:
        """The monitor's measurement of `phase` alone, as `modelops monitor` makes it (not published)."""
        from modelops.monitoring.job import run_monitor
        from modelops.monitoring.payload_store import open_store
        from modelops.monitoring.window import Window

        return run_monitor(
            model=self.canary.model,
            environment=self.canary.environment,
            window=Window(phase.start, phase.end),
            store=open_store(str(self.sink.store)),
            root=self.platform,
        )


@contextlib.contextmanager
def in_production(platform: Path, *, model: str, environment: str, workdir: Path) -> Iterator[Production]:
    """What `platform`'s overlay of `model` in `environment` serves, running: a server per release and
    the sink their loggers point at. Everything is stopped on exit, the sink last so that it writes
    what it holds."""
    canary = rendered_canary(platform, model=model, environment=environment)
    (workdir / "payloads").mkdir(parents=True, exist_ok=True)
    with (
        running_sink(
            workdir / "payloads", log=workdir / "payload-sink.log", flush_interval_s=SINK_FLUSH_S
        ) as sink,
        serving(canary, workdir=workdir) as servers,
    ):
        backends = tuple(
            Backend(
                release.role,
                f"{servers[release.role].url}{canary.path}/infer",
                release.weight,
                KServeAgent(
                    sink.local(release.logger_url),
                    inference_service=release.name,
                    namespace=canary.namespace,
                ),
            )
            for release in canary.releases
        )
        try:
            yield Production(platform, canary, sink, servers, backends)
        finally:
            for backend in backends:
                backend.agent.close()
