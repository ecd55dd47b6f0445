"""Where the registry lives and how long we wait for it.

With `MLFLOW_TRACKING_URI` unset, the registry is embedded: SQLite and local
artifacts under the git-ignored `.modelops/` folder of the repository. With it set,
the same code talks to that server. Either way every HTTP call is bounded: MLflow's
own defaults retry for about four minutes against a server that is down.

A pull request's gate in CI refuses a registry that is a file of its checkout
(`refuse_registry_in_checkout`): the pull request could commit it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from modelops.config.loader import project_root
from modelops.errors import InputError

# (variable, value): set only where the user has not chosen otherwise.
_BOUNDED_DEFAULTS = (
    # Worst case against a server that accepts and never answers: 2 s + 1 s backoff + 2 s.
    ("MLFLOW_HTTP_REQUEST_TIMEOUT", "2"),  # seconds per attempt
    ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1"),
    ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1"),
    ("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0"),
    ("MLFLOW_DISABLE_TELEMETRY", "true"),  # otherwise it looks up a telemetry host
    ("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false"),
)


def state_dir(root: Path | None = None) -> Path:
    """`MODELOPS_STATE_DIR`, else `.modelops/` in the repository: the embedded registry's home."""
    if folder := os.environ.get("MODELOPS_STATE_DIR"):
        return Path(folder)
    return (root or project_root()) / ".modelops"


def configure(root: Path | None = None) -> str:
    """Apply the bounded defaults and point MLflow at the registry; returns the tracking URI."""
    for variable, value in _BOUNDED_DEFAULTS:
        os.environ.setdefault(variable, value)
    # Never unpickle: this is forced, not defaulted. The gate loads skops files itself
    # against the trusted types reviewed in the model's policy.
    os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "false"
    import mlflow

    _quiet_mlflow()
    uri = tracking_uri(root, create=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(os.environ.get("MLFLOW_REGISTRY_URI") or uri)
    return uri


def _quiet_mlflow() -> None:
    """MLflow's INFO lines and hints drown the gate's own output; keep them for debugging only."""
    import logging
    import warnings

    if os.environ.get("MODELOPS_LOG_LEVEL", "").upper() != "DEBUG":
        logging.getLogger("mlflow").setLevel(logging.ERROR)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        logging.getLogger("urllib3").setLevel(logging.ERROR)  # retry notices: the error line says it all
        warnings.filterwarnings("ignore", module=r"mlflow\..*")


def tracking_uri(root: Path | None = None, *, create: bool = False) -> str:
    """`MLFLOW_TRACKING_URI`, else the embedded registry's (its folder made when `create`)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or embedded_uri(root, create=create)


def embedded_uri(root: Path | None = None, *, create: bool = True) -> str:
    folder = state_dir(root)
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def running_in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """`CI` (GitHub Actions and most CI services set it) or `GITHUB_ACTIONS` says true."""
    environ = os.environ if environ is None else environ
    return any(environ.get(name, "").lower() in ("true", "1") for name in ("CI", "GITHUB_ACTIONS"))


def sqlite_file_inside(uri: str, folder: Path) -> bool:
    """`uri` is a SQLite file under `folder`, as written or once symlinks are followed (a relative
    path is read from the working folder, as SQLite opens it)."""
    if not is_embedded(uri):
        return False
    from sqlalchemy.engine import make_url  # MLflow's own store reads the URI with it

    database = make_url(uri).database
    if not database or database == ":memory:":
        return False
    path = Path(os.path.abspath(database))
    inside = Path(os.path.abspath(folder))
    return any(
        candidate.is_relative_to(base)
        for candidate in (path, path.resolve())
        for base in (inside, inside.resolve())
    )


def refuse_registry_in_checkout(root: Path) -> None:
    """In CI, a pull request's gate reads the served registry: never a SQLite file under `root`, the
    pull request's checkout, whose author could commit it (`.modelops/mlflow.db`, the embedded default)."""
    if not running_in_ci():
        return
    chosen = tracking_uri(root)
    for variable, uri in (
        ("MLFLOW_TRACKING_URI", chosen),
        ("MLFLOW_REGISTRY_URI", os.environ.get("MLFLOW_REGISTRY_URI")),
    ):
        if not uri or not sqlite_file_inside(uri, root):
            continue
        if not os.environ.get(variable):
            raise InputError(
                f"{variable} is not set: in CI the gate reads the served registry, not the embedded one at "
                f"{uri}, a file of the pull request's checkout"
            )
        raise InputError(
            f"{variable} names a SQLite file in the checkout ({uri}), which the pull request can commit: "
            "in CI the gate reads the served registry"
        )


def is_embedded(uri: str) -> bool:
    return uri.startswith("sqlite:")


def artifact_location(experiment: str, root: Path | None = None) -> str | None:
    """Local artifact root for the embedded store (a server decides its own)."""
    import mlflow

    if not is_embedded(mlflow.get_tracking_uri()):
        return None
    folder = state_dir(root) / "artifacts" / experiment
    return folder.resolve().as_uri()


def ensure_experiment(name: str, root: Path | None = None) -> str:
    import mlflow

    client = mlflow.MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(name, artifact_location=artifact_location(name, root))
