"""The pull-request gate judges what the clusters will apply: the rendered InferenceServices, whatever
file changed them, with the base's policies. Each test is a pull request someone could open to get a
release past the gate, on a real git repository, real kustomize renders and a real registry.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import mlflow
import pytest

from tests.cli_runner import invoke

pytestmark = pytest.mark.slow

DEV = Path("gitops/models/credit-risk/overlays/dev")


def commit_on_branch(repo, branch: str, files: dict[str, str], message: str) -> None:
    repo.git("checkout", "--quiet", "-b", branch)
    for path, text in files.items():
        (repo.root / path).parent.mkdir(parents=True, exist_ok=True)
        (repo.root / path).write_text(text)
    repo.git("add", "-A")
    repo.git("commit", "--quiet", "-m", message)
    repo.git("checkout", "--quiet", "main")


def gate(repo, branch: str, out: Path) -> tuple[int, dict]:
    """As the pull request's check runs it (recording nothing), in a checkout of the head (the gate
    itself reads only the commits)."""
    repo.git("checkout", "--quiet", branch)
    try:
        result = invoke(
            "gate", "--base", "main", "--head", branch, "--out", out, "--json", "--no-html", "--no-record"
        )
    finally:
        repo.git("checkout", "--quiet", "main")
    return result.exit_code, json.loads(result.stdout)


def pinned_uri(repo, environment: str = "dev") -> str:
    text = (repo.root / f"gitops/models/credit-risk/overlays/{environment}/release.yaml").read_text()
    return next(line for line in text.splitlines() if "storageUri:" in line).split("storageUri:")[1].strip()


def forged_uri(repo, fill: str) -> str:
    """dev's pinned registry location with another model id: an artifact nobody gated."""
    return pinned_uri(repo).rsplit("/models/", 1)[0] + "/models/m-" + fill * 32 + "/artifacts"


def storage_patch(uri: str) -> str:
    """A strategic-merge patch that serves `uri` from credit-risk's InferenceService."""
    return (
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata:\n  name: credit-risk\n"
        f"spec:\n  predictor:\n    model:\n      storageUri: {uri}\n"
    )


def test_a_patch_the_release_file_does_not_show_is_gated(gitops_repo, tmp_path):
    """Bypass 1: one more patch in the overlay serves another artifact under v1's version and digest."""
    repo = gitops_repo
    forged = forged_uri(repo, "f")
    kustomization = (repo.root / DEV / "kustomization.yaml").read_text()
    patch = storage_patch(forged)
    commit_on_branch(
        repo,
        "extra-patch",
        {
            str(DEV / "scale.yaml"): patch,
            str(DEV / "kustomization.yaml"): kustomization + "  - path: scale.yaml\n",
        },
        "Scale dev",
    )

    exit_code, verdict = gate(repo, "extra-patch", tmp_path)

    assert exit_code == 1
    # The release file contradicts what the cluster would serve: named at the file.
    assert {
        "file": str(DEV / "release.yaml"),
        "message": f"says storageUri {pinned_uri(repo)}, but the rendered InferenceService credit-risk "
        f"serves {forged}: another file changes the release",
        "object": "InferenceService/credit-risk",
        "rule": "MODELOPS_RELEASE_FILES",
    } in verdict["validation"]["findings"]
    # And the rendered release is gated as the release change it is: its pin is not the registry's.
    [release] = verdict["releases"]
    assert (release["environment"], release["change"], release["passed"]) == (
        "dev",
        "spec.predictor.model.storageUri",
        False,
    )
    assert any(
        r.startswith(f"pin: pinned storageUri {forged} is not the registry's") for r in release["reasons"]
    )


def test_a_change_to_a_models_base_gates_every_environment_it_changes(gitops_repo, tmp_path):
    repo = gitops_repo
    base = repo.root / "gitops/models/credit-risk/base/inferenceservice.yaml"
    text = base.read_text().replace("runtime: modelops-mlserver", "runtime: kserve-mlserver")
    commit_on_branch(repo, "runtime", {str(base.relative_to(repo.root)): text}, "Name the runtime")

    exit_code, verdict = gate(repo, "runtime", tmp_path)

    gated = {(r["environment"], r["change"]) for r in verdict["releases"]}
    assert gated == {(env, "spec.predictor.model.runtime") for env in ("local", "dev", "staging", "prod")}
    for release in verdict["releases"]:
        assert (
            release["no_champion"]
            == f"v{release['challenger']} already serves {release['environment']}: its serving spec changed"
        )
    # Every environment is judged with its own policy: prod's refuses the demo's model (README).
    assert exit_code == 1
    assert any(
        f["message"].startswith("model runtime must be modelops-mlserver")
        for f in verdict["validation"]["findings"]
    )
    assert not next(r for r in verdict["releases"] if r["environment"] == "prod")["passed"]


