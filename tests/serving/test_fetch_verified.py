"""The verifying storage initializer, run as the pod runs it: a subprocess given SRC_URI and DEST_DIR,
the pinned digest in its environment, a home and temp folder it cannot write (the container's root
filesystem is read-only). A registered demo version's artifact passes; any tampered copy is refused
with one line naming what is wrong, and DEST_DIR holds nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from modelops.errors import InputError
from modelops.gitops.releases.registered import resolve_release
from modelops.registry import tags
from modelops.registry.manifest import build_manifest, manifest_digest
from modelops.serving.artifact_check import verify_artifact
from modelops.serving.artifact_source import relative_problem
from modelops.serving.fetch_verified import STAGING_PREFIX
from modelops.serving.initializer import DIGEST_ENV
from tests.s3_stand_in import put as _put
from tests.tools import free_port

MODEL = "credit-risk"


@dataclass(frozen=True)
class Pinned:
    storage_uri: str  # as the overlay pins it
    folder: Path  # the same files on this machine
    digest: str
    manifest: dict[str, str]  # the registered one, from the version's tag


@pytest.fixture(scope="module")
def pinned(demo_versions) -> Pinned:
    release, version_tags = resolve_release(MODEL, demo_versions.champion)
    parts = urlsplit(release.storage_uri)
    folder = Path(parts.path if parts.scheme == "file" else release.storage_uri)
    manifest = json.loads(version_tags[tags.ARTIFACT_MANIFEST])
    return Pinned(release.storage_uri, folder, release.digest, manifest)


def run_verifier(
    source: str, destination: Path, *, digest: str | None, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MODELOPS_ARTIFACT"))}
    env.update({"HOME": "/nonexistent", "TMPDIR": "/nonexistent", **(extra_env or {})})
    if digest is not None:
        env[DIGEST_ENV] = digest
    return subprocess.run(
        [sys.executable, "-m", "modelops.serving.fetch_verified", source, str(destination)],
        env=env,
        cwd=destination.anchor,  # not the repository: the module is found as the image finds it
        capture_output=True,
        text=True,
        timeout=180,
    )


def refusal(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused run prints."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "ERROR" in lines[0] and "Traceback" not in result.stderr
    return lines[0]


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def tampered(pinned: Pinned, tmp_path: Path) -> Path:
    copy = tmp_path / "bucket" / "artifacts"
    shutil.copytree(pinned.folder, copy)
    return copy


def test_the_registered_artifact_is_placed_whole_and_verified(pinned, tmp_path):
    destination = tmp_path / "mnt" / "models"
    result = run_verifier(pinned.storage_uri, destination, digest=pinned.digest)
    assert result.returncode == 0, result.stderr
    assert build_manifest(destination) == pinned.manifest  # every registered file, nothing else
    assert manifest_digest(build_manifest(destination)) == pinned.digest
    assert not list(destination.glob(f"{STAGING_PREFIX}*"))
    assert "verified" in result.stderr and pinned.digest in result.stderr
    # A pod whose init containers run again finds the verified files in place and keeps them.
    again = run_verifier(str(pinned.folder), destination, digest=pinned.digest)
    assert again.returncode == 0, again.stderr
    assert build_manifest(destination) == pinned.manifest


def _change_one_byte(folder: Path) -> str:
    path = folder / "model.skops"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return "model.skops"


def _add_a_file(folder: Path) -> str:
    (folder / "sitecustomize.py").write_text("import os\n")
    return "sitecustomize.py"


def _remove_a_file(folder: Path) -> str:
    (folder / "requirements.txt").unlink()
    return "MLmodel"  # the line lists the files that remain; the digest cannot say which one left


def _symlink(folder: Path) -> str:
    (folder / "conda.yaml").unlink()
    (folder / "conda.yaml").symlink_to("/etc/hostname")
    return "conda.yaml: artifacts must not contain symlinks"


@pytest.mark.parametrize("tamper", [_change_one_byte, _add_a_file, _remove_a_file, _symlink])
def test_a_tampered_copy_is_refused_and_nothing_is_left(pinned, tmp_path, tamper):
    source = tampered(pinned, tmp_path)
    named = tamper(source)
    destination = tmp_path / "mnt" / "models"
    line = refusal(run_verifier(f"file://{source}", destination, digest=pinned.digest))
    assert named in line
    assert entries(destination) == []


@pytest.mark.parametrize(
    ("digest", "says"),
    [
        (None, "no pinned digest: the release carries no modelops.io/artifact-digest annotation"),
        # What the downward API gives for an annotation the pod does not carry.
        ("", "no pinned digest: the release carries no modelops.io/artifact-digest annotation"),
        ("sha256:abc", "'sha256:abc' is not sha256:<64 hex digits> (modelops.io/artifact-digest)"),
        ("sha256:" + "0" * 64, "not the pinned sha256:" + "0" * 64),
    ],
)
def test_without_the_right_digest_nothing_is_placed(pinned, tmp_path, digest, says):
    destination = tmp_path / "mnt" / "models"
    line = refusal(run_verifier(pinned.storage_uri, destination, digest=digest))
    assert says in line
    assert entries(destination) == []


def test_another_versions_digest_is_refused(pinned, demo_versions, tmp_path):
    other, _ = resolve_release(MODEL, demo_versions.better)
    destination = tmp_path / "mnt" / "models"
    line = refusal(run_verifier(pinned.storage_uri, destination, digest=other.digest))
    assert f"not the pinned {other.digest}" in line
    assert entries(destination) == []


def test_files_already_in_the_destination_are_refused_not_added_to(pinned, tmp_path):
    destination = tmp_path / "mnt" / "models"
    destination.mkdir(parents=True)
    (destination / "model.skops").write_bytes(b"planted")
    line = refusal(run_verifier(pinned.storage_uri, destination, digest=pinned.digest))
    assert "already holds files that are not the pinned artifact (model.skops)" in line
    assert entries(destination) == ["model.skops"]  # never deleted: this run did not write it


def test_an_unsupported_scheme_is_refused_before_anything_is_written(pinned, tmp_path):
    destination = tmp_path / "mnt" / "models"
    line = refusal(run_verifier("gs://bucket/1/models/m-0/artifacts", destination, digest=pinned.digest))
    assert "reads only s3://bucket/prefix" in line
    assert not destination.exists()


# --- the verifier's rule, in process: what the local launcher calls before starting MLServer ---


def test_verify_artifact_passes_the_registered_files_and_names_a_changed_one(pinned, tmp_path):
    verify_artifact(pinned.folder, digest=pinned.digest)
    copy = tampered(pinned, tmp_path)
    _change_one_byte(copy)
    with pytest.raises(InputError, match=r"^.*artifacts: .*not the pinned"):
        verify_artifact(copy, digest=pinned.digest)
    # Given the registered manifest (the version's tag), the changed file itself is named.
    with pytest.raises(
        InputError, match=r"artifact file model\.skops has sha256 [0-9a-f]{12}\.\.\., registered"
    ):
        verify_artifact(copy, digest=pinned.digest, manifest=pinned.manifest)
    with pytest.raises(InputError, match="registered manifest is not the one the pinned digest"):
        verify_artifact(copy, digest=pinned.digest, manifest={**pinned.manifest, "extra": "0" * 64})


@pytest.mark.parametrize("key", ["../escape", "a/../../escape", "a//b", "./a", "/etc/passwd", "a\\..\\b"])
def test_object_keys_that_could_escape_the_destination_are_refused(key):
    assert relative_problem(key) is not None


@pytest.mark.parametrize("key", ["MLmodel", "model.skops", "data/part-0.parquet", "a..b"])
def test_plain_object_keys_pass(key):
    assert relative_problem(key) is None


# --- s3:// against a real S3 API on loopback (moto's server), as MinIO serves the local stack ---


def _upload(endpoint: str, folder: Path, prefix: str) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        _put(endpoint, f"{prefix}/{path.relative_to(folder).as_posix()}", path.read_bytes())


S3_KEYS = {
    "AWS_ACCESS_KEY_ID": "reader",
    "AWS_SECRET_ACCESS_KEY": "reader-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def test_from_s3_the_registered_artifact_passes_and_a_swapped_model_file_is_refused(
    pinned, s3_server, tmp_path
):
    # KServe sets AWS_ENDPOINT_URL from the ServiceAccount Secret's `serving.kserve.io/s3-endpoint`.
    env = {**S3_KEYS, "AWS_ENDPOINT_URL": s3_server}
    _put(s3_server, "artifacts-bucket")
    prefix = "artifacts-bucket/1/models/m-0123456789abcdef0123456789abcdef/artifacts"
    _upload(s3_server, pinned.folder, prefix)
    destination = tmp_path / "good" / "models"
    result = run_verifier(f"s3://{prefix}", destination, digest=pinned.digest, extra_env=env)
    assert result.returncode == 0, result.stderr
    assert build_manifest(destination) == pinned.manifest

    # Someone with write access to the bucket swaps the model file after the gate (moto refuses to
    # overwrite a key through its plain HTTP API, so the swapped artifact is uploaded beside it).
    copy = tampered(pinned, tmp_path)
    (copy / "model.skops").write_bytes(b"not the judged model")
    swapped_prefix = "artifacts-bucket/1/models/m-fedcba9876543210fedcba9876543210/artifacts"
    _upload(s3_server, copy, swapped_prefix)
    swapped = tmp_path / "swapped" / "models"
    line = refusal(run_verifier(f"s3://{swapped_prefix}", swapped, digest=pinned.digest, extra_env=env))
    assert f"s3://{swapped_prefix}" in line and "model.skops" in line and "not the pinned" in line
    assert entries(swapped) == []


def test_from_s3_a_key_that_climbs_out_of_the_folder_is_refused(pinned, s3_server, tmp_path):
    env = {**S3_KEYS, "AWS_ENDPOINT_URL": s3_server}
    _put(s3_server, "artifacts-bucket")
    _put(s3_server, "artifacts-bucket/artifacts/../../escape.py", b"import os\n")
    destination = tmp_path / "mnt" / "models"
    line = refusal(
        run_verifier("s3://artifacts-bucket/artifacts", destination, digest=pinned.digest, extra_env=env)
    )
    assert "'../../escape.py': is not a plain relative path" in line
    assert entries(destination) == []
    assert not (tmp_path / "escape.py").exists() and not (tmp_path / "mnt" / "escape.py").exists()


def test_an_unreachable_store_fails_within_the_bounds_with_one_line(pinned, tmp_path):
    env = {**S3_KEYS, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}  # nobody listens
    destination = tmp_path / "mnt" / "models"
    started = time.monotonic()
    line = refusal(run_verifier("s3://artifacts-bucket/a", destination, digest=pinned.digest, extra_env=env))
    assert time.monotonic() - started < 60
    assert "s3://artifacts-bucket/a: cannot be listed" in line
    assert entries(destination) == []
