"""MLflow failures turned into one-line input errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from modelops.errors import InputError

_UNREACHABLE_HINTS = (
    "Max retries exceeded",
    "Failed to establish",
    "Connection refused",
    "timed out",
    "API request to",
)


@contextlib.contextmanager
def registry_errors(what: str) -> Iterator[None]:
    """Run MLflow calls for `what` (e.g. "model credit-risk version 3"), mapping failures.

    A missing version and a missing alias are the same error to the user: the
    reference they gave does not name a model version.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as error:
        message = str(error.message if hasattr(error, "message") else error)
        uri = mlflow.get_registry_uri()
        if any(hint in message for hint in _UNREACHABLE_HINTS):
            raise InputError(f"{what}: the registry at {uri} is unreachable ({_reason(message)})") from None
        if error.error_code == "RESOURCE_DOES_NOT_EXIST" or "not found" in message.lower():
            raise InputError(f"{what}: not found in the registry at {uri}") from None
        raise InputError(f"{what}: registry error: {_first_line(message)}") from None
    except OSError as error:
        raise InputError(f"{what}: {error}") from None


def _reason(message: str) -> str:
    """The transport's own words (refused, timed out) without urllib3's nesting."""
    for hint in ("Connection refused", "timed out", "Failed to establish", "Max retries exceeded"):
        if hint in message:
            return hint.lower()
    return _first_line(message, limit=80)


def _first_line(message: str, limit: int = 160) -> str:
    line = message.strip().splitlines()[0] if message.strip() else "no detail"
    return line if len(line) <= limit else line[: limit - 3] + "..."
