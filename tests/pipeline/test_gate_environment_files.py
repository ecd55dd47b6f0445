"""A pull request cannot hide an environment from the gate by moving its file.

Argo CD decides which environments exist from the ApplicationSet's files generator, not from what the
gate happens to find under environments/. Each test is a pull request that deletes, moves or renames
environments/prod.yaml while forging prod's release, on a real git repository, real kustomize renders
and a real registry: the gate must still render prod, judge its release with the base's thresholds,
and name the environment file the ApplicationSet no longer finds.
"""

from __future__ import annotations

import pytest

from tests.pipeline.test_rendered_gate import gate, pinned_uri

pytestmark = pytest.mark.slow

PROD_RELEASE = "gitops/models/credit-risk/overlays/prod/release.yaml"
APPLICATION_SET = "gitops/bootstrap/applicationset-models.yaml"


def commit_change(repo, branch: str, *, write: dict[str, str], move: dict[str, str | None]) -> None:
    """A branch with one commit: files written, and files moved (to None: removed) with git."""
    repo.git("checkout", "--quiet", "-b", branch)
    for source, target in move.items():
        if target is None:
            repo.git("rm", "--quiet", source)
        else:
            (repo.root / target).parent.mkdir(parents=True, exist_ok=True)
            repo.git("mv", source, target)
    for path, text in write.items():
        (repo.root / path).write_text(text)
    repo.git("add", "-A")
    repo.git("commit", "--quiet", "-m", f"{branch}")
    repo.git("checkout", "--quiet", "main")


def forged_prod_release(repo) -> tuple[str, str]:
    """prod's release.yaml serving another artifact under v1's version and digest, and that artifact."""
    pinned = pinned_uri(repo, "prod")
    forged = pinned.rsplit("/models/", 1)[0] + "/models/m-" + "f" * 32 + "/artifacts"
    return (repo.root / PROD_RELEASE).read_text().replace(pinned, forged), forged


def prod_verdict(verdict: dict) -> dict:
    [release] = [r for r in verdict["releases"] if r["environment"] == "prod"]
    return release


def assert_prod_release_refused(verdict: dict, forged: str) -> None:
    release = prod_verdict(verdict)
    assert (release["model"], release["change"], release["passed"]) == (
        "credit-risk",
        "spec.predictor.model.storageUri",
        False,
    ), release
    assert any(
        reason.startswith(f"pin: pinned storageUri {forged} is not the registry's")
        for reason in release["reasons"]
    ), release["reasons"]


@pytest.mark.parametrize(
    "target",
    [
        None,  # deleted
        "environments/x/prod.yaml",  # Argo CD's default globbing reads environments/*.yaml at any depth
        "environments/prod.yml",  # a name no environments/*.yaml matches
    ],
    ids=["deleted", "moved-to-a-subfolder", "renamed"],
)
def test_an_environment_file_taken_away_does_not_take_its_releases_out_of_the_gate(
    gitops_repo, tmp_path, target
):
    repo = gitops_repo
    release, forged = forged_prod_release(repo)
    commit_change(repo, "hide-prod", write={PROD_RELEASE: release}, move={"environments/prod.yaml": target})

    exit_code, verdict = gate(repo, "hide-prod", tmp_path)

    assert exit_code == 1, verdict
    assert not verdict["passed"]
    # One finding names the file the ApplicationSet lists and the head no longer has.
    [missing] = [f for f in verdict["validation"]["findings"] if f["rule"] == "MODELOPS_ARGOCD_ENVIRONMENTS"]
    assert missing == {
        "file": "environments/prod.yaml",
        "message": "the ApplicationSet lists environments/prod.yaml, but there is no such environment file",
        "object": "ApplicationSet/models",
        "rule": "MODELOPS_ARGOCD_ENVIRONMENTS",
    }
    # And prod is still rendered and its release gated, with the base's prod.yaml.
    assert_prod_release_refused(verdict, forged)


def test_an_environment_file_dropped_from_the_application_set_too_still_has_its_releases_gated(
    gitops_repo, tmp_path
):
    """The ApplicationSet agrees with the head's files, so validation has nothing to say; prod's
    folder is still there, and what it renders is judged by the base's prod.yaml."""
    repo = gitops_repo
    release, forged = forged_prod_release(repo)
    application_set = (repo.root / APPLICATION_SET).read_text()
    dropped = application_set.replace("          - path: environments/prod.yaml\n", "")
    assert dropped != application_set
    commit_change(
        repo,
        "drop-prod",
        write={PROD_RELEASE: release, APPLICATION_SET: dropped},
        move={"environments/prod.yaml": None},
    )

    exit_code, verdict = gate(repo, "drop-prod", tmp_path)

    assert exit_code == 1, verdict
    assert verdict["validation"]["findings"] == []
    assert_prod_release_refused(verdict, forged)


def test_an_environment_removed_with_its_folder_has_nothing_left_to_gate(gitops_repo, tmp_path):
    """Taking an environment away entirely (file, folder, project, ApplicationSet entry) serves no
    release anywhere: its releases are reported removed, and nothing is refused."""
    repo = gitops_repo
    application_set = (repo.root / APPLICATION_SET).read_text()
    kustomization = (repo.root / "gitops/bootstrap/kustomization.yaml").read_text()
    repo.git("checkout", "--quiet", "-b", "retire-local")
    repo.git(
        "rm",
        "--quiet",
        "-r",
        "environments/local.yaml",
        "gitops/environments/local",
        "gitops/bootstrap/projects/models-local.yaml",
        "gitops/models/credit-risk/overlays/local",
    )
    (repo.root / APPLICATION_SET).write_text(
        application_set.replace("          - path: environments/local.yaml\n", "")
    )
    (repo.root / "gitops/bootstrap/kustomization.yaml").write_text(
        kustomization.replace("  - projects/models-local.yaml\n", "")
    )
    repo.git("commit", "--quiet", "-am", "Retire local")
    repo.git("checkout", "--quiet", "main")

    exit_code, verdict = gate(repo, "retire-local", tmp_path)

    assert exit_code == 0, verdict
    assert [(r["environment"], r["challenger"], r["passed"]) for r in verdict["releases"]] == [
        ("local", "removed", True)
    ]
