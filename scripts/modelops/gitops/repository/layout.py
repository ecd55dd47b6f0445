"""Where things live in gitops/: one base and one overlay per environment for each model."""

from __future__ import annotations

from pathlib import PurePosixPath

from modelops.serving import contract

# The one branch the promotion gate guards: what every cluster syncs and every Argo CD generator reads.
PROTECTED_BRANCH = "main"

GITOPS = PurePosixPath("gitops")
KUSTOMIZATION = "kustomization.yaml"
RELEASE = "release.yaml"
CANDIDATE = "candidate.yaml"
TRAFFIC = "traffic.yaml"
CANDIDATE_COMPONENT = "../../components/candidate"
CANDIDATE_SUFFIX = contract.CANDIDATE_SUFFIX  # a candidate's objects: the model's name plus this

VERSION_ANNOTATION = "modelops.io/model-version"
DIGEST_ANNOTATION = "modelops.io/artifact-digest"


def model_dir(model: str) -> PurePosixPath:
    return GITOPS / "models" / model


def overlay_dir(model: str, environment: str) -> PurePosixPath:
    return model_dir(model) / "overlays" / environment


def overlay_file(model: str, environment: str, name: str) -> str:
    return str(overlay_dir(model, environment) / name)


def environment_dir(environment: str) -> PurePosixPath:
    return GITOPS / "environments" / environment


def parse_overlay_path(path: str) -> tuple[str, str] | None:
    """(model, environment) for a file inside an overlay, else None."""
    parts = PurePosixPath(path).parts
    if len(parts) >= 6 and parts[:2] == ("gitops", "models") and parts[3] == "overlays":
        return parts[2], parts[4]
    return None


def stable_service(model: str) -> str:
    return f"{model}-predictor"  # KServe RawDeployment names the predictor Service so


def candidate_name(model: str) -> str:
    return f"{model}{CANDIDATE_SUFFIX}"
