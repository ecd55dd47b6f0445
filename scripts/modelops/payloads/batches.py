"""Joined pairs held as columns until they are written: one batch per partition and column set.

A batch is one partition folder (layout.partition_folder) and one set of columns with their types,
so that every file has one schema and a client that sends other columns (or another type for a
column) starts another file instead of failing a write that holds everyone's rows.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from modelops.payloads.layout import (
    INFERENCE_SERVICE,
    MODEL_VERSION,
    RECEIVED_AT,
    REQUEST_ID,
    ROW,
    partition_folder,
)
from modelops.payloads.pairing import Scope
from modelops.payloads.v2 import Columns

_METADATA_TYPES = {
    REQUEST_ID: pa.string(),
    ROW: pa.int32(),
    RECEIVED_AT: pa.timestamp("ms", tz="UTC"),
    MODEL_VERSION: pa.string(),
    INFERENCE_SERVICE: pa.string(),
}
_STORED_TYPES = {
    "int64": pa.int64(),
    "uint64": pa.uint64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "string": pa.string(),
}


@functools.lru_cache(maxsize=1024)
def _folder(model: str, release: str, hour: datetime) -> str:
    # Once an hour per model and release, not per pair: formatting the date is a tenth of adding one.
    return partition_folder(model=model, release=release, at=hour)


@dataclass(frozen=True)
class RequestRecord:
    """What the sink keeps of a request event until its response arrives."""

    event_id: str
    received_at: datetime
    inference_service: str
    inputs: Columns


@dataclass
class Batch:
    folder: str
    types: dict[str, str]  # input and output columns and their stored types, in first-seen order
    columns: dict[str, list[Any]] = field(default_factory=dict)
    rows: int = 0

    def table(self) -> pa.Table:
        arrays = {name: pa.array(self.columns[name], type=_METADATA_TYPES[name]) for name in _METADATA_TYPES}
        for name, stored in self.types.items():
            arrays[name] = pa.array(self.columns[name], type=_STORED_TYPES[stored])
        return pa.table(arrays)


def warm_up() -> None:
    """Build an empty table of every stored type once, at the sink's start.

    pyarrow imports pandas the first time it converts a Python list (about 0.2 s of CPU): done here,
    not by the first flush, whose thread would take that long from the events being served."""
    types = {stored: stored for stored in _STORED_TYPES}
    Batch("", types, {name: [] for name in [*_METADATA_TYPES, *types]}).table()


class Batches:
    """Thread-safe holder of the rows not yet written."""

    def __init__(self) -> None:
        self._batches: dict[tuple[str, tuple[tuple[str, str], ...]], Batch] = {}
        self._rows = 0
        self._oldest: float | None = None  # monotonic time the oldest held row arrived
        self._lock = threading.Lock()

    @property
    def rows(self) -> int:
        return self._rows

    @property
    def oldest(self) -> float | None:
        return self._oldest

    def add(self, scope: Scope, request: RequestRecord, outputs: Columns, *, now: float) -> None:
        """Append one joined pair (request.inputs.rows == outputs.rows, checked by the caller)."""
        rows = request.inputs.rows
        hour = request.received_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        folder = _folder(scope.model, scope.release, hour)
        types = {**request.inputs.types, **outputs.types}
        key = (folder, tuple(sorted(types.items())))
        received_ms = int(request.received_at.timestamp() * 1000)
        with self._lock:
            batch = self._batches.get(key)
            if batch is None:
                batch = self._batches[key] = Batch(
                    folder, types, {name: [] for name in [*_METADATA_TYPES, *types]}
                )
            columns = batch.columns
            columns[REQUEST_ID].extend([request.event_id] * rows)
            columns[ROW].extend(range(rows))
            columns[RECEIVED_AT].extend([received_ms] * rows)
            columns[MODEL_VERSION].extend([scope.version] * rows)
            columns[INFERENCE_SERVICE].extend([request.inference_service] * rows)
            for name, values in request.inputs.values.items():
                columns[name].extend(values)
            for name, values in outputs.values.items():
                columns[name].extend(values)
            batch.rows += rows
            self._rows += rows
            if self._oldest is None:
                self._oldest = now

    def take(self) -> list[Batch]:
        """Every batch held, which the caller now owns; `restore` gives back those it could not write."""
        with self._lock:
            taken = list(self._batches.values())
            self._batches.clear()
            self._rows = 0
            self._oldest = None
            return taken

    def restore(self, batches: list[Batch], *, since: float) -> None:
        with self._lock:
            for batch in batches:
                key = (batch.folder, tuple(sorted(batch.types.items())))
                held = self._batches.get(key)
                if held is None:
                    self._batches[key] = batch
                else:  # rows that arrived meanwhile go after the restored ones
                    for name, values in held.columns.items():
                        batch.columns[name].extend(values)
                    batch.rows += held.rows
                    self._batches[key] = batch
                    self._rows -= held.rows
                self._rows += batch.rows
            self._oldest = since if self._oldest is None else min(self._oldest, since)
