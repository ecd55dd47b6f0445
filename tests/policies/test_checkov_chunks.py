"""checkov over a tree cut into chunks finds exactly what one checkov run over the whole tree finds.

Real checkov, no mocks: the custom-check cases of test_checkov.py plus objects that checkov's graph
checks relate across files (a RoleBinding and its Role, Pods and the NetworkPolicy that guards
one of them), scanned once as one run and once cut into eight.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modelops.gitops import checkov_input, checkov_scan
from modelops.gitops.checkov_input import GRAPH_FAMILIES, POD_TEMPLATE_KINDS
from modelops.gitops.checkov_scan import ScanResult, scan, tool_available
from tests.policies.test_checkov import CASES, CHECKS_DIR, NAMESPACE, REPO_ROOT, block_yaml, named
from tests.tools import require, require_command

CHUNKS = 8


@pytest.fixture(scope="module")
def checkov() -> None:
    require(tool_available(), f"checkov {checkov_scan.CHECKOV_VERSION} through uvx")


def _meta(name: str, **labels: str) -> dict[str, Any]:
    return {"name": name, "namespace": NAMESPACE, **({"labels": labels} if labels else {})}


ROLE = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "Role",
    "metadata": _meta("read-secrets"),
    "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]}],
}
# CKV2_K8S_5 fails it only through its Role: apart from it, the binding would pass unseen.
BINDING = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "RoleBinding",
    "metadata": _meta("read-secrets"),
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-secrets"},
    "subjects": [{"kind": "ServiceAccount", "name": "credit-risk", "namespace": NAMESPACE}],
}


BINDING_FAILS = ("CKV2_K8S_5", f"RoleBinding.{NAMESPACE}.read-secrets")


def deployment(name: str) -> dict[str, Any]:
    container = {"name": "app", "image": "registry.example.org/app@sha256:" + "0" * 64}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name),
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}},
        },
    }


# CKV2_K8S_6 passes the guarded Pod only through this policy, and fails the unguarded one.
POLICY = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": _meta("guard"),
    "spec": {"podSelector": {"matchLabels": {"app": "guarded"}}, "policyTypes": ["Ingress"]},
}


@pytest.fixture(scope="module")
def tree(checkov: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("checkov-chunks")
    yaml = block_yaml()
    documents = [named(manifest, name) for _, name, manifest, _ in CASES]
    for kind in sorted({d["kind"] for d in documents}):
        with (folder / f"{kind.lower()}.yaml").open("w") as stream:
            yaml.dump_all([d for d in documents if d["kind"] == kind], stream)
    # Related objects in files that sort far apart, so a cut by file or by order would part them.
    for path, manifests in {
        "a-rbac/role.yaml": [ROLE],
        "z-bindings.yaml": [BINDING],
        "m-apps/deployments.yaml": [deployment("guarded"), deployment("unguarded")],
        "b-network.yaml": [POLICY],
    }.items():
        (folder / path).parent.mkdir(exist_ok=True)
        with (folder / path).open("w") as stream:
            yaml.dump_all(manifests, stream)
    return folder


@dataclass(frozen=True)
class Scans:
    single: ScanResult  # one checkov run over everything, graph built
    chunked: ScanResult
    chunks: int
    graph_chunks: int  # chunks checkov built its graph for


@pytest.fixture(scope="module")
def scans(tree: Path) -> Scans:
    written, graphs = [], []
    with pytest.MonkeyPatch.context() as patch:
        write, needs_graph = checkov_input.write, checkov_input.needs_graph
        patch.setattr(
            checkov_input, "write", lambda chunk, folder: (written.append(folder), write(chunk, folder))
        )
        patch.setattr(
            checkov_input, "needs_graph", lambda chunk: graphs.append(needs_graph(chunk)) or graphs[-1]
        )
        chunked = scan(tree, checks_dir=CHECKS_DIR, chunks=CHUNKS)
    single = scan(tree, checks_dir=CHECKS_DIR, chunks=1)
    return Scans(single, chunked, len(written), sum(graphs))


def outcomes(result: ScanResult) -> set[tuple[Any, ...]]:
    """Every check on every resource; fields as a set: checkov orders a graph check's from a set."""
    return {
        (status, f.check_id, f.resource, f.file, frozenset(f.fields), getattr(f, "reason", ""))
        for status, findings in (
            ("passed", result.passed_checks),
            ("failed", result.failed),
            ("skipped", result.skipped),
        )
        for f in findings
    }


def test_a_chunked_scan_finds_exactly_what_one_run_over_everything_finds(scans: Scans) -> None:
    assert scans.chunks > 4  # the cases alone fill several chunks; graph objects stay in one
    # Most chunks hold no graph-check subject and are scanned without a graph, the rest with one.
    assert 0 < scans.graph_chunks < scans.chunks
    assert outcomes(scans.chunked) == outcomes(scans.single)
    assert (scans.chunked.passed, scans.chunked.resources) == (scans.single.passed, scans.single.resources)
    assert len(scans.single.failed) > 40


def test_a_binding_whose_role_sits_in_another_file_still_fails(scans: Scans) -> None:
    assert (BINDING_FAILS, "z-bindings.yaml") in {
        ((f.check_id, f.resource), f.file) for f in scans.chunked.failed
    }