def test_a_patch_in_an_environments_list_is_gated(gitops_repo, tmp_path):
    repo = gitops_repo
    environment = repo.root / "gitops/environments/staging/kustomization.yaml"
    text = environment.read_text() + (
        "patches:\n  - target: {kind: InferenceService, name: credit-risk}\n    patch: |-\n"
        "      - op: add\n        path: /spec/predictor/model/env\n"
        "        value: [{name: MLSERVER_MODEL_URI, value: /mnt/elsewhere}]\n"
    )
    commit_on_branch(repo, "env-patch", {str(environment.relative_to(repo.root)): text}, "Tune staging")

    exit_code, verdict = gate(repo, "env-patch", tmp_path)

    assert exit_code == 1
    assert [(r["environment"], r["change"]) for r in verdict["releases"]] == [
        ("staging", "spec.predictor.model.env")
    ]
    assert any(
        f["message"].startswith("model env must be exactly MLSERVER_MODEL_NAME=credit-risk")
        for f in verdict["validation"]["findings"]
    )


def test_a_workload_in_a_models_namespace_fails_closed(gitops_repo, tmp_path):
    repo = gitops_repo
    kustomization = (repo.root / DEV / "kustomization.yaml").read_text()
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: helper\n  labels:\n"
        "    app.kubernetes.io/name: credit-risk\n    app.kubernetes.io/part-of: modelops\n"
        "spec:\n  selector: {matchLabels: {app: helper}}\n"
        "  template:\n    metadata: {labels: {app: helper}}\n"
        "    spec: {containers: [{name: helper, image: busybox}]}\n"
    )
    commit_on_branch(
        repo,
        "helper",
        {
            str(DEV / "helper.yaml"): deployment,
            str(DEV / "kustomization.yaml"): kustomization.replace(
                "  - ../../base\n", "  - ../../base\n  - helper.yaml\n"
            ),
        },
        "Add a helper",
    )

    exit_code, verdict = gate(repo, "helper", tmp_path)

    assert exit_code == 1
    assert any(
        f["object"] == "Deployment/helper"
        and f["rule"] == "MODELOPS_KINDS"
        and "no rule judges a Deployment (apps) in a models namespace" in f["message"]
        for f in verdict["validation"]["findings"]
    )


def test_scaling_changes_no_release(gitops_repo, tmp_path):
    repo = gitops_repo
    release = repo.root / DEV / "release.yaml"
    text = release.read_text().replace("maxReplicas: 2", "maxReplicas: 4")
    commit_on_branch(repo, "scale", {str(DEV / "release.yaml"): text}, "Scale dev")

    exit_code, verdict = gate(repo, "scale", tmp_path)

    assert exit_code == 0, verdict
    assert verdict["releases"] == []
    assert verdict["other_changes"] == [{"path": str(DEV / "release.yaml"), "reaches": "credit-risk in dev"}]


def test_a_pull_request_cannot_relax_the_policy_it_is_judged_by(gitops_repo, demo_versions, tmp_path):
    repo = gitops_repo
    dev = (repo.root / "environments/dev.yaml").read_text()
    relaxed = (
        dev.replace("min_disparate_impact_ratio: 0.80", "min_disparate_impact_ratio: 0.10")
        .replace("max_demographic_parity_difference: 0.15", "max_demographic_parity_difference: 0.90")
        .replace("max_equalized_odds_difference: 0.25", "max_equalized_odds_difference: 0.90")
    )
    assert relaxed != dev
    commit_on_branch(repo, "relax", {"environments/dev.yaml": relaxed}, "Relax dev's fairness limits")
    repo.git("checkout", "--quiet", "relax")
    promoted = invoke("promote", "credit-risk", "--version", demo_versions.biased, "--to", "dev")
    assert promoted.exit_code == 0, promoted.output
    branch = next(line.split()[1] for line in promoted.stdout.splitlines() if line.startswith("branch "))
    repo.git("checkout", "--quiet", "main")

    exit_code, verdict = gate(repo, branch, tmp_path)

    assert exit_code == 1
    [release] = verdict["releases"]
    assert release["challenger"] == demo_versions.biased
    assert any(reason.startswith("fairness:") for reason in release["reasons"]), release["reasons"]


