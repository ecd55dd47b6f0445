"""`validate` on a many-model repository: checkov's findings, scanned in chunks as environments render,
are those of one checkov run over everything, and name the file a person edits.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from modelops.bench.gitops_scale import build_repository
from modelops.gitops.checkov_scan import CheckovRun
from modelops.gitops.rendering.render import render
from modelops.gitops.repository import layout
from modelops.gitops.rules.argocd import BOOTSTRAP
from modelops.gitops.validation.validate import Validation, _checkov_findings, _rendered_file, validate
from tests.conftest import REPO_ROOT
from tests.tools import require_command

ENVIRONMENTS = ["dev", "staging", "prod"]
MODELS = 40  # ~110 kB of manifests per environment: more than one checkov run

ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: read-secrets
rules:
  - apiGroups: [""]
    resources: [secrets]
    verbs: [get, list, watch]
"""
# Granting model-031's identity model-003's Role: CKV2_K8S_5 sees it only through the Role.
BINDING = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: read-secrets
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: read-secrets
subjects:
  - kind: ServiceAccount
    name: model-031
"""
MIRROR = """\
      filters:
        - type: RequestMirror
          requestMirror:
            backendRef: {name: model-017-predictor, port: 80}
            percent: 150
"""


def _add_to_base(root: Path, model: str, file: str, text: str) -> None:
    base = root / layout.model_dir(model) / "base"
    (base / file).write_text(text)
    kustomization = base / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + f"  - {file}\n")


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_command("kubectl")
    require_command("uvx")
    root = tmp_path_factory.mktemp("many-models")
    build_repository(REPO_ROOT, root, MODELS, ENVIRONMENTS)
    _add_to_base(root, "model-003", "role.yaml", ROLE)
    _add_to_base(root, "model-031", "rolebinding.yaml", BINDING)
    traffic = root / layout.overlay_file("model-017", "prod", layout.TRAFFIC)
    traffic.write_text(traffic.read_text().replace("      backendRefs:\n", MIRROR + "      backendRefs:\n"))
    return root


@pytest.fixture(scope="module")
def validation(repository: Path) -> Validation:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODELOPS_CRD_SCHEMAS", str(REPO_ROOT.parent / "shared" / "schemas" / "crds"))
        return validate(repository)


def checkov_findings(validation: Validation) -> set[tuple[str, str]]:
    return {(f.where, f.message) for f in validation.findings if f.message.startswith("CKV")}


def test_findings_are_those_of_one_checkov_run_over_everything(
    repository: Path, validation: Validation
) -> None:
    folders = {name: repository / layout.environment_dir(name) for name in ENVIRONMENTS}
    folders[BOOTSTRAP] = repository / BOOTSTRAP
    with CheckovRun(checks_dir=repository / "policies" / "checkov", shown_as=repository, chunks=1) as run:
        run.feed({_rendered_file(name): render(folder) for name, folder in folders.items()})
        single = run.finish()
    expected = {(f.where, f.message) for f in _checkov_findings(single, validation.rendered)}
    assert checkov_findings(validation) == expected
    assert single.resources == validation.objects


def test_a_binding_is_judged_by_a_role_from_another_model(validation: Validation) -> None:
    for environment in ENVIRONMENTS:
        assert any(
            where == f"gitops/environments/{environment} (RoleBinding/read-secrets)"
            and "CKV2_K8S_5" in message
            for where, message in checkov_findings(validation)
        ), environment


def test_a_custom_check_failure_names_the_overlay_file(validation: Validation) -> None:
    assert any(
        where == "gitops/models/model-017/overlays/prod/traffic.yaml"
        and message.startswith("CKV_MODELOPS_14")
        for where, message in checkov_findings(validation)
    )
