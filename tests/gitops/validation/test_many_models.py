"""`validate` on a many-model repository names the file a person edits, and the policy workflow's
checkov over the same renders reports the same platform rule, plus what its built-in checks see.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from modelops.bench.gitops_scale import build_repository
from modelops.gitops.repository import layout
from modelops.gitops.validation import checkov_tool
from modelops.gitops.validation.validate import Validation, validate
from tests.conftest import REPO_ROOT
from tests.tools import require_command

ENVIRONMENTS = ["dev", "staging", "prod"]
MODELS = 40

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
    root = tmp_path_factory.mktemp("many-models")
    build_repository(REPO_ROOT, root, MODELS, ENVIRONMENTS)
    _add_to_base(root, "model-003", "role.yaml", ROLE)
    _add_to_base(root, "model-031", "rolebinding.yaml", BINDING)
    traffic = root / layout.overlay_file("model-017", "prod", layout.TRAFFIC)
    traffic.write_text(traffic.read_text().replace("      backendRefs:\n", MIRROR + "      backendRefs:\n"))
    return root


RENDERS = "renders"


@pytest.fixture(scope="module")
def validation(repository: Path) -> Validation:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODELOPS_CRD_SCHEMAS", str(REPO_ROOT.parent / "shared" / "schemas" / "crds"))
        (repository / RENDERS).mkdir()
        return validate(repository, render_to=repository / RENDERS)


def test_a_rule_failure_names_the_overlay_file_the_object_and_the_rule(validation: Validation) -> None:
    [finding] = [f for f in validation.findings if f.rule == "CKV_MODELOPS_14"]
    assert (finding.file, finding.object) == (
        "gitops/models/model-017/overlays/prod/traffic.yaml",
        "HTTPRoute/model-017",
    )


def test_a_kind_no_rule_judges_is_refused_in_every_environment(validation: Validation) -> None:
    for environment in ENVIRONMENTS:
        for kind in ("Role", "RoleBinding"):
            assert any(
                f.rule == "MODELOPS_KINDS"
                and f.file == f"gitops/environments/{environment} ({kind}/read-secrets)"
                for f in validation.findings
            ), (environment, kind)


def test_the_planted_problems_are_the_only_findings(validation: Validation) -> None:
    # The generated repository is otherwise clean (its bootstrap lists the environments it keeps), so
    # the benchmark times a validation that passes but for what the tests above plant.
    planted = (
        "gitops/models/model-017/overlays/prod/traffic.yaml",
        "Role/read-secrets",
        "RoleBinding/read-secrets",
    )
    assert validation.findings
    assert [
        f for f in validation.findings if not f.file.startswith(planted[0]) and f.object not in planted
    ] == []


def test_checkov_over_the_kept_renders_reports_the_same_rule_and_its_own(
    repository: Path, validation: Validation
) -> None:
    require_command("uvx")
    outcomes = checkov_tool.scan(repository / RENDERS, root=REPO_ROOT)
    failed = {(o.check_id, o.resource) for o in outcomes if not o.passed}
    platform = {(c, r) for c, r in failed if c.startswith("CKV_MODELOPS_")}
    assert platform == {("CKV_MODELOPS_14", "HTTPRoute.models-prod.model-017")}
    # A graph check relating a binding to another model's Role: checkov's, not the platform's.
    for environment in ENVIRONMENTS:
        assert ("CKV2_K8S_5", f"RoleBinding.models-{environment}.read-secrets") in failed, environment
    assert sorted(p.name for p in (repository / RENDERS).iterdir()) == sorted(
        [*(f"{e}.yaml" for e in ENVIRONMENTS), "gitops-bootstrap.yaml"]
    )
