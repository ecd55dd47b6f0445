"""What checkov reads: the manifests cut into chunks it can scan side by side, and what it would drop.

checkov's cost grows faster than the number of objects it reads in one run (its Kubernetes graph
compares every pair of objects), and one run uses one core. So the manifests are cut into chunks,
each scanned by its own checkov run. A chunk holds whole documents under their original file
names, so every finding names the same file and resource as a scan of the whole folder would.

Why chunking cannot hide a failure. A resource check sees one object at a time: the same result
in any chunk. A graph check relates objects through edges checkov draws between pairs of them.
checkov's built-in Kubernetes graph checks (checkov/kubernetes/checks/graph_checks, 3.3.30) come
in two families (GRAPH_FAMILIES): CKV2_K8S_1..5 follow each (Cluster)RoleBinding to its
(Cluster)Role, and CKV2_K8S_6 asks whether each Pod has a NetworkPolicy (checkov makes a Pod of
every workload's pod template). Each check reports only on its subjects (the bindings; the Pods)
and reads only objects of its family's kinds, including whether any exist at all. So when a
family's subjects appear anywhere in the tree, every object of that family's kinds, whatever its
file, namespace or model, goes into one chunk: that chunk's graph holds exactly the whole tree's
objects of those kinds and the edges between them (checkov draws an edge from the two objects
alone, ignoring namespaces). When no subject appears, the family's checks report nothing and its
objects (this platform's NetworkPolicies) go anywhere. tests/policies checks GRAPH_FAMILIES
against the graph checks of the pinned checkov. A custom graph check (YAML or JSON in the checks
folder) could relate anything, so then nothing is cut.

The same reasoning says which chunks need checkov's graph at all: only those holding a subject.
In any other chunk every graph check reports nothing, so checkov skips building the graph there
(`needs_graph`), which was over half of its time on a chunk.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelops.errors import InputError
from modelops.gitops.rendering import documents as yaml_documents
from modelops.gitops.rendering.documents import Document

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
# checkov makes a Pod vertex of the pod template of these (kubernetes_utils.SUPPORTED_POD_CONTAINERS_TYPES).
_WORKLOADS = ("Deployment", "DeploymentConfig", "DaemonSet", "StatefulSet", "Job")
POD_TEMPLATE_KINDS = frozenset({*_WORKLOADS, "ReplicaSet", "ReplicationController"})


@dataclass(frozen=True)
class GraphFamily:
    checks: str
    subjects: frozenset[str]  # the kinds its checks report on
    kinds: frozenset[str]  # every kind its checks read, subjects included


_BINDINGS = frozenset({"RoleBinding", "ClusterRoleBinding"})
_PODS = frozenset({"Pod", *POD_TEMPLATE_KINDS})
GRAPH_FAMILIES = (
    GraphFamily("CKV2_K8S_1..5", _BINDINGS, _BINDINGS | {"Role", "ClusterRole"}),
    GraphFamily("CKV2_K8S_6", _PODS, _PODS | {"NetworkPolicy"}),
)
GRAPH_KINDS = frozenset().union(*(family.kinds for family in GRAPH_FAMILIES))


@dataclass(frozen=True)
class Piece:
    path: str  # relative to the scanned folder: the name checkov reports
    index: int  # position in its file
    text: str  # as checkov will read it
    objects: tuple[Any, ...]


# --- reading --------------------------------------------------------------------------------------


def read_folder(folder: Path) -> list[Piece]:
    pieces = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix in MANIFEST_SUFFIXES and p.is_file()):
        name = str(path.relative_to(folder))
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{folder / name}: not YAML: {exc}") from exc
        if path.suffix == ".json":  # checkov reads a JSON file whole, as one list of objects
            documents = [Document(text, yaml_documents.load(text, source=str(folder / name)))]
        else:
            documents = yaml_documents.read(text, source=str(folder / name))
        pieces += pieces_of({name: documents})
    return pieces


def pieces_of(files: Mapping[str, Sequence[Document]]) -> list[Piece]:
    pieces = []
    for path, documents in files.items():
        for index, document in enumerate(documents):
            text, objects = document.text, document.objects
            if not path.endswith(".json") and ("{" in text or "}" in text):
                neutral = "".join(map(_neutralise_name, text.splitlines(keepends=True)))
                if neutral != text:
                    text, objects = neutral, yaml_documents.load(neutral, source=path)
            pieces.append(Piece(path, index, text, objects))
    return pieces


# --- what checkov would silently drop -------------------------------------------------------------

# checkov drops, without a word, every document holding a `name` field that is not a string or
# contains `#`, `{` or `}`, anywhere in it. An ApplicationSet's template names are go templates
# (`models-{{ .name }}`), so its checks would never run: in the text checkov reads, the braces of
# block-style `name:` lines become parentheses. No Kubernetes name can contain a brace, so only
# template names change, and line numbers stay the same.
_TEMPLATED_NAME_LINE = re.compile(r"^(\s*(?:-\s+)*name:\s)(.*[{}].*)$")
_CHECKOV_BAD_NAME = re.compile(r"[#{}]")


def _neutralise_name(line: str) -> str:
    match = _TEMPLATED_NAME_LINE.match(line)
    if not match:
        return line
    return match.group(1) + match.group(2).replace("{", "(").replace("}", ")") + line[match.end() :]


def refuse_unreadable(pieces: Sequence[Piece], *, shown_as: Path) -> None:
    """Raise for any resource checkov would skip or misread, since its checks would then pass silently."""
    unreadable = [
        f"{piece.path} {doc['kind']}/{_name(doc)}"
        for piece in pieces
        for doc in piece.objects
        if _is_resource(doc) and _has_bad_name(doc)
    ]
    if unreadable:
        raise InputError(
            f"checkov cannot read {', '.join(unreadable)} under {shown_as}: a `name` field is not a "
            "plain string or holds '#', '{' or '}'"
        )
    # checkov checks apiVersion and kind on documents, not on a List's items, and takes an item
    # without a kind for a Pod: a graph subject no kind here would announce (see needs_graph).
    kindless = [
        f"{piece.path} List (document {piece.index + 1})"
        for piece in pieces
        for doc in piece.objects
        if isinstance(doc, dict) and doc.get("kind") == "List" and _has_kindless_item(doc)
    ]
    if kindless:
        raise InputError(f"checkov cannot read {', '.join(kindless)} under {shown_as}: an item has no kind")


def _has_kindless_item(listing: dict[str, Any]) -> bool:
    items = listing.get("items")
    return isinstance(items, list) and any(
        isinstance(item, dict) and not isinstance(item.get("kind"), str) for item in items
    )


def _name(doc: dict[str, Any]) -> Any:
    return doc["metadata"].get("name") if isinstance(doc.get("metadata"), dict) else None


def _is_resource(doc: Any) -> bool:
    return isinstance(doc, dict) and "apiVersion" in doc and "kind" in doc and doc["kind"] != "Kustomization"


def _has_bad_name(node: Any) -> bool:
    # The same walk as checkov's K8sValidator: `name` keys whose value is neither mapping nor list.
    if isinstance(node, list):
        return any(isinstance(entry, dict) and _has_bad_name(entry) for entry in node)
    for key, value in node.items():
        if isinstance(value, dict | list):
            if _has_bad_name(value):
                return True
        elif key == "name" and (
            not isinstance(value, str) or len(value) > 253 or _CHECKOV_BAD_NAME.search(value)
        ):
            return True
    return False


# --- cutting into chunks --------------------------------------------------------------------------


def graph_related(piece: Piece) -> bool:
    """Whether a graph check may read this piece: it waits until every piece is known."""
    return bool(_piece_kinds(piece) & GRAPH_KINDS)


def needs_graph(chunk: Sequence[Piece]) -> bool:
    """Whether a graph check can report on anything in `chunk`: whether it holds a subject."""
    subjects = frozenset().union(*(family.subjects for family in GRAPH_FAMILIES))
    return any(_piece_kinds(piece) & subjects for piece in chunk)


def graph_units(pieces: Sequence[Piece]) -> tuple[list[list[Piece]], list[Piece]]:
    """Among graph-related pieces: those that must share a chunk, one list per unit, and the rest."""
    active = [f for f in GRAPH_FAMILIES if any(_piece_kinds(p) & f.subjects for p in pieces)]
    units: list[tuple[set[str], list[Piece]]] = [(set(family.kinds), []) for family in active]
    free = []
    for piece in pieces:
        touched = [unit for unit in units if _piece_kinds(piece) & unit[0]]
        if not touched:
            free.append(piece)
            continue
        first, *others = touched  # a piece read by two families joins them into one unit
        for other in others:
            first[0].update(other[0])
            first[1].extend(other[1])
            units.remove(other)
        first[1].append(piece)
    return [members for _, members in units if members], free


def plan(pieces: Sequence[Piece], *, chunks: int, whole: Sequence[Sequence[Piece]] = ()) -> list[list[Piece]]:
    """At most `chunks` chunks of about equal size, largest first; each of `whole` stays in one."""
    units = [list(unit) for unit in whole if unit]
    by_identity: dict[tuple[Any, ...], list[Piece]] = {}
    for piece in pieces:
        # Two objects with one checkov id in one file are one resource to checkov: keep them together.
        key = (piece.path, *_identity(piece.objects[0])) if len(piece.objects) == 1 else (piece.path,)
        by_identity.setdefault(key, []).append(piece)
    units += by_identity.values()
    bins: list[list[Piece]] = [[] for _ in range(max(1, min(chunks, len(units))))]
    sizes = [0] * len(bins)
    for unit in sorted(units, key=_size, reverse=True):  # largest first, each to the lightest chunk
        lightest = sizes.index(min(sizes))
        bins[lightest] += unit
        sizes[lightest] += _size(unit)
    chunks_by_size = sorted((chunk for chunk in bins if chunk), key=_size, reverse=True)
    return [sorted(chunk, key=lambda p: (p.path, p.index)) for chunk in chunks_by_size]


def _piece_kinds(piece: Piece) -> set[str]:
    return {kind for o in piece.objects if isinstance(o, dict) for kind in _kinds(o)}


def _kinds(doc: dict[str, Any]) -> set[str]:
    kind = doc.get("kind")
    kinds = {kind} if isinstance(kind, str) else set()
    if kind == "List" and isinstance(doc.get("items"), list):
        kinds |= {k for item in doc["items"] if isinstance(item, dict) for k in _kinds(item)}
    return kinds


def _identity(doc: Any) -> tuple[str, str, str]:
    if not isinstance(doc, dict):
        return ("", "", "")
    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    return (str(doc.get("kind")), str(metadata.get("namespace", "default")), str(metadata.get("name")))


def _size(unit: Sequence[Piece]) -> int:
    return sum(len(piece.text) for piece in unit)


def write(chunk: Sequence[Piece], folder: Path) -> None:
    """The chunk's pieces under their original file names, in their original order."""
    folder.mkdir(parents=True)
    files: dict[str, list[str]] = {}
    for piece in chunk:
        files.setdefault(piece.path, []).append(piece.text)
    for path, texts in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        # Every piece but a file's first starts with its own `---` line, and the first comes first.
        (folder / path).write_text("".join(texts), encoding="utf-8")
