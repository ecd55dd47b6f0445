"""A model server whose port another process took between the pick and the bind starts again on new ones."""

from __future__ import annotations

import socket

import pytest

from modelops.serving import mlserver
from modelops.serving.latency import served_as
from modelops.serving.mlserver import Ports, infer, running
from modelops.serving.v2 import request_from_frame


def test_a_port_taken_before_mlserver_binds_it_is_tried_again_on_new_ports(
    demo_versions, german_credit, serving_runtime, tmp_path, monkeypatch: pytest.MonkeyPatch
):
    from modelops.config import load_model_policy
    from modelops.registry.versions import VersionRef, fetch_version

    policy = load_model_policy("credit-risk")
    rows = german_credit.evaluation.drop(columns=[policy.label]).head(1)
    fetched = fetch_version(VersionRef("credit-risk", demo_versions.champion), tmp_path / "artifact")
    with socket.socket() as squatter:
        # Another process's listener on the first HTTP port handed out: MLServer cannot bind it.
        squatter.bind(("127.0.0.1", 0))
        squatter.listen(1)
        fresh = Ports.free()
        taken = Ports(int(squatter.getsockname()[1]), fresh.grpc, fresh.metrics)
        handed = iter([taken])
        real_free = Ports.free.__func__  # type: ignore[attr-defined]
        monkeypatch.setattr(
            mlserver.Ports, "free", classmethod(lambda cls: next(handed, None) or real_free(cls))
        )
        log = tmp_path / "mlserver.log"
        with running(served_as("credit-risk"), artifact_dir=fetched.local_dir, log=log) as server:
            assert not server.url.endswith(f":{taken.http}")
            status, body = infer(f"{server.url}/v2/models/credit-risk/infer", request_from_frame(rows))
            assert status == 200 and body["model_name"] == "credit-risk"
