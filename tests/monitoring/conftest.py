"""A served model on a real registry, its overlays in a copy of the repository, and payloads written
in the sink's layout: real parquet files in a temporary folder."""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelops.payloads import layout
from tests.conftest import REPO_ROOT
from tests.gitops.conftest import pin_everywhere

MODEL = "credit-risk"
# A fixed window, so that each test writes into hours it names: [10:00, 11:00) UTC.
END = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)
IN_WINDOW = END - timedelta(minutes=30)


@dataclass(frozen=True)
class Served:
    root: Path  # MODELOPS_ROOT: environments/, policies/, gitops/ with the overlays pinned
    payloads: Path
    version: str
    features: list[str]


def scorer(version: str):
    """The version's model, loaded as the gate loads it."""
    import tempfile

    from modelops.registry.versions import VersionRef, fetch_version, load_verified_model

    fetched = fetch_version(VersionRef(MODEL, version), Path(tempfile.mkdtemp()) / "model")
    model = load_verified_model(fetched, ["sklearn.tree._tree.Tree"])
    return model, [name for name, _ in fetched.signature or []]


def write_payloads(
    payloads: Path,
    frame: pd.DataFrame,
    *,
    scores: np.ndarray,
    version: str,
    release: str = "stable",
    model: str = MODEL,
    at: datetime = IN_WINDOW,
    request_ids: list[str] | None = None,
) -> Path:
    """One file of the sink's layout: the rows' inputs, metadata and positive-class probability."""
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    rows = len(frame)
    ids = request_ids or [str(uuid.uuid4()) for _ in range(rows)]
    table = table.append_column(layout.REQUEST_ID, pa.array(ids, pa.string()))
    table = table.append_column(layout.ROW, pa.array(np.zeros(rows, dtype=np.int32)))
    table = table.append_column(layout.RECEIVED_AT, pa.array([at] * rows, pa.timestamp("ms", tz="UTC")))
    table = table.append_column(layout.MODEL_VERSION, pa.array([version] * rows, pa.string()))
    service = model if release == "stable" else f"{model}-candidate"
    table = table.append_column(layout.INFERENCE_SERVICE, pa.array([service] * rows, pa.string()))
    table = table.append_column(layout.output_column("predict_proba", 0), pa.array(1 - scores))
    table = table.append_column(layout.output_column("predict_proba", 1), pa.array(scores))
    folder = payloads / layout.partition_folder(model=model, release=release, at=at)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"part-{uuid.uuid4()}.parquet"
    pq.write_table(table, path)
    return path


def write_labels(payloads: Path, request_ids: list[str], labels: np.ndarray, *, at: datetime = END) -> Path:
    folder = payloads / layout.labels_folder(model=MODEL, at=at)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"part-{uuid.uuid4()}.parquet"
    table = pa.table(
        {
            layout.REQUEST_ID: pa.array(request_ids, pa.string()),
            layout.ROW: pa.array(np.zeros(len(request_ids), dtype=np.int32)),
            layout.LABEL: pa.array(labels),
        }
    )
    pq.write_table(table, path)
    return path


@pytest.fixture()
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_versions) -> Served:
    root = tmp_path / "platform"
    for folder in ("environments", "policies", "gitops"):
        shutil.copytree(REPO_ROOT / folder, root / folder)
    pin_everywhere(root, MODEL, demo_versions.champion)
    monkeypatch.setenv("MODELOPS_ROOT", str(root))
    payloads = tmp_path / "payloads"
    payloads.mkdir()
    _, features = scorer(demo_versions.champion)
    return Served(root, payloads, demo_versions.champion, features)


def live_rows(data: pd.DataFrame, features: list[str], *, rows: int, seed: int) -> pd.DataFrame:
    """Rows drawn from `data` as live traffic would bring them (with replacement)."""
    return data[features].sample(n=rows, replace=True, random_state=seed).reset_index(drop=True)
