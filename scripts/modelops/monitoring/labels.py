"""Ground-truth labels beside the payloads, keyed by (`_request_id`, `_row`)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from modelops.errors import InputError
from modelops.monitoring.payload_store import PayloadStore, file_batches
from modelops.payloads.layout import LABEL, REQUEST_ID, ROW

POSITIVE = "_positive"
KEYS = [REQUEST_ID, ROW]


def read_labels(
    store: PayloadStore, paths: list[str], *, classes: Sequence[object], positive_class: object
) -> pa.Table | None:
    """(_request_id, _row, _positive) for every labelled row; None when no label file exists.
    A label outside the model's two classes is unusable input, named with its file."""
    frames = []
    for path in paths:
        for batch, _ in file_batches(
            store, path, columns=[*KEYS, LABEL], required=(*KEYS, LABEL), window=None
        ):
            frame = batch.to_pandas()
            outside = frame.loc[~frame[LABEL].isin(list(classes)), LABEL]
            if not outside.empty:
                shown = ", ".join(repr(v) for v in pd.unique(outside)[:5])
                raise InputError(
                    f"{store.where(path)}: column {LABEL} holds values outside the classes "
                    f"{list(classes)}: {shown}"
                )
            frames.append(
                pd.DataFrame(
                    {
                        REQUEST_ID: frame[REQUEST_ID].astype(str),
                        ROW: frame[ROW].astype("int64"),
                        POSITIVE: frame[LABEL] == positive_class,
                    }
                )
            )
    if not frames:
        return None
    # A label sent twice for one row is one label: the last file's (files are read in date order).
    labels = pd.concat(frames, ignore_index=True).drop_duplicates(KEYS, keep="last")
    return pa.Table.from_pandas(labels, preserve_index=False)


def labelled(batch: pa.RecordBatch, scores: pa.Array, labels: pa.Table) -> tuple[pa.Array, pa.Array]:
    """The scores of the batch's rows that have a label, and whether each label is positive."""
    keys = pa.table(
        {
            REQUEST_ID: pc.cast(batch.column(REQUEST_ID), pa.string()),
            ROW: pc.cast(batch.column(ROW), pa.int64()),
            "_score": scores,
        }
    )
    joined = keys.join(labels, keys=KEYS, join_type="inner")
    return joined.column("_score"), joined.column(POSITIVE)
