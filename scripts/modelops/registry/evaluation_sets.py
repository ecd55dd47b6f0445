"""The evaluation sets the platform pins: stored in the registry or read from the object store.

A set is pinned by the sha256 of its file's bytes (what `sha256sum` prints). In the registry it is
one run of the `modelops/evaluation-sets` experiment holding the file as an artifact, tagged with
the model's name and the digest, and found by both. Wherever it lives, the downloaded bytes are
hashed again before they are parsed: a set that is not the pinned one never reaches a gate.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from modelops.config import EvaluationSetPin, ModelPolicy, policy_path
from modelops.config.model_policy import REGISTRY_LOCATION
from modelops.data import binary_labels, read_frame, require_columns
from modelops.errors import InputError
from modelops.gates.leakage import duplicated_rows
from modelops.registry.errors import registry_errors
from modelops.registry.tracking import ensure_experiment

if TYPE_CHECKING:
    from mlflow.entities import Run

EXPERIMENT = "modelops/evaluation-sets"
MODEL_TAG = "modelops.evaluation_set.model"
SHA256_TAG = "modelops.evaluation_set.sha256"
ARTIFACT_DIR = "evaluation-set"


@dataclass(frozen=True)
class EvaluationSet:
    """A pinned set, downloaded and verified."""

    frame: pd.DataFrame
    location: str  # as the policy says it: `registry` or the file's URI or path
    sha256: str
    source: str  # where the bytes were read: `runs:/<run>/evaluation-set/<file>`, a URI or a path
    max_duplicated_rows: int = 0  # the policy's allowance, for the leakage gate


@dataclass(frozen=True)
class PinnedSet:
    model: str
    sha256: str
    run_id: str
    file_name: str
    rows: int
    duplicated_rows: int
    created: bool  # False when the registry held these bytes for this model already

    def policy_lines(self) -> str:
        """What to commit under the model's policy."""
        return f"evaluation_set:\n  location: {REGISTRY_LOCATION}\n  sha256: {self.sha256}\n"


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def check_set_contents(frame: pd.DataFrame, policy: ModelPolicy, where: str) -> None:
    """The set must hold the label, with the policy's two classes, and every sensitive column."""
    require_columns(frame, [policy.label, *policy.sensitive_columns], where)
    binary_labels(
        frame[policy.label], classes=policy.classes, positive_class=policy.positive_class, where=where
    )


def _stored_runs(model: str, sha256: str) -> list[Run]:
    """The finished runs tagged as holding these bytes for `model`, oldest first. Call inside
    `registry_errors`.

    Tags are anyone's to write who may log runs here: a run can claim the model and the digest and
    hold other bytes. Oldest first, because the set was pinned before its digest was committed to a
    policy; the bytes of each are checked by whoever reads them (`_from_registry`)."""
    import mlflow

    client = mlflow.MlflowClient()
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return []
    # Searched by digest (hex, safe to quote) and matched on the model here: a model name is
    # never spliced into a filter string.
    # Every page: claims under other models' names must not hide this model's run past the first.
    found: list[Run] = []
    token = None
    while True:
        page = client.search_runs(
            [experiment.experiment_id],
            filter_string=f"tags.`{SHA256_TAG}` = '{sha256}' and attributes.status = 'FINISHED'",
            max_results=1000,
            order_by=["attributes.start_time ASC"],
            page_token=token,
        )
        found += [run for run in page if run.data.tags.get(MODEL_TAG) == model]
        token = page.token
        if not token:
            return found


def pin_evaluation_set(policy: ModelPolicy, path: Path) -> PinnedSet:
    """Store `path`'s bytes in the registry as `policy.name`'s evaluation set; idempotent.

    The run gets its digest tag and FINISHED status only after the file is stored, so an
    interrupted pin leaves nothing a lookup would find.
    """
    import mlflow

    frame = read_frame(path)
    check_set_contents(frame, policy, f"{path}")
    sha256 = file_sha256(path)
    what = f"evaluation set of model {policy.name}"
    with registry_errors(what):
        client = mlflow.MlflowClient()
        existing = next((run for run in _stored_runs(policy.name, sha256) if _holds(run, sha256)), None)
        if existing is not None:
            run_id, created = existing.info.run_id, False
        else:
            experiment_id = ensure_experiment(EXPERIMENT)
            run = client.create_run(
                experiment_id, tags={MODEL_TAG: policy.name}, run_name=f"{policy.name}-{sha256[:12]}"
            )
            run_id, created = run.info.run_id, True
            client.log_param(run_id, "rows", len(frame))
            client.log_param(run_id, "file", path.name)
            client.log_artifact(run_id, str(path), artifact_path=ARTIFACT_DIR)
            client.set_tag(run_id, SHA256_TAG, sha256)
            client.set_terminated(run_id, "FINISHED")
    return PinnedSet(policy.name, sha256, run_id, path.name, len(frame), duplicated_rows(frame), created)


# Larger than any holdout a gate scores in its time; a claim of the pinned digest is not downloaded
# past it (a run may hold anything).
MAX_SET_BYTES = 2 * 1024**3


def _download(run: Run, destination: Path) -> tuple[Path, str] | str:
    """The run's one stored file and its `runs:/` source, or why it holds no one file worth reading."""
    import mlflow

    run_id = run.info.run_id
    stored = mlflow.MlflowClient().list_artifacts(run_id, ARTIFACT_DIR)
    if len(stored) != 1 or stored[0].is_dir:
        return f"run {run_id} holds {len(stored)} entries under {ARTIFACT_DIR}/, not one file"
    if (stored[0].file_size or 0) > MAX_SET_BYTES:
        return f"runs:/{run_id}/{stored[0].path} is larger than {MAX_SET_BYTES} bytes"
    local = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path=stored[0].path, dst_path=str(destination / run_id)
    )
    return Path(local), f"runs:/{run_id}/{stored[0].path}"


