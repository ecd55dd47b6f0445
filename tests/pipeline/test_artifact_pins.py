"""The files the gate judges are the ones the releases pin, and what the model is given is no answer.

A model version's tags (its sha256 manifest, its digest) are written by whoever can register versions,
and so are its stored files; the digest in the overlay is what a reviewed pull request pins and what
the serving pod verifies. Each test is an author's attempt, through a real registry, real repositories
and the real gate, to have something judged other than what would be served.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np

from modelops.demo.dataset import LABEL
from modelops.demo.models import forest_pipeline
from modelops.registry import build_manifest, manifest_digest, register_model, tags
from tests.cli_runner import invoke
from tests.conftest import register_demo_model
from tests.gitops.conftest import pin_everywhere
from tests.pipeline.test_rendered_gate import gate

MODEL = "credit-risk"


def _promotion_branch(version: str) -> str:
    promoted = invoke("promote", MODEL, "--version", version, "--to", "dev")
    assert promoted.exit_code == 0, promoted.output
    return next(line.split()[1] for line in promoted.stdout.splitlines() if line.startswith("branch "))


def download_version(version: str, destination: Path) -> Path:
    uri = mlflow.MlflowClient().get_model_version_download_uri(MODEL, version)
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(destination)))


def overwrite_stored_files(version: str, source: Path) -> None:
    """Replace a version's stored files through MLflow's own API, as its author can."""
    uri = mlflow.MlflowClient().get_model_version_download_uri(MODEL, version)
    model_id = uri.rstrip("/").split("/models/")[1].split("/")[0]
    mlflow.MlflowClient().log_model_artifacts(model_id, str(source))


def _policy_kwargs() -> dict:
    from modelops.config import load_model_policy
    from tests.conftest import REPO_ROOT

    policy = load_model_policy(MODEL, root=REPO_ROOT)
    return {
        "name": MODEL,
        "label": policy.label,
        "sensitive_features": policy.sensitive_columns,
        "positive_class": policy.positive_class,
        "trusted_types": policy.trusted_types,
    }


def _register_weak_model(training) -> str:
    """A forest on one column: over dev's minimums, well below the demo champion (blocked against it)."""
    model = forest_pipeline([], ["checking_account"], seed=0, n_estimators=50, max_depth=2)
    fitted = model.fit(training.drop(columns=[LABEL]), training[LABEL])
    return register_model(fitted, training=training, **_policy_kwargs()).version


def test_a_digest_tag_naming_another_artifact_is_refused(gitops_repo, german_credit, demo_versions, tmp_path):
    """A good version whose digest tag was set to a blocked version's: promoted, its overlay would pin
    the blocked artifact's digest, and the pod would accept those files once stored under its URI."""
    good = register_demo_model("better", german_credit)
    blocked = download_version(demo_versions.biased, tmp_path / "blocked")
    blocked_digest = manifest_digest(build_manifest(blocked))
    mlflow.MlflowClient().set_model_version_tag(MODEL, good, tags.ARTIFACT_DIGEST, blocked_digest)
    branch = _promotion_branch(good)

    code, verdict = gate(gitops_repo, branch, tmp_path / "out")

    assert code == 1
    [release] = verdict["releases"]
    assert release["challenger"] == good and not release["passed"]
    assert (
        f"integrity: the registered manifest is not the one the pinned digest {blocked_digest} names"
        in release["reasons"]
    )
    assert "evaluation: not run: the artifact failed verification" in release["reasons"]


