"""Where a version's drift reference comes from, for the gate and the monitor alike: the model
policy's `data.reference`, either the training data stored with the version's run or a file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from modelops.config.model_policy import RUN_DATASETS
from modelops.data import read_frame


def reference_frame(
    source: str, *, training: Callable[[], pd.DataFrame | None], root: Path
) -> pd.DataFrame | None:
    """The reference `source` names; `training` is asked only when it names the run's training data
    (None: the run logged none). A relative path is the repository's."""
    if source in RUN_DATASETS:
        return training()
    return read_frame(Path(source) if Path(source).is_absolute() else root / source)
