"""Pure: the rollout transitions."""

import pytest

from modelops.config.environment import RolloutPolicy
from modelops.errors import InputError
from modelops.gitops.releases import transitions as st

CANARY = RolloutPolicy(strategy="canary", steps=[10, 25, 50])
V1, V2 = st.Release("1", "s3://b/1", "sha256:1"), st.Release("2", "s3://b/2", "sha256:2")


def test_direct_promotion_replaces_stable():
    assert st.promote(st.OverlayState(V1), V2, RolloutPolicy(), where="x") == st.OverlayState(V2)


def test_canary_walks_its_steps_then_completes():
    state = st.promote(st.OverlayState(V1), V2, CANARY, where="x")
    assert (state.traffic.stable, state.traffic.candidate) == (90, 10)
    state = st.step(st.step(state, CANARY, where="x"), CANARY, where="x")
    assert state.traffic.candidate == 50
    with pytest.raises(InputError, match="the last step"):
        st.step(state, CANARY, where="x")
    assert st.complete(state, where="x") == st.OverlayState(V2)


def test_abort_and_shadow_need_a_rollout():
    with pytest.raises(InputError, match="no rollout in progress"):
        st.abort(st.OverlayState(V1), where="x")
    with pytest.raises(InputError, match="no rollout in progress"):
        st.shadow(st.OverlayState(V1), 10, where="x")
    rolling = st.promote(st.OverlayState(V1), V2, CANARY, where="x")
    assert st.abort(rolling, where="x") == st.OverlayState(V1)
    assert st.shadow(rolling, 30, where="x").traffic == st.Traffic(100, 0, 30)


def test_a_second_promotion_waits_for_the_rollout():
    rolling = st.promote(st.OverlayState(V1), V2, CANARY, where="x")
    with pytest.raises(InputError, match="in progress"):
        st.promote(rolling, st.Release("3", "s3://b/3", "sha256:3"), CANARY, where="x")


def test_promoting_what_already_runs_is_refused():
    with pytest.raises(InputError, match="already the stable release"):
        st.promote(st.OverlayState(V1), V1, RolloutPolicy(), where="x")
