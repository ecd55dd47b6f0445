"""What a release is compared with: its version's drift reference and the version's own predictions on it.

The reference is the gate's (`data.reference` in the model's policy: the training data stored with
the version's run, or a file), and the model is loaded as the gate loads it, only once its downloaded
files match the manifest it was registered with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from modelops.config import ModelPolicy
from modelops.errors import InputError
from modelops.pipeline.reference import reference_frame
from modelops.pipeline.scoring import positive_scores
from modelops.registry.versions import VersionRef, fetch_version, load_run_dataset, load_verified_model


@dataclass(frozen=True)
class Reference:
    version: str
    features: pd.DataFrame  # the version's input columns, as its signature names them
    scores: np.ndarray  # its positive-class probability on each reference row
    predicted_positive: np.ndarray  # whether its predicted label is the positive class


def _frame(source: str, run_id: str, *, root: Path, scratch: Path, what: str) -> pd.DataFrame:
    def training() -> pd.DataFrame:
        if not run_id:
            raise InputError(f"{what}: registered without a run, so it has no training data to compare with")
        return load_run_dataset(run_id, "training", destination=scratch, what=what)

    frame = reference_frame(source, training=training, root=root)
    assert frame is not None  # `training` answers a frame or raises
    return frame


def load_reference(
    model: str,
    version: str,
    *,
    policy: ModelPolicy,
    root: Path,
    scratch: Path,
    pinned_digest: str | None = None,
) -> Reference:
    """The version's reference frame and what its model predicts on it; `pinned_digest` is what the
    release pins (the files loaded must have it), else the version's digest tag."""
    fetched = fetch_version(VersionRef(model, version), scratch / "artifact", pinned_digest=pinned_digest)
    what = f"model {fetched.label}"
    frame = _frame(policy.data.reference, fetched.run_id, root=root, scratch=scratch / "reference", what=what)
    if frame.empty:
        raise InputError(f"{what}: its drift reference ({policy.data.reference}) has no rows")
    columns = [name for name, _ in fetched.signature or []] or [c for c in frame.columns if c != policy.label]
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise InputError(f"{what}: its drift reference lacks the input column(s) {', '.join(absent)}")
    if not fetched.verified:
        raise InputError(
            f"{what}: the downloaded artifact does not match its registered manifest and pinned digest; "
            "not loaded"
        )
    classifier = load_verified_model(fetched, policy.trusted_types)
    features = frame[columns]
    scores = positive_scores(classifier, features, positive_class=policy.positive_class, what=what)
    predicted = np.asarray(classifier.predict(features)).astype(str) == str(policy.positive_class)
    return Reference(fetched.version, features, scores, predicted)
