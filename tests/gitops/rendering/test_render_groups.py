"""An environment with many models is rendered in groups of overlays: the same objects as one call.

kustomize is quadratic in what one call holds, so `render_each` cuts a long list of overlays
into groups. These tests hold it to what one `kubectl kustomize` of the environment gives:
the same objects, the same refusal of duplicates, and one call whenever the environment's
kustomization does more than list folders.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from modelops.bench.gitops_scale import build_repository
from modelops.errors import InputError
from modelops.gitops.rendering import render_plan
from modelops.gitops.rendering.documents import objects
from modelops.gitops.rendering.render import render, render_each
from modelops.gitops.repository import layout
from tests.conftest import REPO_ROOT
from tests.tools import require_command

MODELS = render_plan.OVERLAYS_PER_CALL + 20  # two groups: 100 overlays, then 20


def canonical(documents: list[dict]) -> list[str]:
    return sorted(yaml.safe_dump(document, sort_keys=True) for document in documents)


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_command("kubectl")
    root = tmp_path_factory.mktemp("many-models")
    build_repository(REPO_ROOT, root, MODELS, ["dev"])
    return root


def environment(root: Path) -> Path:
    return root / layout.environment_dir("dev")


def rewrite_kustomization(root: Path, edit) -> None:
    path = environment(root) / layout.KUSTOMIZATION
    kustomization = yaml.safe_load(path.read_text())
    edit(kustomization)
    path.write_text(yaml.safe_dump(kustomization, sort_keys=False))


def test_a_long_list_of_overlays_is_cut_into_groups() -> None:
    entries = [f"../../models/m{i}/overlays/dev" for i in range(250)]
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": entries,
    }
    groups = render_plan.groups(kustomization, [True] * 250)
    assert [len(group) for group in groups] == [100, 100, 50]
    assert [entry for group in groups for entry in group] == entries


@pytest.mark.parametrize(
    "change",
    [
        {"namespace": "models-dev"},  # would apply to every model: one call must see them all
        {"labels": [{"pairs": {"team": "risk"}}]},
        {"patches": [{"path": "replicas.yaml"}]},
    ],
    ids=["namespace", "labels", "patches"],
)
def test_a_kustomization_doing_more_than_listing_stays_one_call(change) -> None:
    kustomization = {"resources": [f"../../models/m{i}/overlays/dev" for i in range(250)], **change}
    assert render_plan.groups(kustomization, [True] * 250) is None


def test_short_lists_and_listed_files_stay_one_call() -> None:
    short = {"resources": [f"m{i}" for i in range(render_plan.OVERLAYS_PER_CALL)]}
    assert render_plan.groups(short, [True] * render_plan.OVERLAYS_PER_CALL) is None
    with_a_file = {"resources": [f"m{i}" for i in range(150)] + ["namespace.yaml"]}
    assert render_plan.groups(with_a_file, [True] * 150 + [False]) is None


def test_groups_render_the_objects_one_call_renders(repository: Path) -> None:
    ((name, grouped),) = render_each({"dev": environment(repository)})
    whole = render(environment(repository))
    assert name == "dev"
    assert len(objects(grouped)) == 4 * MODELS
    assert canonical(objects(grouped)) == canonical(objects(whole))


def test_an_object_rendered_twice_across_groups_is_refused_as_one_call_refuses_it(tmp_path: Path) -> None:
    require_command("kubectl")
    build_repository(REPO_ROOT, tmp_path, MODELS, ["dev"])
    # The first overlay listed again at the end lands in the second group.
    rewrite_kustomization(tmp_path, lambda k: k["resources"].append(k["resources"][0]))
    with pytest.raises(InputError, match="kustomize failed"):
        render(environment(tmp_path))
    with pytest.raises(InputError) as refused:
        list(render_each({"dev": environment(tmp_path)}))
    message = str(refused.value)
    assert message.startswith(
        f"{environment(tmp_path)}: kustomize failed: ServiceAccount/model-000 in namespace"
    )
    assert f"resources 1-100 and {environment(tmp_path)} resources 101-121" in message


def test_a_namespace_set_for_the_whole_environment_reaches_every_model(tmp_path: Path) -> None:
    require_command("kubectl")
    build_repository(REPO_ROOT, tmp_path, MODELS, ["dev"])
    rewrite_kustomization(tmp_path, lambda k: k.update(namespace="elsewhere"))
    ((_, rendered),) = render_each({"dev": environment(tmp_path)})
    assert {o["metadata"]["namespace"] for o in objects(rendered)} == {"elsewhere"}


def test_a_broken_overlay_in_a_group_names_the_environment(tmp_path: Path) -> None:
    require_command("kubectl")
    build_repository(REPO_ROOT, tmp_path, MODELS, ["dev"])
    overlay = tmp_path / layout.overlay_dir("model-110", "dev") / layout.KUSTOMIZATION
    overlay.write_text(overlay.read_text() + "  - path: missing.yaml\n")
    with pytest.raises(InputError) as refused:
        list(render_each({"dev": environment(tmp_path)}))
    assert str(refused.value).startswith(f"{environment(tmp_path)}: kustomize failed:")
    assert "missing.yaml" in str(refused.value)


def test_kustomize_errors_reach_the_user_as_one_line_without_kubectl_log_prefix(tmp_path: Path) -> None:
    require_command("kubectl")
    with pytest.raises(InputError) as refused:
        render(tmp_path / "absent")
    message = str(refused.value)
    assert message.startswith(f"{tmp_path / 'absent'}: kustomize failed: must build at directory")
    assert "run.go" not in message and "\n" not in message


@pytest.mark.parametrize(
    "header",
    [{"kind": "Component", "apiVersion": "kustomize.config.k8s.io/v1alpha1"}, {"kind": "Kustomisation"}],
    ids=["component", "typo"],
)
def test_anything_but_a_plain_kustomization_stays_one_call(header) -> None:
    kustomization = {**header, "resources": [f"../../models/m{i}/overlays/dev" for i in range(250)]}
    assert render_plan.groups(kustomization, [True] * 250) is None


def test_a_cluster_scoped_object_is_one_object_whatever_namespace_a_file_gives_it() -> None:
    bare = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "models"}}
    placed = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "models", "namespace": "x"}}
    assert render_plan.duplicates([("first", [bare]), ("second", [placed])]) == [
        "Namespace/models is rendered twice (first and second)"
    ]
    configs = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": n}} for n in "ab"
    ]
    assert render_plan.duplicates([("first", configs[:1]), ("second", configs[1:])]) == []


def test_a_second_kustomization_file_is_refused_as_one_call_refuses_it(tmp_path: Path) -> None:
    require_command("kubectl")
    build_repository(REPO_ROOT, tmp_path, MODELS, ["dev"])
    (environment(tmp_path) / "kustomization.yml").write_text("resources: []\n")
    with pytest.raises(InputError, match=r"kustomize failed: .*[Mm]ultiple kustomization files"):
        list(render_each({"dev": environment(tmp_path)}))
