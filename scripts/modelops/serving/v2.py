"""Open Inference Protocol (V2) requests from a pandas frame, as MLServer's pandas codec reads them:
one named input per column, so the MLflow runtime rebuilds the frame with the signature's columns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def _datatype(series: pd.Series) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return "BOOL"
    if pd.api.types.is_integer_dtype(series):
        return "INT64"
    if pd.api.types.is_float_dtype(series):
        return "FP64"
    return "BYTES"


def request_from_frame(frame: pd.DataFrame, *, request_id: str | None = None) -> dict[str, Any]:
    inputs = []
    for column in frame.columns:
        series = frame[column]
        datatype = _datatype(series)
        values = series.astype(str).tolist() if datatype == "BYTES" else series.tolist()
        inputs.append({"name": str(column), "shape": [len(frame)], "datatype": datatype, "data": values})
    request: dict[str, Any] = {"parameters": {"content_type": "pd"}, "inputs": inputs}
    if request_id is not None:
        request["id"] = request_id
    return request
