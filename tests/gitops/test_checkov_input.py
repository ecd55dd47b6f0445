"""How manifests are cut into checkov chunks: objects a graph check relates never part."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from modelops.errors import InputError
from modelops.gitops import checkov_input
from modelops.gitops.checkov_input import Piece, graph_related, graph_units, pieces_of, plan, read_folder
from modelops.gitops.rendering.documents import Document


def piece(path: str, kind: str, name: str, *, index: int = 0, size: int = 100) -> Piece:
    obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": "models-dev"}}
    return Piece(path, index, "#" * size, (obj,))


def chunk_of(chunks: list[list[Piece]], wanted: Piece) -> int:
    [index] = [i for i, chunk in enumerate(chunks) if wanted in chunk]
    return index


def test_a_role_and_its_binding_share_a_chunk_from_different_files() -> None:
    role, binding = piece("a.yaml", "Role", "read"), piece("z.yaml", "RoleBinding", "read")
    others = [piece(f"m{i}.yaml", "ServiceAccount", f"sa-{i}") for i in range(40)]
    units, free = graph_units([role, binding])
    chunks = plan(others + free, chunks=16, whole=units)
    assert len(chunks) == 16
    assert chunk_of(chunks, role) == chunk_of(chunks, binding)


def test_every_pod_maker_and_network_policy_share_a_chunk() -> None:
    workloads = [piece("w.yaml", "Deployment", "api"), piece("x.yaml", "Job", "batch")]
    policies = [piece(f"n{i}.yaml", "NetworkPolicy", f"np-{i}") for i in range(5)]
    units, free = graph_units(workloads + policies)
    assert free == []
    assert [sorted(p.path for p in unit) for unit in units] == [sorted(p.path for p in workloads + policies)]


def test_network_policies_with_no_pod_anywhere_go_anywhere() -> None:
    policies = [piece(f"n{i}.yaml", "NetworkPolicy", f"np-{i}") for i in range(5)]
    role = piece("r.yaml", "Role", "read")  # and a Role nothing binds
    assert graph_units([*policies, role]) == ([], [*policies, role])


def test_a_piece_two_families_read_joins_them() -> None:
    both = Piece(
        "list.yaml", 0, "x", ({"kind": "List", "items": [{"kind": "Pod"}, {"kind": "RoleBinding"}]},)
    )
    role, policy = piece("r.yaml", "Role", "read"), piece("n.yaml", "NetworkPolicy", "np")
    units, free = graph_units([role, policy, both])
    assert free == [] and len(units) == 1
    assert sorted(p.path for p in units[0]) == ["list.yaml", "n.yaml", "r.yaml"]


def test_only_graph_kinds_wait_for_the_whole_tree() -> None:
    assert graph_related(piece("a.yaml", "NetworkPolicy", "np"))
    assert graph_related(piece("a.yaml", "StatefulSet", "db"))
    assert not graph_related(piece("a.yaml", "InferenceService", "credit-risk"))
    assert not graph_related(piece("a.yaml", "AppProject", "models-dev"))


def test_the_plan_places_every_piece_once_in_file_order_largest_chunk_first() -> None:
    pieces = [piece("dev.yaml", "ServiceAccount", f"sa-{i}", index=i, size=10 + i) for i in range(30)]
    chunks = plan(pieces, chunks=4)
    assert sorted(p.index for chunk in chunks for p in chunk) == list(range(30))
    for chunk in chunks:
        assert [p.index for p in chunk] == sorted(p.index for p in chunk)
    sizes = [sum(len(p.text) for p in chunk) for chunk in chunks]
    assert sizes == sorted(sizes, reverse=True) and max(sizes) - min(sizes) <= 40


def test_objects_checkov_would_count_as_one_stay_together() -> None:
    twins = [piece("dev.yaml", "ServiceAccount", "same", index=i) for i in range(2)]
    chunks = plan(
        [*twins, *(piece("dev.yaml", "ServiceAccount", f"o{i}", index=2 + i) for i in range(8))], chunks=8
    )
    assert chunk_of(chunks, twins[0]) == chunk_of(chunks, twins[1])


def test_written_chunks_keep_file_names_and_parse_to_their_pieces(tmp_path: Path) -> None:
    text = (
        "kind: A\nmetadata: {name: a}\n---\nkind: B\nmetadata: {name: b}\n---\nkind: C\nmetadata: {name: c}\n"
    )
    (tmp_path / "in" / "env").mkdir(parents=True)
    (tmp_path / "in" / "env" / "dev.yaml").write_text(text)
    first, second, third = read_folder(tmp_path / "in")
    checkov_input.write([first, third], tmp_path / "chunk")
    written = (tmp_path / "chunk" / "env" / "dev.yaml").read_text()
    assert [d["kind"] for d in yaml.safe_load_all(written)] == ["A", "C"]
    assert second.path == "env/dev.yaml"


def test_templated_names_are_neutralised_where_checkov_would_drop_the_object() -> None:
    text = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: models\nspec:\n"
    text += "  template:\n    metadata:\n      name: 'models-{{ .name }}'\n"
    [neutral] = pieces_of({"bootstrap.yaml": [Document(text, tuple(yaml.safe_load_all(text)))]})
    assert "models-(( .name ))" in neutral.text
    assert neutral.objects[0]["spec"]["template"]["metadata"]["name"] == "models-(( .name ))"
    checkov_input.refuse_unreadable([neutral], shown_as=Path("rendered"))


def test_a_name_checkov_cannot_read_is_refused() -> None:
    route: dict[str, Any] = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}
    route["spec"] = {"ports": [{"name": 8080}]}
    with pytest.raises(InputError, match=r"checkov cannot read dev.yaml Service/s under rendered"):
        checkov_input.refuse_unreadable([Piece("dev.yaml", 0, "", (route,))], shown_as=Path("rendered"))


def test_a_list_item_without_a_kind_is_refused() -> None:
    # checkov would take the item for a Pod, a graph-check subject that no declared kind shows.
    item = {"apiVersion": "v1", "metadata": {"name": "p"}, "spec": {"containers": []}}
    listing = {"apiVersion": "v1", "kind": "List", "metadata": {}, "items": [item]}
    with pytest.raises(
        InputError,
        match=r"checkov cannot read dev.yaml List \(document 1\) under rendered: an item has no kind",
    ):
        checkov_input.refuse_unreadable([Piece("dev.yaml", 0, "", (listing,))], shown_as=Path("rendered"))