def test_a_chunk_scanned_without_its_graph_would_hide_graph_failures(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control for the two tests above: the graph flag reaches checkov, and is what finds them."""
    monkeypatch.setattr(checkov_input, "needs_graph", lambda chunk: False)
    blind = scan(tree, checks_dir=CHECKS_DIR, chunks=CHUNKS)
    assert BINDING_FAILS not in {(f.check_id, f.resource) for f in blind.failed}
    assert not [f for f in (*blind.failed, *blind.passed_checks) if f.check_id == "CKV2_K8S_6"]


def test_pods_are_judged_by_network_policies_in_other_files(scans: Scans) -> None:
    chunked = scans.chunked

    def pods(findings: tuple[checkov_scan.Finding, ...]) -> set[str]:
        return {f.resource.split(".")[2] for f in findings if f.check_id == "CKV2_K8S_6"}

    assert (pods(chunked.passed_checks), pods(chunked.failed)) == ({"guarded"}, {"unguarded"})


def test_seeded_custom_check_failures_are_reported_from_every_chunk(scans: Scans) -> None:
    failed = {(f.check_id, f.resource.rpartition(".")[2]) for f in scans.chunked.failed}
    assert {(check, name) for check, name, _, expected in CASES if expected == "failed"} <= failed


# --- what the cut relies on, checked against the pinned checkov ---------------------------------------

_GRAPH_CHECKS = """
import json, pathlib, yaml
from checkov.kubernetes import kubernetes_utils
from checkov.kubernetes.checks import graph_checks

def as_set(value):
    return {value} if isinstance(value, str) else set(value)

def walk(node, found):
    if isinstance(node, dict):
        if node.get("cond_type") == "filter" and node.get("attribute") in ("kind", "resource_type"):
            found["filter"] |= as_set(node["value"])
            found["all"] |= as_set(node["value"])
        for key in ("resource_types", "connected_resource_types"):
            if key in node:
                found["all"] |= as_set(node[key])
        for value in node.values():
            walk(value, found)
    elif isinstance(node, list):
        for value in node:
            walk(value, found)

checks = {}
for path in sorted(pathlib.Path(graph_checks.__file__).parent.iterdir()):
    if path.suffix in (".json", ".yaml", ".yml"):
        check = yaml.safe_load(path.read_text())
        found = {"filter": set(), "all": set()}
        walk(check["definition"], found)
        checks[check["metadata"]["id"]] = {key: sorted(kinds) for key, kinds in found.items()}
pod_templates = sorted(kubernetes_utils.SUPPORTED_POD_CONTAINERS_TYPES)
print(json.dumps({"checks": checks, "pod_templates": pod_templates}))
"""


def _in_checkov(code: str, *args: str) -> Any:
    done = subprocess.run(
        [*checkov_scan._checkov_command(offline=True), "python", "-I", "-c", code, *args],
        capture_output=True, text=True, env=checkov_scan._env(), timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_each_graph_check_of_the_pinned_checkov_stays_within_one_family(checkov: None) -> None:
    found = _in_checkov(_GRAPH_CHECKS)
    assert set(found["pod_templates"]) == POD_TEMPLATE_KINDS
    assert len(found["checks"]) == 6
    for check_id, kinds in found["checks"].items():
        assert kinds["filter"], f"{check_id} reports on every kind: chunking would not be safe"
        assert any(
            set(kinds["filter"]) <= family.subjects and set(kinds["all"]) <= family.kinds
            for family in GRAPH_FAMILIES
        ), (check_id, kinds)


_LOADERS = """
import importlib.util, json, sys, yaml
from checkov.kubernetes.parser import k8_yaml
spec = importlib.util.spec_from_file_location("checkov_batch", sys.argv[1])
batch = importlib.util.module_from_spec(spec); spec.loader.exec_module(batch)
own = k8_yaml.SafeLineLoader
batch._parse_yaml_with_libyaml()
same = {}
for path in sys.argv[2:]:
    text = open(path).read()
    ours = list(yaml.load_all(text, Loader=k8_yaml.SafeLineLoader))
    same[path] = ours == list(yaml.load_all(text, Loader=own))  # objects and their line numbers
print(json.dumps({"replaced": k8_yaml.SafeLineLoader is not own, "same": same}))
"""


def test_checkov_reads_through_libyaml_what_its_own_loader_reads(tree: Path, tmp_path: Path) -> None:
    kubectl = require_command("kubectl")
    for name in ("local", "dev", "staging", "prod"):
        folder = REPO_ROOT / "gitops" / "environments" / name
        rendered = subprocess.run(
            [kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=True
        )
        (tmp_path / f"{name}.yaml").write_text(rendered.stdout)
    files = [str(p) for p in [*sorted(tmp_path.glob("*.yaml")), *sorted(tree.rglob("*.yaml"))]]
    found = _in_checkov(_LOADERS, str(Path(checkov_scan.__file__).with_name("checkov_batch.py")), *files)
    assert found["replaced"]
    assert found["same"] == dict.fromkeys(files, True)
