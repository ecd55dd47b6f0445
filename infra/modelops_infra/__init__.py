"""The platform's Pulumi components; `build(load_settings(env), ...)` declares one stack."""

from modelops_infra.platform import Platform, RegistryPlatform, build
from modelops_infra.settings import (
    AwsPlatformSettings,
    LocalPlatformSettings,
    PlatformSettings,
    RegistryStack,
    Settings,
    load_registry_settings,
    load_settings,
)

__all__ = [
    "AwsPlatformSettings",
    "LocalPlatformSettings",
    "Platform",
    "PlatformSettings",
    "RegistryPlatform",
    "RegistryStack",
    "Settings",
    "build",
    "load_registry_settings",
    "load_settings",
]
