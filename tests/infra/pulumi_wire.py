"""How Pulumi's mocks hand resource inputs over: the one place the tests read the SDK's private names.

The Python SDK marks a secret on the wire as `{SIG_KEY: SECRET_SIG, "value": ...}`. The two constants
belong to Pulumi's resource protocol but the SDK keeps them in private names of `pulumi.runtime.rpc`;
they are read here and nowhere else, and test_pulumi_wire.py fails, naming this file, if they move.
"""

from __future__ import annotations

from typing import Any

from pulumi.runtime import rpc

SIG_KEY: str | None = getattr(rpc, "_special_sig_key", None)
SECRET_SIG: str | None = getattr(rpc, "_special_secret_sig", None)


def reveal(value: Any) -> Any:
    """Inputs arrive with secrets wrapped in Pulumi's signature envelope; manifests need the value."""
    if isinstance(value, dict):
        if SIG_KEY is not None and value.get(SIG_KEY) == SECRET_SIG:
            return reveal(value["value"])
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    # The wire carries every number as a double; Kubernetes wants its integers back.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
