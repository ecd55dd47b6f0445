"""The sink without its HTTP server: an event in, a reply out; joined rows held, then written.

Every decision on one event is here, so the server (sink.py) only reads requests and writes replies.
An accepted event is answered 200, whatever it did (paired, waiting for its pair, or a redelivery):
KServe's agent logs any other status as an error and does not retry it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa

from modelops.payloads.batches import Batch, Batches, RequestRecord
from modelops.payloads.events import EventError, parse_event
from modelops.payloads.metrics import SinkMetrics
from modelops.payloads.pairing import Outcome, Pairing, Scope
from modelops.payloads.store import Store
from modelops.payloads.v2 import Columns, TensorError, request_columns, response_columns
from modelops.serving import contract

log = logging.getLogger("payload-sink")


@dataclass(frozen=True)
class Limits:
    max_rows_per_event: int = 10_000
    max_columns: int = 2_048
    flush_rows: int = 50_000  # write once this many joined rows are held...
    flush_interval_s: float = 60.0  # ...or the oldest of them has waited this long
    # Past this (the store is failing), events are refused with 503 rather than held without bound.
    max_buffered_rows: int = 200_000


@dataclass(frozen=True)
class Reply:
    status: int
    text: str


class Intake:
    def __init__(
        self,
        store: Store,
        *,
        limits: Limits = Limits(),
        metrics: SinkMetrics | None = None,
        pairing: Pairing[RequestRecord | Columns] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.limits = limits
        self.metrics = metrics or SinkMetrics()
        self.pairing: Pairing[RequestRecord | Columns] = pairing or Pairing()
        self.batches = Batches()
        self._clock = clock
        self._flush_lock = threading.Lock()

    def receive(self, scope: Scope, headers: Iterable[tuple[str, str]], body: bytes) -> Reply:
        metrics = self.metrics
        if self.batches.rows >= self.limits.max_buffered_rows:
            return self._refuse("busy", 503, "the sink holds too many unwritten rows; the store is failing")
        try:
            event = parse_event(headers, body)
        except EventError as error:
            return self._refuse("event", 400, str(error))
        # The path names the partition; the event must come from the InferenceService that serves it,
        # or any model's pod could write rows into another model's (or release's) window.
        expected = contract.inference_service(scope.model, scope.release)
        if event.inference_service != expected:
            return self._refuse(
                "service",
                403,
                f"ce-inferenceservicename {event.inference_service!r} does not serve "
                f"{scope.model}/{scope.release}: only {expected!r} logs there",
            )
        limits = {"max_rows": self.limits.max_rows_per_event, "max_columns": self.limits.max_columns}
        record: RequestRecord | Columns
        try:
            if event.kind == "request":
                inputs = request_columns(event.body, **limits)
                record = RequestRecord(event.id, datetime.now(UTC), event.inference_service, inputs)
            else:
                record = response_columns(event.body, **limits)
        except TensorError as error:
            metrics.event(event.kind, "refused").inc()
            return self._refuse("tensor", 422, f"{event.kind}: {error}")
        offered = self.pairing.offer(
            scope, event.kind, event.id, digest=event.digest, record=record, size=len(body)
        )
        metrics.event(event.kind, offered.outcome.value).inc()
        if offered.evicted:
            metrics.evicted.inc(offered.evicted)
        metrics.pending.set(self.pairing.pending)
        match offered.outcome:
            case Outcome.DUPLICATE:
                metrics.duplicates.inc()
                return Reply(200, "duplicate: already received")
            case Outcome.CONFLICT:
                return self._refuse(
                    "conflict",
                    409,
                    f"another {event.kind} with this ce-id was waiting: both are dropped and the id "
                    "is refused for a while, since its pairs cannot be told apart",
                )
            case Outcome.POISONED:
                return self._refuse("poisoned", 409, "this ce-id was reused by two requests lately: refused")
            case Outcome.PENDING:
                return Reply(200, "held until its pair arrives")
        request, response = offered.request, offered.response
        assert isinstance(request, RequestRecord) and isinstance(response, Columns)
        if request.inputs.rows != response.rows:
            return self._refuse(
                "rows", 422, f"the response has {response.rows} rows, its request {request.inputs.rows}"
            )
        self.batches.add(scope, request, response, now=self._clock())
        metrics.buffered_rows.set(self.batches.rows)
        return Reply(200, "paired")

    def due(self) -> bool:
        oldest = self.batches.oldest
        if oldest is None:
            return False
        return (
            self.batches.rows >= self.limits.flush_rows
            or self._clock() - oldest >= self.limits.flush_interval_s
        )

    def flush(self) -> bool:
        """Write every batch held; True when nothing is left. Failed writes keep their rows for the next."""
        with self._flush_lock:
            since = self.batches.oldest
            batches = self.batches.take()
            if not batches:
                return True
            failed: list[Batch] = []
            with self.metrics.flush_seconds.time():
                for batch in batches:
                    if not self._write(batch):
                        failed.append(batch)
            if failed:
                self.batches.restore(failed, since=since if since is not None else self._clock())
            self.metrics.buffered_rows.set(self.batches.rows)
            return not failed

    def expire(self) -> None:
        evicted = self.pairing.expire()
        if evicted:
            self.metrics.evicted.inc(evicted)
            log.info("dropped %d events whose pair did not arrive in time", evicted)
        self.metrics.pending.set(self.pairing.pending)

    def _write(self, batch: Batch) -> bool:
        try:
            table = batch.table()
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, UnicodeError) as error:
            # The values were checked on arrival, so this is a bug; keeping the batch would retry forever.
            self.metrics.flush_failures.inc()
            log.error("dropped %d rows of %s that Arrow refused: %s", batch.rows, batch.folder, error)
            return True
        try:
            path = self.store.write(table, folder=batch.folder)
        except OSError as error:
            self.metrics.flush_failures.inc()
            log.error(
                "could not write %d rows of %s (kept for the next flush): %s", batch.rows, batch.folder, error
            )
            return False
        self.metrics.rows_written.inc(batch.rows)
        self.metrics.files_written.inc()
        log.info("wrote %d rows to %s", batch.rows, path)
        return True

    def _refuse(self, reason: str, status: int, text: str) -> Reply:
        self.metrics.refusal(reason).inc()
        return Reply(status, text)
