"""The monitor's live releases read from the Kubernetes API, against a loopback HTTPS API server that
serves the committed overlays as `kubectl kustomize` renders them (tests/monitoring/kube_api.py): the
same releases as the gitops overlay gives, by the same rule."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from modelops.errors import InputError
from modelops.gitops.releases.transitions import Release, Traffic
from modelops.gitops.repository import layout
from modelops.gitops.repository.overlay_files import read_state, write_state
from modelops.monitoring.cluster_releases import cluster_releases
from modelops.monitoring.kubernetes_api import ApiServer
from modelops.monitoring.releases import LiveRelease, live_releases
from tests.cli_runner import invoke
from tests.conftest import REPO_ROOT
from tests.monitoring.kube_api import Cluster, api_server, render

MODEL = "credit-risk"
TOKEN = "monitor-token-4f2a"


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "platform"
    for folder in ("environments", "policies", "gitops"):
        shutil.copytree(REPO_ROOT / folder, root / folder)
    return root


def _overlay(root: Path, environment: str) -> Path:
    return root / layout.overlay_dir(MODEL, environment)


def _start_rollout(root: Path, environment: str, *, traffic: Traffic) -> None:
    """The overlay as `modelops promote` and `modelops rollout` leave it: a candidate and a split."""
    overlay = _overlay(root, environment)
    texts = {str(p.relative_to(root)): p.read_text() for p in overlay.glob("*.yaml")}
    state = read_state(texts, MODEL, environment)
    candidate = Release(
        version=str(int(state.stable.version) + 1),
        storage_uri=state.stable.storage_uri.replace("/models/m-", "/models/m-next-"),
        digest="sha256:" + "ab" * 32,
    )
    changes = write_state(
        texts,
        model=MODEL,
        environment=environment,
        state=replace(state, candidate=candidate, traffic=traffic),
    )
    for path, text in changes.items():
        assert text is not None
        (root / path).write_text(text)


def _cluster(*overlays: Path) -> Cluster:
    cluster = Cluster(TOKEN)
    for overlay in overlays:
        cluster.apply(render(overlay))
    return cluster


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_committed_overlays_read_from_the_api_give_the_overlays_releases(tmp_path, environment):
    cluster = _cluster(_overlay(REPO_ROOT, environment))
    with api_server(tmp_path, cluster) as server:
        found = cluster_releases(server, model=MODEL, namespace=f"models-{environment}")
    expected = live_releases(REPO_ROOT, model=MODEL, environment=environment)
    assert found == expected and [r.role for r in found] == ["stable"]
    # Both kinds were listed, with the pod's token, and nothing else was asked for.
    paths = {request.split("?")[0] for request in cluster.requests}
    assert paths == {
        f"/apis/serving.kserve.io/v1beta1/namespaces/models-{environment}/inferenceservices",
        f"/apis/gateway.networking.k8s.io/v1/namespaces/models-{environment}/httproutes",
    }


@pytest.mark.parametrize(
    ("traffic", "shadow"), [(Traffic(stable=90, candidate=10), False), (Traffic(mirror=20), True)]
)
def test_a_rollouts_candidate_is_read_from_its_inferenceservice_and_shadow_from_the_route(
    tmp_path, traffic, shadow
):
    root = _copy(tmp_path)
    _start_rollout(root, "prod", traffic=traffic)
    # Another environment's objects in another namespace are not this one's.
    cluster = _cluster(_overlay(root, "prod"), _overlay(root, "staging"))
    with api_server(tmp_path, cluster) as server:
        found = cluster_releases(server, model=MODEL, namespace="models-prod")
    assert found == live_releases(root, model=MODEL, environment="prod")
    stable, candidate = found
    assert (candidate.role, candidate.version, candidate.shadow) == (
        "candidate",
        str(int(stable.version) + 1),
        shadow,
    )
    assert stable.digest and candidate.digest and stable.digest != candidate.digest  # what each pins
    # Pages of one object each were followed to the end: two InferenceServices, one route.
    assert sum("continue=" in request for request in cluster.requests) == 1


def test_a_wrong_token_is_refused_with_the_api_servers_answer(tmp_path):
    cluster = _cluster(_overlay(REPO_ROOT, "prod"))
    with api_server(tmp_path, cluster) as server:
        (tmp_path / "token").write_text("someone-else")
        with pytest.raises(InputError, match=r"inferenceservices answered 401 \(Unauthorized\)"):
            cluster_releases(server, model=MODEL, namespace="models-prod")


def test_a_busy_api_server_is_asked_again_and_a_silent_one_fails_in_bounded_attempts(tmp_path):
    cluster = _cluster(_overlay(REPO_ROOT, "prod"))
    with api_server(tmp_path, cluster) as server:
        cluster.fail_next = [503, 503]
        (stable,) = cluster_releases(server, model=MODEL, namespace="models-prod")
        assert stable.role == "stable"
        cluster.fail_next = [503] * 3
        with pytest.raises(InputError, match=r"did not answer 3 attempts \(HTTP 503\)"):
            cluster_releases(server, model=MODEL, namespace="models-prod")


def test_a_server_whose_certificate_the_pods_ca_did_not_sign_is_not_trusted(tmp_path):
    cluster = _cluster(_overlay(REPO_ROOT, "prod"))
    other = tmp_path / "other"
    other.mkdir()
    with api_server(other, Cluster(TOKEN)) as stranger, api_server(tmp_path, cluster) as server:
        impostor = ApiServer(server.url, server.token_file, stranger.ca_file)
        with pytest.raises(InputError, match="CERTIFICATE_VERIFY_FAILED"):
            cluster_releases(impostor, model=MODEL, namespace="models-prod")
    assert cluster.requests == []  # the token never left the pod


def test_a_model_the_namespace_does_not_serve_is_named(tmp_path):
    cluster = _cluster(_overlay(REPO_ROOT, "prod"))
    with api_server(tmp_path, cluster) as server:
        with pytest.raises(InputError, match="namespace models-prod: no InferenceService fraud-score"):
            cluster_releases(server, model="fraud-score", namespace="models-prod")
        with pytest.raises(InputError, match="not a Kubernetes namespace name"):
            cluster_releases(server, model=MODEL, namespace="../../api")


def test_a_candidate_without_its_route_is_not_guessed(tmp_path):
    root = _copy(tmp_path)
    _start_rollout(root, "prod", traffic=Traffic(mirror=20))
    cluster = Cluster(TOKEN)
    cluster.apply([o for o in render(_overlay(root, "prod")) if o["kind"] != "HTTPRoute"])
    with (
        api_server(tmp_path, cluster) as server,
        pytest.raises(InputError, match="credit-risk-candidate runs, but no HTTPRoute credit-risk"),
    ):
        cluster_releases(server, model=MODEL, namespace="models-prod")


def test_outside_a_pod_the_command_says_to_read_the_overlay_instead(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    payloads = tmp_path / "payloads"
    payloads.mkdir()
    result = invoke("monitor", MODEL, "--env", "prod", "--payloads", payloads, "--namespace", "models-prod")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "KUBERNETES_SERVICE_HOST is unset" in line and "Traceback" not in result.output


def test_the_monitor_measures_what_the_api_server_lists_with_no_gitops_checkout(
    tmp_path, served, german_credit
):
    from modelops.gitops.releases.registered import resolve_release
    from modelops.monitoring.job import run_monitor
    from modelops.monitoring.payload_store import open_store
    from modelops.monitoring.window import Window
    from tests.monitoring.conftest import END, live_rows, scorer, write_payloads

    cluster = _cluster(_overlay(served.root, "prod"))
    shutil.rmtree(served.root / "gitops")  # as in the CronJob's image: environments/ and policies/ only
    frame = live_rows(german_credit.training, served.features, rows=400, seed=3)
    model, _ = scorer(served.version)
    write_payloads(served.payloads, frame, scores=model.predict_proba(frame)[:, 1], version=served.version)
    with api_server(tmp_path, cluster) as server:
        releases = cluster_releases(server, model=MODEL, namespace="models-prod")
    report = run_monitor(
        model=MODEL,
        environment="prod",
        window=Window(END.replace(hour=10), END),
        store=open_store(str(served.payloads)),
        root=served.root,
        releases=releases,
    )
    (stable,) = report.releases
    assert report.errors == () and stable.problem is None
    pinned = resolve_release(MODEL, served.version)[0].digest  # what the overlay pins, from the registry
    assert stable.release == LiveRelease("stable", served.version, digest=pinned) and stable.rows == 400
    assert [c.name for c in stable.columns] == served.features
