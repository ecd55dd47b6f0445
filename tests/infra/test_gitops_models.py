"""The model service accounts are read from gitops/models, and a malformed tree stops the stack."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelops.errors import InputError
from modelops_infra.gitops_models import model_accounts

STACKS = ("local", "dev", "staging", "prod")


def _model(
    root: Path, model: str, account: str, *, envs: tuple[str, ...] = ("dev",), extra: str = ""
) -> None:
    (root / model / "base").mkdir(parents=True)
    (root / model / "base" / "serviceaccount.yaml").write_text(
        f"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {account}\n{extra}"
    )
    for env in envs:
        (root / model / "overlays" / env).mkdir(parents=True)


@pytest.mark.parametrize("name", STACKS)
def test_every_served_model_is_found_with_its_own_account(repo_root, name):
    found = model_accounts(repo_root / "gitops" / "models", name)
    served = sorted(
        p.parent.parent.name for p in (repo_root / "gitops" / "models").glob(f"*/overlays/{name}")
    )
    assert [a.model for a in found] == served
    assert ("credit-risk", "credit-risk") in [(a.model, a.service_account) for a in found]


def test_a_model_without_an_overlay_for_the_environment_is_not_granted_there(tmp_path):
    _model(tmp_path, "credit-risk", "credit-risk", envs=("dev", "prod"))
    _model(tmp_path, "fraud", "fraud-predictor", envs=("dev",))
    assert [a.service_account for a in model_accounts(tmp_path, "dev")] == ["credit-risk", "fraud-predictor"]
    assert [a.service_account for a in model_accounts(tmp_path, "prod")] == ["credit-risk"]
    assert model_accounts(tmp_path / "missing", "dev") == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "missing"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n", "exactly one ServiceAccount"),
        (
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n---\n"
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: b\n",
            "exactly one ServiceAccount",
        ),
        ("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: Bad_Name\n", "metadata.name"),
        (
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  namespace: default\n",
            "metadata.namespace",
        ),
        ("kind: [", "not valid YAML"),
    ],
)
def test_a_malformed_service_account_names_the_file(tmp_path, content, message):
    _model(tmp_path, "broken", "broken")
    target = tmp_path / "broken" / "base" / "serviceaccount.yaml"
    if content is None:
        target.unlink()
    else:
        target.write_text(content)
    with pytest.raises(InputError, match=message) as caught:
        model_accounts(tmp_path, "dev")
    assert "broken/base/serviceaccount.yaml" in str(caught.value)


def test_two_models_sharing_one_account_are_refused(tmp_path):
    _model(tmp_path, "a-model", "shared")
    _model(tmp_path, "b-model", "shared")
    with pytest.raises(InputError, match="already used by model a-model"):
        model_accounts(tmp_path, "dev")
