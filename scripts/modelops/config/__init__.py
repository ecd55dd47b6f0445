"""Environments and per-model promotion policies, parsed once into typed models."""

from modelops.config.environment import Environment, PromotionPolicy
from modelops.config.loader import (
    environments_dir,
    load_environment,
    load_model_policy,
    project_root,
    resolve_policy,
)
from modelops.config.model_policy import DataSources, ModelPolicy, SensitiveFeature

__all__ = [
    "DataSources",
    "Environment",
    "ModelPolicy",
    "PromotionPolicy",
    "SensitiveFeature",
    "environments_dir",
    "load_environment",
    "load_model_policy",
    "project_root",
    "resolve_policy",
]