def test_a_champion_whose_stored_files_were_swapped_is_not_compared_with(
    gitops_repo, german_credit, tmp_path
):
    """The base serves a champion; its author swaps the stored files (and the manifest tag) for a junk
    model's, so that a weak challenger would beat it. The base pins the champion's digest: refused."""
    champion = register_demo_model("champion", german_credit)
    pin_everywhere(gitops_repo.root, MODEL, champion)
    gitops_repo.git("commit", "--quiet", "-am", f"Serve v{champion}")
    training = german_credit.training
    features, shuffled = training.drop(columns=[LABEL]), training[LABEL].sample(frac=1, random_state=1)
    junk_model = forest_pipeline(["age"], ["purpose"], seed=0, n_estimators=20, max_depth=2)
    junk = register_model(
        junk_model.fit(features, np.asarray(shuffled)), training=training, **_policy_kwargs()
    ).version
    branch = _promotion_branch(_register_weak_model(training))
    junk_files = download_version(junk, tmp_path / "junk")
    overwrite_stored_files(champion, junk_files)
    mlflow.MlflowClient().set_model_version_tag(
        MODEL, champion, tags.ARTIFACT_MANIFEST, json.dumps(build_manifest(junk_files), sort_keys=True)
    )

    code, verdict = gate(gitops_repo, branch, tmp_path / "out")

    assert code == 1
    [release] = verdict["releases"]
    assert release["champion"] == champion and not release["passed"]
    assert any(
        reason.startswith("integrity: champion: the registered manifest is not the one the pinned digest")
        for reason in release["reasons"]
    ), release["reasons"]
    assert "evaluation: not run: the artifact failed verification" in release["reasons"]


def test_a_model_that_takes_the_label_as_input_is_refused(german_credit, demo_versions, tmp_path):
    """Registered with a renamed copy of the label as its label, the model keeps the policy's label
    among its inputs: the gate would hand it the evaluation set's answers (ROC AUC 1.0)."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    training = german_credit.training.copy()
    training["target"] = training[LABEL]
    model = make_pipeline(make_column_transformer(("passthrough", [LABEL])), LogisticRegression())
    model.fit(training.drop(columns=["target"]), training["target"])
    version = register_model(model, training=training, **{**_policy_kwargs(), "label": "target"}).version
    out = tmp_path / "out"

    result = invoke(
        "gate", "--model", MODEL, "--version", version, "--env", "dev", "--champion", demo_versions.champion,
        "--out", out, "--no-html",
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    verdict = json.loads((out / "verdict.json").read_text())
    assert verdict["gates"]["integrity"]["reasons"] == [
        f"signature input {LABEL} is the policy's label: a model cannot take it as input"
    ]
    assert verdict["gates"]["evaluation"]["reasons"] == ["not run: the artifact failed verification"]


def test_a_served_version_repinned_to_other_files_is_refused(gitops_repo, german_credit, tmp_path):
    """The version dev serves gets a weak model's files and matching tags in the store, and the pull
    request re-pins the same version to their digest: judged as "only its pin changed", it would have
    met no champion. A version's files do not change: refused, whatever they score."""
    served = register_demo_model("champion", german_credit)
    pin_everywhere(gitops_repo.root, MODEL, served)
    gitops_repo.git("commit", "--quiet", "-am", f"Serve v{served}")
    training = german_credit.training
    weak = _register_weak_model(training)
    weak_files = download_version(weak, tmp_path / "weak")
    weak_manifest = build_manifest(weak_files)
    old_digest = mlflow.MlflowClient().get_model_version(MODEL, served).tags[tags.ARTIFACT_DIGEST]
    new_digest = manifest_digest(weak_manifest)
    overwrite_stored_files(served, weak_files)
    client = mlflow.MlflowClient()
    client.set_model_version_tag(
        MODEL, served, tags.ARTIFACT_MANIFEST, json.dumps(weak_manifest, sort_keys=True)
    )
    client.set_model_version_tag(MODEL, served, tags.ARTIFACT_DIGEST, new_digest)
    release = gitops_repo.root / "gitops/models/credit-risk/overlays/dev/release.yaml"
    gitops_repo.git("checkout", "--quiet", "-b", "repin")
    release.write_text(release.read_text().replace(old_digest, new_digest))
    gitops_repo.git("commit", "--quiet", "-am", f"Re-pin v{served}")
    gitops_repo.git("checkout", "--quiet", "main")

    code, verdict = gate(gitops_repo, "repin", tmp_path / "out")

    assert code == 1
    [judged] = verdict["releases"]
    assert judged["challenger"] == served and not judged["passed"]
    assert judged["reasons"] == [
        f"v{served} serves dev as {old_digest}; this pins it as {new_digest}: a registered version's files "
        "do not change, so register the new files as a new version"
    ]
