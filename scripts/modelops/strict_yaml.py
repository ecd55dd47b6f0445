"""YAML read the one way every consumer agrees on: no key given twice, no merge key (`<<`).

A file the platform judges is also read by other programs: Argo CD's generators and kustomize read
YAML with Go's yaml.v2, which applies a `<<` merge where it appears, over keys set before it, while
Python's readers keep the explicit key as the YAML spec says. One file could then say `main` to the
gate and another branch to Argo CD. A duplicate key is the same split (each reader keeps a different
one). Both are refused wherever a file is judged. Standard library and PyYAML only: the checkov
environment imports the rules that use it.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml

MERGE_TAG = "tag:yaml.org,2002:merge"


class StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader, refusing a key given twice and a merge key."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                raise yaml.constructor.ConstructorError(None, None, "a merge key (<<)", key_node.start_mark)
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # the constructor refuses it below
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"{key} given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load(text: str) -> Any:
    """The document in `text`; `yaml.YAMLError` when it does not parse or holds what StrictLoader refuses."""
    return yaml.load(text, Loader=StrictLoader)  # a SafeLoader: builds no Python objects