def test_a_pull_request_touching_nothing_the_gate_reads_has_nothing_to_gate(gitops_repo, tmp_path):
    repo = gitops_repo
    commit_on_branch(repo, "docs", {"docs/notes.md": "Notes.\n", "scripts/tool.py": "print(1)\n"}, "Notes")

    result = invoke("gate", "--base", "main", "--head", "docs", "--out", tmp_path, "--json")

    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert (verdict["passed"], verdict["validation"], verdict["releases"]) == (True, None, [])
    assert "Nothing to gate" in (tmp_path / "report.md").read_text()


def test_a_component_outside_gitops_is_refused_and_later_edits_to_it_are_still_judged(gitops_repo, tmp_path):
    """A kustomization reading beyond gitops/ would let a later change there, reviewed by no one and
    seen by no gate, change what prod serves."""
    repo = gitops_repo
    component = (
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n"
        "  - target: {kind: InferenceService, name: credit-risk}\n    patch: |-\n"
        "      - op: replace\n        path: /metadata/labels/app.kubernetes.io~1part-of\n"
        "        value: modelops\n"
    )
    prod = "gitops/environments/prod/kustomization.yaml"
    text = (repo.root / prod).read_text() + "components:\n  - ../../../deploy/tuning\n"
    commit_on_branch(repo, "tuning", {"deploy/tuning/kustomization.yaml": component, prod: text}, "Tune prod")

    exit_code, verdict = gate(repo, "tuning", tmp_path / "first")

    assert exit_code == 1
    assert verdict["validation"]["findings"] == [
        {
            "file": prod,
            "message": "components: reads ../../../deploy/tuning, outside gitops/",
            "object": "",
            "rule": "MODELOPS_KUSTOMIZE_PATHS",
        }
    ]

    # Had it reached main anyway, a pull request touching only that folder is still not "nothing to
    # gate": the gate validates, and names the reference.
    repo.git("merge", "--quiet", "tuning")
    commit_on_branch(repo, "retune", {"deploy/tuning/notes.md": "Retuned.\n"}, "Retune")
    exit_code, verdict = gate(repo, "retune", tmp_path / "second")
    assert exit_code == 1
    assert verdict["validation"]["findings"] == [
        {
            "file": prod,
            "message": "components: reads ../../../deploy/tuning, outside gitops/",
            "object": "",
            "rule": "MODELOPS_KUSTOMIZE_PATHS",
        }
    ]


def test_an_environment_may_sync_only_the_branch_the_gate_guards(gitops_repo, tmp_path):
    repo = gitops_repo
    prod = (repo.root / "environments/prod.yaml").read_text()
    elsewhere = prod.replace("target_revision: main", "target_revision: unreviewed")
    assert elsewhere != prod
    commit_on_branch(repo, "elsewhere", {"environments/prod.yaml": elsewhere}, "Sync prod from a branch")

    exit_code, verdict = gate(repo, "elsewhere", tmp_path)

    assert exit_code == 1
    assert {
        "file": "environments/prod.yaml",
        "message": "gitops.target_revision is 'unreviewed': a cluster syncs main, the branch the promotion "
        "gate guards",
        "object": "ApplicationSet/models",
        "rule": "MODELOPS_ARGOCD_ENVIRONMENTS",
    } in verdict["validation"]["findings"]


def test_an_environment_cannot_move_to_a_branch_its_own_pull_request_adds_a_generator_for(
    gitops_repo, tmp_path
):
    # Adding a second generator on the new branch made "the branch the ApplicationSet reads" true of it.
    repo = gitops_repo
    prod = (repo.root / "environments/prod.yaml").read_text()
    appset_path = "gitops/bootstrap/applicationset-models.yaml"
    appset = (repo.root / appset_path).read_text()
    second = appset.replace("  generators:\n", "  generators:\n" + _generator_on("release-train"), 1)
    assert second != appset
    changes = {
        "environments/prod.yaml": prod.replace("target_revision: main", "target_revision: release-train"),
        appset_path: second,
    }
    commit_on_branch(repo, "train", changes, "Sync prod from the release train")

    exit_code, verdict = gate(repo, "train", tmp_path)

    assert exit_code == 1
    messages = {(f["file"], f["message"]) for f in verdict["validation"]["findings"]}
    assert (
        "environments/prod.yaml",
        "gitops.target_revision is 'release-train': a cluster syncs main, the branch the promotion "
        "gate guards",
    ) in messages
    assert (
        "gitops/bootstrap",
        "generators[0].git.revision is 'release-train', not main, the branch the promotion gate guards",
    ) in messages


