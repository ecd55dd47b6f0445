"""Environments and per-model promotion policies, parsed once into typed models."""

from modelops.config.environment import Environment, PromotionPolicy
from modelops.config.loader import (
    environments_dir,
    load_environment,
    load_model_policy,
    project_root,
    read_yaml,
    resolve_policy,
    validate_file,
)
from modelops.config.model_policy import (
    DataSources,
    EvaluationSetPin,
    ModelPolicy,
    SensitiveFeature,
    policy_path,
)

__all__ = [
    "DataSources",
    "Environment",
    "EvaluationSetPin",
    "ModelPolicy",
    "PromotionPolicy",
    "SensitiveFeature",
    "environments_dir",
    "load_environment",
    "load_model_policy",
    "policy_path",
    "project_root",
    "read_yaml",
    "resolve_policy",
    "validate_file",
]
