"""Reading rendered objects whatever shape a file gave them: a malformed field is absent, never a crash.

kustomize renders whatever the files hold, and the schemas report wrong shapes; the rules must still
give an answer for every object, and an answer that fails closed.
"""

from __future__ import annotations

from typing import Any

from modelops.gitops.repository import layout


def get(node: Any, *path: str | int) -> Any:
    """The value at `path` (mapping keys or list indexes), or None wherever the path breaks."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, list) or not -len(node) <= step < len(node):
                return None
            node = node[step]
        elif isinstance(node, dict):
            node = node.get(step)
        else:
            return None
    return node


def items(node: Any) -> list[Any]:
    """`node` if it is a list, else nothing."""
    return node if isinstance(node, list) else []


def mapping(node: Any) -> dict[str, Any]:
    """`node` if it is a mapping, else an empty one."""
    return node if isinstance(node, dict) else {}


def api_group(document: dict[str, Any]) -> str:
    api_version = document.get("apiVersion")
    return api_version.rpartition("/")[0] if isinstance(api_version, str) else ""


def name_of(document: dict[str, Any]) -> str:
    return str(get(document, "metadata", "name") or "")


def subject(document: dict[str, Any]) -> str:
    """Kind/name, as findings name an object."""
    return f"{document.get('kind')}/{name_of(document)}"


def model_of(document: dict[str, Any]) -> str:
    """The model an object belongs to: a candidate's objects carry the model's name plus a suffix."""
    return name_of(document).removesuffix(layout.CANDIDATE_SUFFIX)


def is_template(value: Any) -> bool:
    """An ApplicationSet placeholder (`{{...}}`): its value is only known once Argo CD renders it."""
    return isinstance(value, str) and "{{" in value
