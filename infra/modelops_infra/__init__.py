"""The platform's Pulumi components; `build(load_settings(env), ...)` declares one stack."""

from modelops_infra.platform import Platform, build
from modelops_infra.settings import (
    AwsPlatformSettings,
    LocalPlatformSettings,
    PlatformSettings,
    Settings,
    load_settings,
)

__all__ = [
    "AwsPlatformSettings",
    "LocalPlatformSettings",
    "Platform",
    "PlatformSettings",
    "Settings",
    "build",
    "load_settings",
]
