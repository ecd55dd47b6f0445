"""The rightsizing pull request: written in a real git repository from a real Prometheus, rendered by
kubectl kustomize and validated by every rule; nothing proposed when nothing changes."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest
import yaml

from modelops.errors import InputError
from modelops.gitops.repository import layout
from modelops.gitops.repository.gitrepo import Repo
from modelops.gitops.repository.overlay_files import read_state, write_state
from modelops.gitops.validation.validate import validate
from modelops.rightsizing.prometheus import connect
from modelops.rightsizing.propose import rightsize
from tests.rightsizing.conftest import git

MODEL, ENV = "credit-risk", "prod"
OVERLAY = layout.overlay_dir(MODEL, ENV)
RELEASE = layout.overlay_file(MODEL, ENV, layout.RELEASE)


def _rendered_resources(root: Path) -> dict:
    out = subprocess.run(
        ["kubectl", "kustomize", str(root / OVERLAY)], check=True, capture_output=True, text=True
    ).stdout
    [service] = [
        d
        for d in yaml.safe_load_all(out)
        if d and d["kind"] == "InferenceService" and d["metadata"]["name"] == MODEL
    ]
    return service["spec"]["predictor"]["model"]["resources"]


def test_the_pull_request_writes_the_release_file_and_the_result_validates(
    platform: Path, prometheus_history
) -> None:
    base, end = prometheus_history
    repo = Repo(platform)
    outcome = rightsize(repo, platform, model=MODEL, environment=ENV, query=connect(base), end=end)
    proposal = outcome.proposal
    assert proposal is not None
    assert proposal.changed == (RELEASE,)
    assert git(platform, "diff", "--name-only", f"main...{proposal.branch}").split() == [RELEASE]
    # credit-risk in prod: 0.105 cores and 300 MiB for ten days -> 116m and 380Mi; the limit stays 1.
    body = proposal.body
    for expected in (
        "| requests.cpu | 250m | 116m | -54% |",
        "| limits.cpu | 1 | 1 | = |",
        "| requests.memory | 512Mi | 380Mi | -26% |",
        "| limits.memory | 1Gi | 380Mi | -63% |",
        "p95 of 5m usage 105m",
        "window: 14d ending",
        "from 7200 CPU samples",
        # prod runs 3 to 6 replicas: 134m and 132Mi less per replica.
        "+402m to +804m CPU and +396Mi to +792Mi memory of requests at 3 to 6 replicas",
        "p95 latency: 19.5 ms (SLA 40 ms)",
    ):
        assert expected in body, expected
    assert git(platform, "status", "--porcelain") == ""  # the working tree is untouched
    git(platform, "merge", "--quiet", "--no-ff", "-m", "merge", proposal.branch)
    assert _rendered_resources(platform) == {
        "requests": {"cpu": "116m", "memory": "380Mi"},
        "limits": {"cpu": "1", "memory": "380Mi"},
    }
    release = (platform / RELEASE).read_text()
    assert "the stable release of credit-risk in prod" in release.lower()  # comments kept
    assert "Sized by `modelops rightsize`" in release
    validation = validate(platform)
    assert validation.passed, [f.to_dict() for f in validation.findings]
    # A later promotion rewrites release.yaml's release fields and keeps the resources.
    texts = {str(p.relative_to(platform)): p.read_text() for p in (platform / OVERLAY).glob("*.yaml")}
    state = read_state(texts, MODEL, ENV)
    moved = dataclasses.replace(state.stable, version="2")
    promoted = write_state(
        texts, model=MODEL, environment=ENV, state=dataclasses.replace(state, stable=moved)
    )
    assert "requests: {cpu: 116m, memory: 380Mi}" in (promoted[RELEASE] or "")

    again = rightsize(repo, platform, model=MODEL, environment=ENV, query=connect(base), end=end)
    assert again.proposal is None
    assert again.evidence.recommendation.recommended is not None
    assert not again.evidence.recommendation.changed


def test_another_file_overriding_the_resources_is_named_instead_of_proposing_a_no_op(
    platform: Path, prometheus_history
) -> None:
    base, end = prometheus_history
    patch = platform / OVERLAY / "resources.yaml"
    patch.write_text(
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: credit-risk}\n"
        "spec: {predictor: {model: {resources: {requests: {cpu: 300m}}}}}\n"
    )
    kustomization = platform / OVERLAY / layout.KUSTOMIZATION
    kustomization.write_text(kustomization.read_text() + "  - path: resources.yaml\n")
    git(platform, "add", "-A")
    git(platform, "commit", "--quiet", "-m", "resources patched elsewhere")
    with pytest.raises(InputError, match="another file of the overlay sets them"):
        rightsize(Repo(platform), platform, model=MODEL, environment=ENV, query=connect(base), end=end)
    assert git(platform, "branch", "--list", "rightsize/*") == ""


def test_uncommitted_overlay_changes_are_refused_before_anything_is_read(platform: Path) -> None:
    (platform / RELEASE).write_text((platform / RELEASE).read_text() + "# edited\n")
    with pytest.raises(InputError, match=f"{RELEASE}: uncommitted changes"):
        rightsize(Repo(platform), platform, model=MODEL, environment=ENV, query=connect("http://127.0.0.1:9"))


def test_too_little_history_proposes_nothing(platform: Path, prometheus_history) -> None:
    base, end = prometheus_history
    outcome = rightsize(
        Repo(platform), platform, model=MODEL, environment=ENV, query=connect(base), end=end, window="1d"
    )
    # A one-day window holds one day of history: under prod's seven.
    assert outcome.proposal is None
    assert outcome.evidence.recommendation.refused is not None
    assert "1.0 days" in outcome.evidence.recommendation.refused
