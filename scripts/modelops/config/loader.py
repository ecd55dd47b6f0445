"""Reads the YAML files and turns validation failures into one-line input errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from modelops import strict_yaml
from modelops.config.environment import Environment, PromotionPolicy
from modelops.config.model_policy import ModelPolicy, policy_path
from modelops.errors import InputError

M = TypeVar("M", bound=BaseModel)


def project_root() -> Path:
    """The repository root: `MODELOPS_ROOT`, else the nearest parent holding `environments/`."""
    if root := os.environ.get("MODELOPS_ROOT"):
        return Path(root)
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "environments").is_dir() and (candidate / "policies").is_dir():
            return candidate
    return here


def repository_folder(root: Path, name: str | os.PathLike[str]) -> Path:
    """`root / name`, which must be a folder; else modelops is running outside the repository."""
    folder = root / name
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder; run modelops inside the repository or set MODELOPS_ROOT")
    return folder


def environments_dir(root: Path | None = None) -> Path:
    return (root or project_root()) / "environments"


def read_yaml(path: Path) -> Any:
    """The YAML document at `path`. It must also read as strict_yaml reads it (no duplicate or merge
    keys), so that Argo CD's Go reader and this one see the same values."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    try:
        strict_yaml.load(text)
        return YAML(typ="safe").load(text)
    except (YAMLError, yaml.YAMLError) as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"{path}:{where} not valid YAML: {getattr(error, 'problem', error)}") from None


def validate_file(model: type[M], data: Any, path: Path) -> M:
    """`data`, read from `path`, as `model`; else `InputError` naming the file and the first bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
        raise InputError(f"{path}: field '{field}': {first['msg']}{more}") from None


def load_environment(name: str, *, root: Path | None = None) -> Environment:
    """The environment `name`: the stem of a file in `environments/`, never a path to one."""
    folder = environments_dir(root)
    # Looked up among the folder's files, not joined onto it: `../x`, `/abs` or `dev.yaml` name no file here.
    known = sorted(p.stem for p in folder.glob("*.yaml") if p.is_file())
    if name not in known:
        raise InputError(f"{folder}: no such environment '{name}' (known: {', '.join(known) or 'none'})")
    path = folder / f"{name}.yaml"
    environment = validate_file(Environment, read_yaml(path), path)
    if environment.name != name:
        raise InputError(f"{path}: field 'name': is '{environment.name}', expected '{name}'")
    return environment


def load_model_policy(model: str, *, root: Path | None = None) -> ModelPolicy:
    """The policy of `model`: the stem of a file in `policies/models/`, never a path to one."""
    folder = (root or project_root()) / "policies" / "models"
    # Looked up among the folder's files, not joined onto it: `../x` or `/abs` name no file here.
    known = sorted(p.stem for p in folder.glob("*.yaml") if p.is_file())
    if model not in known:
        raise InputError(f"{folder}: no policy for model '{model}' (known: {', '.join(known) or 'none'})")
    path = policy_path(model, folder.parent.parent)
    policy = validate_file(ModelPolicy, read_yaml(path), path)
    if policy.name != model:
        raise InputError(f"{path}: field 'name': is '{policy.name}', expected '{model}'")
    return policy


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def resolve_policy(
    environment: Environment, model: ModelPolicy | None, *, root: Path | None = None
) -> PromotionPolicy:
    """The environment's promotion policy with the model's overrides for it applied."""
    if model is None or environment.name not in model.overrides:
        return environment.promotion
    merged = _deep_merge(environment.promotion.model_dump(), model.overrides[environment.name])
    path = (root or project_root()) / "policies" / "models" / f"{model.name}.yaml"
    try:
        return PromotionPolicy.model_validate(merged)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise InputError(f"{path}: field 'overrides.{environment.name}.{field}': {first['msg']}") from None
