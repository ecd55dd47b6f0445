"""The monitor scores its reference with the files the release pins, as the pods serve them: a version
whose stored files and tags were swapped after its release is not loaded."""

from __future__ import annotations

import json

import mlflow
import pytest

from modelops.config import load_model_policy
from modelops.errors import InputError
from modelops.monitoring.reference import load_reference
from modelops.registry import build_manifest, manifest_digest, tags
from tests.conftest import REPO_ROOT, register_demo_model
from tests.pipeline.test_artifact_pins import MODEL, download_version, overwrite_stored_files


def test_a_served_version_whose_files_were_swapped_is_not_scored(german_credit, tmp_path):
    served = register_demo_model("champion", german_credit)
    pinned = mlflow.MlflowClient().get_model_version(MODEL, served).tags[tags.ARTIFACT_DIGEST]
    policy = load_model_policy(MODEL, root=REPO_ROOT)
    before = load_reference(
        MODEL, served, policy=policy, root=REPO_ROOT, scratch=tmp_path / "before", pinned_digest=pinned
    )
    assert len(before.scores) > 0
    other = download_version(register_demo_model("biased", german_credit), tmp_path / "other")
    overwrite_stored_files(served, other)
    client = mlflow.MlflowClient()
    manifest = build_manifest(other)
    client.set_model_version_tag(MODEL, served, tags.ARTIFACT_MANIFEST, json.dumps(manifest, sort_keys=True))
    client.set_model_version_tag(MODEL, served, tags.ARTIFACT_DIGEST, manifest_digest(manifest))

    with pytest.raises(InputError, match="does not match its registered manifest and pinned digest"):
        load_reference(
            MODEL, served, policy=policy, root=REPO_ROOT, scratch=tmp_path / "after", pinned_digest=pinned
        )
