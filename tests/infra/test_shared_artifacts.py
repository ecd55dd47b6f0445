"""One artifact through every environment: dev, staging and prod pin the very same `s3://` URI in the
registry's bucket and the same digest, as `kubectl kustomize` renders their overlays; local pins its
own MinIO bucket."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from modelops.gitops.rendering.render import render
from modelops_infra import layout as L
from modelops_infra.backends.aws_storage import registry_artifact_uri, registry_bucket_name
from tests.infra.conftest import AWS_STACKS
from tests.tools import require_command

DIGEST = "modelops.io/artifact-digest"
VERSION = "modelops.io/model-version"
# MLflow 3's logged-model layout, the only shape a release may pin in the registry's bucket.
LOGGED_MODEL = re.compile(
    r"^s3://(?P<bucket>[^/]+)/(?P<experiment>\d+)/models/(?P<model>m-[0-9a-f]{32})/artifacts$"
)


def _release(overlay: Path) -> tuple[str, str, str]:
    """(storageUri, digest, version) of the stable InferenceService the overlay renders."""
    objects = [o for document in render(overlay) for o in document.objects if isinstance(o, dict)]
    (service,) = [o for o in objects if o.get("kind") == "InferenceService"]
    annotations = service["metadata"]["annotations"]
    return service["spec"]["predictor"]["model"]["storageUri"], annotations[DIGEST], annotations[VERSION]


def ladder_problems(releases: dict[str, tuple[str, str, str]]) -> list[str]:
    """Why the environments on AWS do not serve one artifact from the registry's bucket."""
    problems = []
    for environment, (uri, _, _) in releases.items():
        match = LOGGED_MODEL.match(uri)
        if match is None or match["bucket"] != registry_bucket_name():
            problems.append(f"{environment} pins {uri}, not a logged model in {registry_bucket_name()}")
        elif uri != registry_artifact_uri(match["experiment"], match["model"]):
            problems.append(f"{environment} pins {uri}, which registry_artifact_uri would not name")
    if len(set(releases.values())) > 1:
        problems.append(f"the environments pin different artifacts: {sorted(set(releases.values()))}")
    return problems


@pytest.fixture(scope="module")
def releases(repo_root: Path) -> dict[str, tuple[str, str, str]]:
    require_command("kubectl")
    overlays = repo_root / "gitops" / "models" / "credit-risk" / "overlays"
    return {environment: _release(overlays / environment) for environment in ("local", *AWS_STACKS)}


def test_dev_staging_and_prod_serve_the_same_registered_bytes(releases):
    assert ladder_problems({env: releases[env] for env in AWS_STACKS}) == []


def test_local_pins_its_own_minio_bucket(releases):
    uri, digest, _ = releases["local"]
    assert uri.startswith(f"s3://{L.ARTIFACT_BUCKET_LOCAL}/")
    assert digest == releases["dev"][1]  # the same bytes, registered in the laptop's MLflow


@pytest.mark.parametrize(
    ("environment", "uri", "digest", "expected"),
    [
        # The overlays as they were: each environment its own bucket.
        (
            "prod",
            "s3://modelops-prod-mlflow-artifacts/1/models/m-651ceead9a3bbceb46d1d8a06c5f1414/artifacts",
            None,
            "prod pins s3://modelops-prod-mlflow-artifacts",
        ),
        # The registry's bucket, but another logged model than dev's: not the bytes dev gated.
        (
            "staging",
            "s3://modelops-registry-mlflow-artifacts/1/models/m-50b1b77882ca396f0ebd15ff0f1d2ac8/artifacts",
            None,
            "different artifacts",
        ),
        # The same URI with another digest.
        ("prod", None, "sha256:" + "0" * 64, "different artifacts"),
        # A run's artifact path in the right bucket: not a registered model's.
        ("prod", "s3://modelops-registry-mlflow-artifacts/1/abc/artifacts/model", None, "not a logged model"),
    ],
)
def test_an_environment_that_pins_other_bytes_is_caught(releases, environment, uri, digest, expected):
    doctored = {env: releases[env] for env in AWS_STACKS}
    old_uri, old_digest, version = doctored[environment]
    doctored[environment] = (uri or old_uri, digest or old_digest, version)
    problems = ladder_problems(doctored)
    assert any(expected in problem for problem in problems), problems
