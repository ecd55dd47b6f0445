"""Joining each logged request to its response by id, in bounded memory, with redeliveries dropped.

A pair is keyed by its scope (the sink path: model, release, version) and the event's ce-id. The
scope matters: a mirrored request reaches the stable and the shadow pod with the same ce-id when its
caller sent Ce-Id, and both pairs must be kept.

Bounded three ways: at most `max_pending` unmatched events and `max_pending_bytes` of their bodies
(the oldest is evicted and counted: a request the model answered with an error has no response to
wait for), none older than `pending_ttl_s`, and a memory of `seen_entries` events accepted lately.
The memory is what drops a redelivered event (same scope, type, id and body), also one that arrives
after its pair was written. It is in this process only: a sink restart forgets it, and then a reader
dedupes on (`_request_id`, `_row`), the key the layout gives every row.

An id is the caller's `Ce-Id` when it sends one, so two requests may share it. When a second request
(or response) arrives while one of its kind waits under the id, nobody can tell which response
answers which request: the waiting event is dropped and the id is poisoned for `pending_ttl_s`, so
every later event under it is refused instead of pairing one request's inputs with another's
outputs. (Two overlapping requests whose events arrive request, response, request, response still
pair as sent; no sink can tell them apart from honest traffic.)
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from modelops.payloads.events import Kind

Record = TypeVar("Record")

MAX_PENDING = 10_000
MAX_PENDING_BYTES = 64 * 1024 * 1024  # of bodies; held parsed, a few times that
PENDING_TTL_S = 300.0
SEEN_ENTRIES = 400_000  # two per pair: ~50 MB; at 2,000 pairs/s, the last 100 s
SEEN_WINDOW_S = 3600.0


class Outcome(Enum):
    PAIRED = "paired"
    PENDING = "pending"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"  # another event of this kind already waits under this id
    POISONED = "poisoned"  # this id was reused by two requests (or two responses) lately: unpairable


@dataclass(frozen=True)
class Scope:
    model: str
    release: str
    version: str


@dataclass(frozen=True)
class Offered(Generic[Record]):
    outcome: Outcome
    request: Record | None = None  # both set when PAIRED
    response: Record | None = None
    evicted: int = 0  # unmatched events dropped to make room or because they waited too long


@dataclass
class _Waiting(Generic[Record]):
    kind: Kind
    record: Record
    size: int
    since: float


class Pairing(Generic[Record]):
    """Thread-safe; `offer` each accepted event once, with the record the sink keeps for it."""

    def __init__(
        self,
        *,
        max_pending: int = MAX_PENDING,
        max_pending_bytes: int = MAX_PENDING_BYTES,
        pending_ttl_s: float = PENDING_TTL_S,
        seen_entries: int = SEEN_ENTRIES,
        seen_window_s: float = SEEN_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_pending = max_pending
        self._max_pending_bytes = max_pending_bytes
        self._pending_ttl_s = pending_ttl_s
        self._seen_entries = seen_entries
        self._seen_window_s = seen_window_s
        self._clock = clock
        self._pending: OrderedDict[tuple[Scope, str], _Waiting[Record]] = OrderedDict()
        self._pending_bytes = 0
        self._seen: OrderedDict[bytes, float] = OrderedDict()
        self._poisoned: OrderedDict[tuple[Scope, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def offer(
        self, scope: Scope, kind: Kind, event_id: str, *, digest: bytes, record: Record, size: int
    ) -> Offered[Record]:
        key = _seen_key(scope, kind, event_id, digest)
        with self._lock:
            now = self._clock()
            self._forget_old(now)
            if key in self._seen:
                return Offered(Outcome.DUPLICATE)
            if (scope, event_id) in self._poisoned:
                return Offered(Outcome.POISONED)
            waiting = self._pending.get((scope, event_id))
            if waiting is not None and waiting.kind == kind:
                del self._pending[(scope, event_id)]
                self._pending_bytes -= waiting.size
                self._poisoned[(scope, event_id)] = now
                if len(self._poisoned) > self._seen_entries:
                    self._poisoned.popitem(last=False)
                return Offered(Outcome.CONFLICT, evicted=1)
            self._seen[key] = now
            if len(self._seen) > self._seen_entries:
                self._seen.popitem(last=False)
            if waiting is not None:
                del self._pending[(scope, event_id)]
                self._pending_bytes -= waiting.size
                if kind == "request":
                    return Offered(Outcome.PAIRED, record, waiting.record)
                return Offered(Outcome.PAIRED, waiting.record, record)
            self._pending[(scope, event_id)] = _Waiting(kind, record, size, now)
            self._pending_bytes += size
            return Offered(Outcome.PENDING, evicted=self._evict(now))

    def expire(self) -> int:
        """Drop unmatched events older than the TTL (the sink calls this between flushes)."""
        with self._lock:
            return self._evict(self._clock())

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _evict(self, now: float) -> int:
        evicted = 0
        while self._pending:
            oldest = next(iter(self._pending.values()))
            over = len(self._pending) > self._max_pending or self._pending_bytes > self._max_pending_bytes
            if not over and now - oldest.since <= self._pending_ttl_s:
                break
            self._pending.popitem(last=False)
            self._pending_bytes -= oldest.size
            evicted += 1
        return evicted

    def _forget_old(self, now: float) -> None:
        while self._seen and now - next(iter(self._seen.values())) > self._seen_window_s:
            self._seen.popitem(last=False)
        # After the TTL no event of a poisoned id can still be waiting to be mispaired.
        while self._poisoned and now - next(iter(self._poisoned.values())) > self._pending_ttl_s:
            self._poisoned.popitem(last=False)


def _seen_key(scope: Scope, kind: Kind, event_id: str, digest: bytes) -> bytes:
    # Hashed: the memory holds hundreds of thousands of these, and ids are the caller's text.
    text = "\0".join((scope.model, scope.release, scope.version, kind, event_id)).encode()
    return hashlib.blake2b(text + digest, digest_size=16).digest()
