"""The model service accounts gitops/ declares, read so each stack can grant them artifact access.

Each model's predictor runs as the ServiceAccount in `gitops/models/<model>/base/serviceaccount.yaml`;
KServe's storage initializer reads the pinned `s3://` storageUri with that identity. A model is
served in an environment once it has `overlays/<env>/`, so that is where its account is granted.
Adding a model folder and running `pulumi up` is therefore all it takes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from modelops.errors import InputError

# A Kubernetes object name (RFC 1123 subdomain, as ServiceAccount names are validated).
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


@dataclass(frozen=True)
class ModelAccount:
    model: str
    service_account: str
    source: Path


def _read_service_account(path: Path) -> str:
    try:
        with path.open(encoding="utf-8") as handle:
            documents = [doc for doc in YAML(typ="safe").load_all(handle) if doc]
    except YAMLError as error:
        raise InputError(f"{path}: not valid YAML: {getattr(error, 'problem', error)}") from None
    if (
        len(documents) != 1
        or not isinstance(documents[0], dict)
        or documents[0].get("kind") != "ServiceAccount"
    ):
        raise InputError(f"{path}: must hold exactly one ServiceAccount")
    metadata = documents[0].get("metadata") or {}
    name = metadata.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(f"{path}: field 'metadata.name': not a valid ServiceAccount name: {name!r}")
    if "namespace" in metadata:
        # The overlay places the model in models-<env>; a base pinned elsewhere would be granted
        # in a namespace the model never runs in.
        raise InputError(f"{path}: field 'metadata.namespace': the base must not set a namespace")
    return name


def model_accounts(models_dir: Path, environment: str) -> list[ModelAccount]:
    """Every model with an overlay for `environment`, with its service account, sorted by model.

    A missing folder means no models yet. Two models sharing one account are refused: EKS allows a
    single Pod Identity association per account, and a shared identity would blur whose reads are whose.
    """
    if not models_dir.is_dir():
        return []
    found: list[ModelAccount] = []
    owners: dict[str, str] = {}
    for model_dir in sorted(p for p in models_dir.iterdir() if p.is_dir()):
        if not (model_dir / "overlays" / environment).is_dir():
            continue
        source = model_dir / "base" / "serviceaccount.yaml"
        if not source.is_file():
            raise InputError(f"{source}: missing; every model runs under its own ServiceAccount")
        name = _read_service_account(source)
        if name in owners:
            raise InputError(f"{source}: ServiceAccount {name} is already used by model {owners[name]}")
        owners[name] = model_dir.name
        found.append(ModelAccount(model_dir.name, name, source))
    return found
