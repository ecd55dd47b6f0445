"""An artifact that carries code is refused by the gate before anything in it runs.

The attacker has registry write access: they take a real version's files, add a `code/` module
that MLflow's `python_function` loader imports, register the folder as a new version and tag it
with a manifest of exactly those files, so the sha256 check alone would pass it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import mlflow
import pytest
from ruamel.yaml import YAML

from modelops.config import load_model_policy
from modelops.gates.integrity import artifact_shape_problems
from modelops.registry import VersionRef, fetch_version, tags
from tests.cli_runner import invoke
from tests.registry.forged import download_artifact, register_folder

pytestmark = pytest.mark.slow

LOADER = "modelops_attack_loader"


def _loader_source(marker: Path) -> str:
    # A working loader: it writes the marker, then serves the real model, so the version stays usable.
    return (
        "from pathlib import Path\n"
        "import mlflow.sklearn\n\n\n"
        "def _load_pyfunc(path, *args):\n"
        f"    Path({str(marker)!r}).write_text('loaded')\n"
        "    return mlflow.sklearn._load_pyfunc(path)\n"
    )


def _attacker_version(source_version: str, marker: Path, scratch: Path) -> str:
    folder = download_artifact(source_version, scratch / "model")
    (folder / "code").mkdir()
    (folder / "code" / f"{LOADER}.py").write_text(_loader_source(marker))
    yaml = YAML(typ="safe")
    spec = yaml.load((folder / "MLmodel").read_text())
    spec["flavors"]["python_function"].update(loader_module=LOADER, code="code")
    with (folder / "MLmodel").open("w") as handle:
        yaml.dump(spec, handle)
    return register_folder(folder, data_of=source_version, scratch=scratch)


def test_an_artifact_carrying_code_is_refused_and_its_code_never_runs(demo_versions, tmp_path):
    marker = tmp_path / "marker"
    version = _attacker_version(demo_versions.champion, marker, tmp_path / "scratch")
    registered = Path(
        urlparse(mlflow.MlflowClient().get_model_version_download_uri("credit-risk", version)).path
    )

    # Control: what the serving runtime does with this version runs the attacker's module. A runtime
    # must allow deserialization to serve skops at all; the module runs before that flag is read.
    load = "import sys, mlflow.pyfunc; mlflow.pyfunc.load_model(sys.argv[1])"
    serving = {**os.environ, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"}
    subprocess.run([sys.executable, "-c", load, str(registered)], check=True, timeout=120, env=serving)
    assert marker.read_text() == "loaded"
    marker.unlink()

    out = tmp_path / "out"
    result = invoke(
        "gate", "--model", "credit-risk", "--version", version, "--env", "dev", "--out", out, "--no-html"
    )
    assert result.exit_code == 1, result.output
    reasons = json.loads((out / "verdict.json").read_text())["gates"]["integrity"]["reasons"]
    assert any(f"code/{LOADER}.py" in reason for reason in reasons), reasons
    assert any("loader_module" in reason and LOADER in reason for reason in reasons), reasons
    assert any("flavors.python_function.code" in reason for reason in reasons), reasons
    assert not marker.exists()
    # Only integrity judged it: the gates it stopped are not recorded as the weights' failures, so the
    # same weights in a clean artifact are judged afresh (gates.precedent).
    failed = mlflow.MlflowClient().get_model_version("credit-risk", version).tags[tags.gate_failed("dev")]
    assert failed == "integrity"


def test_what_the_platform_registers_is_the_supported_shape(demo_versions, repo_root, tmp_path):
    # Facts, not memory: if an MLflow upgrade writes another field or file, this names it.
    trusted = load_model_policy("credit-risk", root=repo_root).trusted_types
    fetched = fetch_version(VersionRef("credit-risk", demo_versions.champion), tmp_path)
    assert artifact_shape_problems(fetched.mlmodel, fetched.actual_manifest, trusted_types=trusted) == []
    assert fetched.model_file == fetched.local_dir / "model.skops"
    assert fetched.untrusted_types == ["sklearn.tree._tree.Tree"]


def test_an_unsupported_shape_is_never_opened(demo_versions, tmp_path):
    version = _attacker_version(demo_versions.champion, tmp_path / "marker", tmp_path / "scratch")
    fetched = fetch_version(VersionRef("credit-risk", version), tmp_path / "fetched")
    assert fetched.verified and fetched.mlmodel is not None  # the manifest matched: only the shape refuses it
    assert fetched.model_file is None and fetched.untrusted_types is None
    assert not (tmp_path / "marker").exists()
