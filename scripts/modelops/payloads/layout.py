"""Where logged payloads live and what their columns are: the contract between the payload sink that
writes them and the monitor job that reads them.

One row per predicted row. A request of n rows and its response become n rows sharing `_request_id`
(KServe's `ce-id`, the same for a request and its response). Files are Hive-partitioned,

    <root>/model=<model>/release=<release>/date=<YYYY-MM-DD>/hour=<HH>/part-<uuid>.parquet

so a window of an hour reads only that hour's folders, and any engine that reads Hive-partitioned
parquet (pyarrow datasets, DuckDB, Trino, Spark) reads the same files. `release` is the role the
serving pod's `modelops.io/release` label names (stable or candidate: a shadow rollout's candidate
is labelled `candidate` too), the same label the Prometheus series carry; the model version that
served each row is a column, and the InferenceService that logged it (the sink accepts only the one
the path's release names).

Column names: the model's inputs keep their V2 input names; every other column starts with `_`
(the sink refuses an input whose name does, so the two never collide):
- `_request_id` (string), `_row` (int32: the row's index in its request),
- `_received_at` (timestamp, ms, UTC: when the sink received the request event),
- `_model_version` (string), `_inference_service` (string: `ce-inferenceservicename`),
- `_output.<name>` for a V2 output of one value per row; `_output.<name>.<j>` for column j of an
  output with several values per row (a classifier's class probabilities: `.1` is the positive class).

Ground-truth labels that arrive later are a table beside the payloads, joined on (`_request_id`, `_row`):

    <root>/labels/model=<model>/date=<YYYY-MM-DD>/part-<uuid>.parquet   columns: _request_id, _row, label
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from modelops.serving import contract

RELEASES = (contract.STABLE, contract.CANDIDATE)

REQUEST_ID = "_request_id"
ROW = "_row"
RECEIVED_AT = "_received_at"
MODEL_VERSION = "_model_version"
INFERENCE_SERVICE = "_inference_service"
METADATA_COLUMNS = (REQUEST_ID, ROW, RECEIVED_AT, MODEL_VERSION, INFERENCE_SERVICE)
OUTPUT_PREFIX = "_output."
LABEL = "label"
LABELS_FOLDER = "labels"

# A Kubernetes object name (RFC 1123 label): what a model's name must be to be served at all.
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def is_model_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None


def output_column(name: str, index: int | None = None) -> str:
    return f"{OUTPUT_PREFIX}{name}" if index is None else f"{OUTPUT_PREFIX}{name}.{index}"


def partition_folder(*, model: str, release: str, at: datetime) -> str:
    """The folder, relative to the root, of the rows `release` of `model` served in the hour of `at`
    (a timezone-aware time; partitions are in UTC)."""
    if at.tzinfo is None:
        raise ValueError("partition times must be timezone-aware")
    if not is_model_name(model):
        raise ValueError(f"model name {model!r} is not a Kubernetes name")
    if release not in RELEASES:
        raise ValueError(f"release {release!r} is not one of {', '.join(RELEASES)}")
    utc = at.astimezone(UTC)
    return f"model={model}/release={release}/date={utc:%Y-%m-%d}/hour={utc:%H}"


def labels_folder(*, model: str, at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("partition times must be timezone-aware")
    if not is_model_name(model):
        raise ValueError(f"model name {model!r} is not a Kubernetes name")
    return f"{LABELS_FOLDER}/model={model}/date={at.astimezone(UTC):%Y-%m-%d}"
