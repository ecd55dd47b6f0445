"""Cutting a rendered YAML stream into its documents without changing what any of them means."""

from __future__ import annotations

import pytest
import yaml

from modelops.errors import InputError
from modelops.gitops.rendering.documents import read, split

STREAM = """\
# a leading comment
apiVersion: v1
kind: ConfigMap
metadata: {name: first}
data:
  script: |
    echo start
    --- not a separator: indented inside the block scalar
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: second
--- # a marker with a comment
apiVersion: v1
kind: ConfigMap
metadata: {name: third}
---
"""


def test_the_documents_concatenated_give_the_stream_back() -> None:
    assert "".join(split(STREAM)) == STREAM


def test_each_document_parses_alone_to_what_the_stream_holds() -> None:
    documents = read(STREAM, source="stream")
    assert [d.objects for d in documents] == [(o,) for o in yaml.safe_load_all(STREAM) if o]
    assert [d.objects[0]["metadata"]["name"] for d in documents] == ["first", "second", "third"]
    assert "indented inside the block scalar" in documents[0].objects[0]["data"]["script"]


def test_each_document_keeps_its_own_marker_line() -> None:
    first, second, third = read(STREAM, source="stream")
    assert first.text.startswith("# a leading comment")
    assert second.text.startswith("---\napiVersion")
    assert third.text.startswith("--- # a marker with a comment")


@pytest.mark.parametrize(
    "stream",
    ["%YAML 1.2\n---\na: 1\n---\nb: 2\n", "a: 1\n...\n---\nb: 2\n"],
    ids=["directive", "document-end"],
)
def test_a_stream_with_directives_or_document_ends_stays_whole(stream: str) -> None:
    assert split(stream) == [stream]
    [document] = read(stream, source="stream")
    assert document.objects == ({"a": 1}, {"b": 2})


def test_empty_and_comment_only_documents_are_dropped() -> None:
    assert read("---\n# nothing\n---\n---\na: 1", source="s")[0].objects == ({"a": 1},)
    assert len(read("---\n# nothing\n---\n---\na: 1", source="s")) == 1


def test_a_document_that_is_not_yaml_names_its_source() -> None:
    with pytest.raises(InputError, match=r"kustomize out: not YAML"):
        read("a: 1\n---\nb: [unclosed\n", source="kustomize out")