def _holds(run: Run, sha256: str) -> bool:
    with tempfile.TemporaryDirectory(prefix="modelops-evaluation-set-") as scratch:
        found = _download(run, Path(scratch))
        return not isinstance(found, str) and file_sha256(found[0]) == sha256


def _read_set(path: Path) -> pd.DataFrame | str:
    """The set's rows, or why it is no table with rows (one line, naming no scratch path)."""
    try:
        frame = read_frame(path)
    except InputError as error:
        return str(error).removeprefix(f"{path}: ")
    return "has no rows" if frame.empty else frame  # the digest matched an empty file: nothing to judge on


def _from_registry(
    pin: EvaluationSetPin, *, model: str, destination: Path, policy_file: Path
) -> EvaluationSet:
    """The first run, oldest first, whose stored file has the pinned bytes and reads as a table.

    A run that only claims them (its tags say so, its file differs, or it holds the same bytes under
    a name that does not parse) is passed over and named, not a reason to fail every gate."""
    import mlflow

    with registry_errors(f"evaluation set of model {model}"):
        runs = _stored_runs(model, pin.sha256)
        if not runs:
            raise InputError(
                f"{policy_file}: field 'evaluation_set': no evaluation set of {model} with sha256 "
                f"{pin.sha256} in the registry at {mlflow.get_tracking_uri()} (store it with "
                f"`modelops evaluation-set pin --model {model} --data FILE`)"
            )
        passed_over = []
        for run in runs:
            found = _download(run, destination)
            if isinstance(found, str):
                passed_over.append(found)
                continue
            path, source = found
            if (actual := file_sha256(path)) != pin.sha256:
                passed_over.append(f"{source} has sha256 {actual}")
            elif isinstance(read := _read_set(path), str):
                passed_over.append(f"{source}: {read}")
            else:
                return EvaluationSet(read, pin.location, pin.sha256, source, pin.max_duplicated_rows)
    more = f"; and {len(passed_over) - 3} more" if len(passed_over) > 3 else ""
    raise InputError(
        f"{policy_file}: field 'evaluation_set.sha256': no run of {EXPERIMENT} holds the pinned bytes "
        f"{pin.sha256} as a readable table: " + "; ".join(passed_over[:3]) + more
    )


def _from_store(location: str, *, root: Path, destination: Path, policy_file: Path) -> tuple[Path, str]:
    if "://" not in location:  # a path: from the repository root unless absolute
        path = Path(location) if Path(location).is_absolute() else root / location
        if not path.is_file():
            raise InputError(f"{policy_file}: field 'evaluation_set.location': {path}: file not found")
        return path, str(path)
    import mlflow

    try:
        local = mlflow.artifacts.download_artifacts(artifact_uri=location, dst_path=str(destination))
    except Exception as error:  # each store's client has its own errors (botocore, google-cloud, OSError)
        detail = str(error).strip().splitlines()[0][:160] if str(error).strip() else "no detail"
        raise InputError(
            f"{policy_file}: field 'evaluation_set.location': cannot download {location} "
            f"({type(error).__name__}: {detail})"
        ) from None
    return Path(local), location


def load_evaluation_set(
    pin: EvaluationSetPin, *, model: str, root: Path, destination: Path, policy_file: Path
) -> EvaluationSet:
    """Download the pinned set, check its bytes against the pin, then parse it."""
    destination.mkdir(parents=True, exist_ok=True)
    if pin.in_registry:
        return _from_registry(pin, model=model, destination=destination, policy_file=policy_file)
    path, source = _from_store(pin.location, root=root, destination=destination, policy_file=policy_file)
    actual = file_sha256(path)
    if actual != pin.sha256:
        raise InputError(
            f"{policy_file}: field 'evaluation_set.sha256': the evaluation set at {source} has sha256 "
            f"{actual}, the policy pins {pin.sha256}"
        )
    read = _read_set(path)
    if isinstance(read, str):
        raise InputError(f"{policy_file}: field 'evaluation_set': the evaluation set at {source}: {read}")
    return EvaluationSet(read, pin.location, pin.sha256, source, pin.max_duplicated_rows)


def load_pinned_set(policy: ModelPolicy, *, root: Path, destination: Path) -> EvaluationSet:
    """The set `policy` pins, verified; unusable input if it pins none."""
    policy_file = policy_path(policy.name, root)
    if policy.evaluation_set is None:
        raise InputError(
            f"{policy_file}: field 'evaluation_set': no evaluation set is pinned for {policy.name}; "
            f"`modelops evaluation-set pin --model {policy.name} --data FILE` stores one and prints the "
            "lines to commit"
        )
    return load_evaluation_set(
        policy.evaluation_set, model=policy.name, root=root, destination=destination, policy_file=policy_file
    )


def pin_bytes(policy: ModelPolicy, content: bytes, *, file_name: str) -> PinnedSet:
    """`pin_evaluation_set` for a file made in memory (the demo's holdout)."""
    with tempfile.TemporaryDirectory(prefix="modelops-pin-") as scratch:
        path = Path(scratch) / file_name
        path.write_bytes(content)
        return pin_evaluation_set(policy, path)