def _generator_on(revision: str) -> str:
    return (
        "    - git:\n"
        "        repoURL: https://github.com/example-org/modelops-platform.git\n"
        f"        revision: {revision}\n"
        "        files:\n"
        "          - path: environments/prod.yaml\n"
    )


def _pinned_to(text: str, release_text: str) -> str:
    """`text` (a release.yaml) pinning what `release_text` pins: version, digest and storageUri."""
    keys = ("modelops.io/model-version", "modelops.io/artifact-digest", "storageUri")
    pins = {
        line.split(":")[0].strip(): line
        for line in release_text.splitlines()
        if line.strip().startswith(keys)
    }
    return (
        "\n".join(
            pins.get(line.split(":")[0].strip(), line) if line.strip().startswith(keys) else line
            for line in text.splitlines()
        )
        + "\n"
    )


def test_a_release_that_only_passed_through_a_merged_branch_is_no_rollback(
    gitops_repo, demo_versions, tmp_path
):
    """A branch that sets prod to v2 and back (with a scale change) merges as a scale change; v2 never
    served prod, so a later pull request to v2 is a promotion, held to the ladder and the champion."""
    repo = gitops_repo
    path = "gitops/models/credit-risk/overlays/prod/release.yaml"
    original = (repo.root / path).read_text()
    promoted = invoke("promote", "credit-risk", "--version", demo_versions.better, "--to", "dev")
    assert promoted.exit_code == 0, promoted.output
    branch = next(line.split()[1] for line in promoted.stdout.splitlines() if line.startswith("branch "))
    v2 = _pinned_to(
        original, repo.git("show", f"{branch}:gitops/models/credit-risk/overlays/dev/release.yaml")
    )
    assert f'"{demo_versions.better}"' in v2
    repo.git("checkout", "--quiet", "-b", "sneak")
    (repo.root / path).write_text(v2)
    repo.git("commit", "--quiet", "-am", "Try v2 in prod")
    (repo.root / path).write_text(original.replace("minReplicas: 3", "minReplicas: 4"))
    repo.git("commit", "--quiet", "-am", "Back to v1, four replicas")
    repo.git("checkout", "--quiet", "main")
    repo.git("merge", "--no-ff", "--quiet", "-m", "Merge sneak", "sneak")
    commit_on_branch(repo, "v2-prod", {path: v2.replace("minReplicas: 3", "minReplicas: 4")}, "v2 to prod")

    exit_code, verdict = gate(repo, "v2-prod", tmp_path)

    assert exit_code == 1
    [release] = verdict["releases"]
    assert (release["challenger"], release["champion"]) == (demo_versions.better, demo_versions.champion)
    assert any(
        r.startswith(f"ladder: credit-risk v{demo_versions.better} cannot go to prod")
        for r in release["reasons"]
    ), release["reasons"]


def test_one_pull_request_cannot_climb_two_rungs(gitops_repo, german_credit, tmp_path):
    """A fresh version pinned in dev and staging by one pull request, with the `gate.dev=passed` tag
    set by hand (anyone who registers versions can): staging's ladder reads what the base serves in
    dev, where the version does not run, so staging is refused whatever the tag says."""
    from modelops.registry import tags
    from tests.conftest import register_demo_model

    repo = gitops_repo
    version = register_demo_model("champion", german_credit)
    mlflow.MlflowClient().set_model_version_tag("credit-risk", version, tags.gate("dev"), "passed")
    promoted = invoke("promote", "credit-risk", "--version", version, "--to", "dev")
    assert promoted.exit_code == 0, promoted.output
    branch = next(line.split()[1] for line in promoted.stdout.splitlines() if line.startswith("branch "))
    dev_release = repo.git("show", f"{branch}:{DEV}/release.yaml")
    staging_path = "gitops/models/credit-risk/overlays/staging/release.yaml"
    staging = _pinned_to((repo.root / staging_path).read_text(), dev_release)
    repo.git("checkout", "--quiet", branch)
    (repo.root / staging_path).write_text(
        re.sub(r"/payloads/credit-risk/stable/[0-9]+", f"/payloads/credit-risk/stable/{version}", staging)
    )
    repo.git("commit", "--quiet", "-am", "And staging")
    repo.git("checkout", "--quiet", "main")

    exit_code, verdict = gate(repo, branch, tmp_path)

    assert exit_code == 1
    by_environment = {r["environment"]: r for r in verdict["releases"]}
    assert by_environment["dev"]["passed"], by_environment["dev"]["reasons"]
    assert not by_environment["staging"]["passed"]
    assert any(
        r.startswith(f"ladder: credit-risk v{version} cannot go to staging: staging requires dev first")
        and r.endswith("(as the base has it: a release climbs from where it runs, merged)")
        for r in by_environment["staging"]["reasons"]
    ), by_environment["staging"]["reasons"]


