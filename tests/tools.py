"""External checkers: skip on a laptop that lacks one, fail in CI where every one must run."""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require(available: bool, what: str) -> None:
    if available:
        return
    if in_ci():
        pytest.fail(f"{what} is required in CI (CI=true) but is not available")
    pytest.skip(f"{what} not available on this machine")


def require_command(command: str) -> str:
    path = shutil.which(command)
    require(path is not None, f"the '{command}' command")
    assert path is not None
    return path
