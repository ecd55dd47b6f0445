"""A multi-document YAML text cut into its documents, each kept with the exact text it came from.

`kubectl kustomize` writes one stream per environment. Parsing it document by document costs
the same as parsing it whole, and keeps each object's own text, so a part of the stream can be
handed to another tool (checkov) as written, without dumping objects back to YAML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import yaml

from modelops.errors import InputError

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~50x faster than pure Python

# `---` at the start of a line, then a blank or the line's end, always starts a document: YAML
# forbids it inside any scalar (block scalars end there, a quoted scalar holding it is an error).
_DOCUMENT_START = re.compile(r"^---(?=[ \t\r\n]|$)", re.MULTILINE)
# Directives (`%YAML`, `%TAG`) and document ends (`...`) attach to their neighbours; a stream
# holding either stays whole rather than risk a cut that changes what it means.
_UNCUTTABLE = re.compile(r"^(%|\.\.\.(?=[ \t\r\n]|$))", re.MULTILINE)


@dataclass(frozen=True)
class Document:
    text: str  # from its `---` line (if any) up to the next document's
    objects: tuple[Any, ...]  # one object; several only when the stream could not be cut


def split(text: str) -> list[str]:
    """The stream's documents as texts, in order; concatenated they give `text` back."""
    if _UNCUTTABLE.search(text):
        return [text]
    cuts = [0, *(m.start() for m in _DOCUMENT_START.finditer(text) if m.start() > 0), len(text)]
    return [text[start:end] for start, end in pairwise(cuts) if start < end]


def read(text: str, *, source: str) -> list[Document]:
    """The documents holding something; empty and comment-only ones are dropped, as `render` always did."""
    documents = [Document(part, load(part, source=source)) for part in split(text)]
    return [document for document in documents if document.objects]


def load(text: str, *, source: str) -> tuple[Any, ...]:
    """Every non-empty object in `text`; `InputError` naming `source` if it is not YAML."""
    try:
        return tuple(o for o in yaml.load_all(text, Loader=_LOADER) if o)
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: not YAML: {exc}") from exc


def syntax_problem(text: str) -> str | None:
    """Where and why `text` is not YAML ('line N: problem'), or None when it parses."""
    try:
        for _ in yaml.load_all(text, Loader=_LOADER):
            pass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        return where + (getattr(error, "problem", None) or str(error).splitlines()[0])
    return None


def objects(documents: list[Document]) -> list[Any]:
    return [o for document in documents for o in document.objects]