def test_recording_a_dev_merge_and_the_staging_merge_after_it_in_one_range_climbs(
    gitops_repo, german_credit, tmp_path
):
    """The record workflow judges every merge since the last record at once. A dev promotion and the
    staging promotion merged after it (each gated on its own base) may share that range: the ladder
    reads the head's dev there, so recording does not refuse what each pull request passed."""
    from modelops.registry import tags
    from tests.conftest import register_demo_model

    repo = gitops_repo
    before = repo.git("rev-parse", "HEAD").strip()
    version = register_demo_model("champion", german_credit)
    repo.merge(_branch_of(invoke("promote", "credit-risk", "--version", version, "--to", "dev")))
    mlflow.MlflowClient().set_model_version_tag("credit-risk", version, tags.gate("dev"), "passed")
    repo.merge(_branch_of(invoke("promote", "credit-risk", "--version", version, "--to", "staging")))

    result = invoke("gate", "--base", before, "--head", "main", "--out", tmp_path, "--json", "--no-html")

    verdict = json.loads(result.stdout)
    staging = next(r for r in verdict["releases"] if r["environment"] == "staging")
    assert not [r for r in staging["reasons"] if r.startswith("ladder")], staging["reasons"]


def _branch_of(promoted) -> str:
    assert promoted.exit_code == 0, promoted.output
    return next(line.split()[1] for line in promoted.stdout.splitlines() if line.startswith("branch "))


@pytest.mark.parametrize("where", [".gitattributes", f"{DEV}/.gitattributes"])
def test_a_gitattributes_file_that_rewrites_what_the_gate_reads_is_refused(gitops_repo, tmp_path, where):
    """`export-subst` makes `git archive` (what the gate reads) expand `$Format:...$` into a patch that
    keeps v1's artifact, while a checkout (what Argo CD applies) keeps the comment and serves the
    forged one: the gate must judge no tree with attributes, wherever the file sits."""
    repo = gitops_repo
    forged = forged_uri(repo, "e")
    kustomization = (repo.root / DEV / "kustomization.yaml").read_text()
    patch = storage_patch(forged) + "# $Format:%x0a$\n"
    commit_on_branch(
        repo,
        "attributes",
        {
            str(DEV / "scale.yaml"): patch,
            str(DEV / "kustomization.yaml"): kustomization + "  - path: scale.yaml\n",
            where: "scale.yaml export-subst\n"
            if where != ".gitattributes"
            else f"{DEV}/scale.yaml export-subst\n",
        },
        "a patch git archive would rewrite",
    )
    code, verdict = gate(repo, "attributes", tmp_path / "out")
    assert code == 2 and not verdict.get("passed"), verdict
    assert ".gitattributes" in json.dumps(verdict)


def test_an_argo_cd_override_beside_an_environments_kustomization_is_blocked(gitops_repo, tmp_path):
    # Argo CD would merge this patch into prod's source; kubectl kustomize never reads it.
    override = (
        "kustomize:\n"
        "  patches:\n"
        "    - target: {kind: InferenceService, name: credit-risk}\n"
        "      patch: |-\n"
        "        - op: replace\n"
        "          path: /spec/predictor/model/storageUri\n"
        "          value: s3://elsewhere/unjudged\n"
    )
    path = "gitops/environments/prod/.argocd-source.yaml"
    commit_on_branch(gitops_repo, "override", {path: override}, "Tune prod")

    exit_code, verdict = gate(gitops_repo, "override", tmp_path)

    assert exit_code == 1
    assert [(f["file"], f["rule"]) for f in verdict["validation"]["findings"]] == [
        (path, "MODELOPS_ARGOCD_SOURCES")
    ]
