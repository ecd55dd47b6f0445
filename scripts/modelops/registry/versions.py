"""Fetch a registered version, verify what was downloaded, and load it without unpickling."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from modelops.errors import InputError
from modelops.registry import tags
from modelops.registry.errors import registry_errors
from modelops.registry.manifest import build_manifest, manifest_digest
from modelops.registry.register import DATASET_ARTIFACTS


@dataclass(frozen=True)
class VersionRef:
    """A model version as the user named it: a number, or an alias such as `@champion`."""

    name: str
    ref: str

    @property
    def is_alias(self) -> bool:
        return not self.ref.isdigit()

    def __str__(self) -> str:
        return (
            f"model {self.name} {'alias ' + self.ref.lstrip('@') if self.is_alias else 'version ' + self.ref}"
        )


@dataclass(frozen=True)
class FetchedVersion:
    """A downloaded version and the facts read from it, each only once it was safe to read."""

    name: str
    version: str
    run_id: str
    source: str
    tags: dict[str, str]
    local_dir: Path
    actual_manifest: dict[str, str]  # every downloaded file, {relative path: sha256}
    mlmodel: dict[str, Any] | None = None  # MLmodel as safe YAML read it; None while unverified
    signature: list[tuple[str, str]] | None = None
    # The skops file, set only once the artifact has the supported shape (so it is inside the artifact).
    model_file: Path | None = None
    # The types skops would have to trust, from the file's schema; None while the file was not opened.
    untrusted_types: list[str] | None = None
    # The manifest digest its files must have: the one a release pins (fetch_version's `pinned_digest`),
    # else the version's own digest tag.
    pinned_digest: str = ""

    @property
    def serialization_format(self) -> str | None:
        """What the MLmodel's sklearn flavor declares (the gate decides whether it is acceptable)."""
        flavors = (self.mlmodel or {}).get("flavors")
        flavor = flavors.get("sklearn") if isinstance(flavors, dict) else None
        value = flavor.get("serialization_format") if isinstance(flavor, dict) else None
        return None if value is None else str(value)

    @property
    def registered_manifest(self) -> dict[str, str] | None:
        raw = self.tags.get(tags.ARTIFACT_MANIFEST)
        if raw is None:
            return None
        try:
            manifest = json.loads(raw)
        except json.JSONDecodeError:
            return {}
        return manifest if isinstance(manifest, dict) else {}

    @property
    def verified(self) -> bool:
        """The downloaded files are exactly the registered ones, and the artifact the pinned digest names.

        Both: the registered manifest is a tag like any other, and the cluster's verifier checks the
        files against the pinned digest alone (modelops.serving.artifact_check). Files that match their
        manifest but not the digest are no artifact a release could serve as judged."""
        return (
            self.registered_manifest is not None
            and self.registered_manifest == self.actual_manifest
            and manifest_digest(self.actual_manifest) == self.pinned_digest
        )

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"


def fetch_version(ref: VersionRef, destination: Path, *, pinned_digest: str | None = None) -> FetchedVersion:
    """Download a version's artifact into `destination` and read the facts the integrity gate needs.

    `pinned_digest` is what a release pins the version by (an overlay's digest annotation); without
    one, the version's own digest tag. Nothing inside the files is read unless they have it."""
    import mlflow

    from modelops.gates.integrity import model_file_name, supported_shape_problems

    client = mlflow.MlflowClient()
    with registry_errors(str(ref)):
        if ref.is_alias:
            found = client.get_model_version_by_alias(ref.name, ref.ref.lstrip("@"))
        else:
            found = client.get_model_version(ref.name, ref.ref)
        # The version's storage location, not `models:/...`: that route adds MLflow's own
        # `registered_model_meta` file, which is not part of the registered artifact.
        storage = client.get_model_version_download_uri(ref.name, found.version)
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=storage, dst_path=str(destination)))
    what = f"model {ref.name} version {found.version}"
    version_tags = dict(found.tags or {})
    try:
        manifest = build_manifest(local)
    except ValueError as error:
        raise InputError(f"{what}: {error}") from None
    fetched = FetchedVersion(
        name=ref.name,
        version=str(found.version),
        run_id=found.run_id or "",
        source=found.source or "",
        tags=version_tags,
        local_dir=local,
        actual_manifest=manifest,
        pinned_digest=version_tags.get(tags.ARTIFACT_DIGEST, "") if pinned_digest is None else pinned_digest,
    )
    if not fetched.verified:
        return fetched  # nothing inside an unverified artifact is parsed; the integrity gate says why
    mlmodel, signature = _read_mlmodel(local, what)
    fetched = replace(fetched, mlmodel=mlmodel, signature=signature)
    if supported_shape_problems(mlmodel, manifest):
        return fetched  # the model file is not opened; the integrity gate names each problem
    model_file = local / str(model_file_name(mlmodel))
    return replace(fetched, model_file=model_file, untrusted_types=_untrusted_types(model_file, what))


def _read_mlmodel(local: Path, what: str) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
    """The MLmodel as plain data (safe YAML: no tags, no objects) and its input signature."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    path = local / "MLmodel"
    try:
        spec = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError, UnicodeDecodeError) as error:
        raise InputError(f"{what}: corrupt artifact, MLmodel unreadable ({type(error).__name__})") from None
    if not isinstance(spec, dict):
        raise InputError(f"{what}: corrupt artifact, MLmodel is not a mapping")
    signature = None
    raw_inputs = spec.get("signature", {}).get("inputs") if isinstance(spec.get("signature"), dict) else None
    if raw_inputs:
        try:
            signature = [(column["name"], column["type"]) for column in json.loads(raw_inputs)]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise InputError(f"{what}: corrupt artifact, signature unreadable") from None
    return spec, signature


def _untrusted_types(model_file: Path, what: str) -> list[str]:
    import skops.io

    try:
        return list(skops.io.get_untrusted_types(file=model_file))
    except Exception as error:  # skops raises many kinds on a damaged archive
        raise InputError(
            f"{what}: corrupt artifact, {model_file.name} unreadable ({type(error).__name__})"
        ) from None


def load_verified_model(fetched: FetchedVersion, trusted_types: list[str]) -> Any:
    """Load the skops file; call only after the integrity gate passed for `fetched`."""
    import skops.io

    if fetched.model_file is None:
        raise InputError(f"model {fetched.label}: corrupt artifact, model file missing")
    try:
        return skops.io.load(
            fetched.model_file, trusted=sorted(set(fetched.untrusted_types or ()) & set(trusted_types))
        )
    except Exception as error:
        raise InputError(
            f"model {fetched.label}: corrupt artifact, cannot load ({type(error).__name__})"
        ) from None


def load_run_dataset(run_id: str, context: str, *, destination: Path, what: str) -> pd.DataFrame:
    """The training or evaluation frame stored with a version's run at registration."""
    import mlflow

    artifact = DATASET_ARTIFACTS[context]
    with registry_errors(f"{what} {context} data"):
        stored = {f.path for f in mlflow.MlflowClient().list_artifacts(run_id, "datasets")}
        if artifact not in stored:
            raise InputError(
                f"{what}: its run {run_id} has no {artifact} (register with `modelops register`, or point "
                f"the model policy's data.{context if context == 'evaluation' else 'reference'} at a file)"
            )
        path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=artifact, dst_path=str(destination)
        )
    try:
        return pd.read_parquet(path)
    except Exception as error:
        raise InputError(f"{what}: {context} data unreadable ({type(error).__name__})") from None
