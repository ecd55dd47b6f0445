from modelops.payloads.pairing import Outcome, Pairing, Scope

STABLE = Scope("credit-risk", "stable", "3")
CANDIDATE = Scope("credit-risk", "candidate", "4")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _offer(pairing, kind, event_id, *, scope=STABLE, digest=b"d", size=10):
    return pairing.offer(
        scope, kind, event_id, digest=digest + kind.encode(), record=f"{kind}-{event_id}", size=size
    )


def test_a_request_and_its_response_pair_in_either_order():
    pairing = Pairing()
    assert _offer(pairing, "request", "a").outcome is Outcome.PENDING
    paired = _offer(pairing, "response", "a")
    assert (paired.outcome, paired.request, paired.response) == (Outcome.PAIRED, "request-a", "response-a")
    assert _offer(pairing, "response", "b").outcome is Outcome.PENDING
    paired = _offer(pairing, "request", "b")
    assert (paired.request, paired.response) == ("request-b", "response-b")
    assert pairing.pending == 0


def test_a_redelivery_is_a_duplicate_while_pending_and_after_its_pair_was_joined():
    pairing = Pairing()
    _offer(pairing, "request", "a")
    assert _offer(pairing, "request", "a").outcome is Outcome.DUPLICATE
    _offer(pairing, "response", "a")
    assert _offer(pairing, "response", "a").outcome is Outcome.DUPLICATE
    assert _offer(pairing, "request", "a").outcome is Outcome.DUPLICATE
    assert pairing.pending == 0


def test_the_same_id_at_another_release_is_another_pair_as_mirrored_shadow_traffic_has():
    pairing = Pairing()
    _offer(pairing, "request", "a", scope=STABLE)
    assert _offer(pairing, "request", "a", scope=CANDIDATE).outcome is Outcome.PENDING
    assert _offer(pairing, "response", "a", scope=CANDIDATE).outcome is Outcome.PAIRED
    assert _offer(pairing, "response", "a", scope=STABLE).outcome is Outcome.PAIRED


def test_a_caller_reusing_an_id_for_another_request_poisons_the_id_so_no_response_pairs_wrongly():
    clock = Clock()
    pairing = Pairing(pending_ttl_s=300, clock=clock)
    _offer(pairing, "request", "a", digest=b"first")
    conflict = _offer(pairing, "request", "a", digest=b"second")
    assert (conflict.outcome, conflict.evicted, pairing.pending) == (Outcome.CONFLICT, 1, 0)
    # Either response could answer either request: none pairs, and later requests are refused too.
    assert _offer(pairing, "response", "a", digest=b"for-first").outcome is Outcome.POISONED
    assert _offer(pairing, "response", "a", digest=b"for-second").outcome is Outcome.POISONED
    assert _offer(pairing, "request", "a", digest=b"third").outcome is Outcome.POISONED
    assert _offer(pairing, "request", "b").outcome is Outcome.PENDING  # other ids are untouched
    clock.now = 301  # after the TTL nothing of the old requests can still be waiting
    assert _offer(pairing, "request", "a", digest=b"fourth").outcome is Outcome.PENDING
    assert _offer(pairing, "response", "a", digest=b"fourth").outcome is Outcome.PAIRED


def test_an_id_reused_after_its_pair_was_joined_is_a_new_pair():
    pairing = Pairing()
    _offer(pairing, "request", "a", digest=b"first")
    _offer(pairing, "response", "a", digest=b"first")
    assert _offer(pairing, "request", "a", digest=b"second").outcome is Outcome.PENDING
    assert _offer(pairing, "response", "a", digest=b"second").outcome is Outcome.PAIRED


def test_unmatched_events_are_bounded_in_number_and_bytes_oldest_first():
    pairing = Pairing(max_pending=3, max_pending_bytes=1000)
    evicted = [_offer(pairing, "request", str(i)).evicted for i in range(5)]
    assert evicted == [0, 0, 0, 1, 1] and pairing.pending == 3
    assert _offer(pairing, "response", "0").outcome is Outcome.PENDING  # "0" was evicted
    pairing = Pairing(max_pending=100, max_pending_bytes=25)
    assert [_offer(pairing, "request", str(i), size=10).evicted for i in range(3)] == [0, 0, 1]


def test_an_unmatched_event_waits_at_most_the_ttl():
    clock = Clock()
    pairing = Pairing(pending_ttl_s=60, clock=clock)
    _offer(pairing, "request", "a")
    clock.now = 60
    assert pairing.expire() == 0
    clock.now = 60.1
    assert pairing.expire() == 1 and pairing.pending == 0


def test_the_memory_of_seen_events_is_bounded_by_count_and_window():
    clock = Clock()
    pairing = Pairing(seen_entries=2, seen_window_s=100, clock=clock)
    for event_id in ("a", "b", "c"):
        _offer(pairing, "request", event_id)
        _offer(pairing, "response", event_id)
    assert _offer(pairing, "response", "c").outcome is Outcome.DUPLICATE
    assert _offer(pairing, "response", "a").outcome is Outcome.PENDING  # forgotten: over the count
    pairing = Pairing(seen_window_s=100, clock=clock)
    _offer(pairing, "request", "a")
    _offer(pairing, "response", "a")
    clock.now += 100.1
    assert _offer(pairing, "response", "a").outcome is Outcome.PENDING  # forgotten: over the window
