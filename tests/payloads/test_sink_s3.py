"""The sink writing to S3 as it does on AWS (and to MinIO locally): an S3 API on loopback (moto)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest

from tests.payloads.agent import running_sink, v2_request, v2_response
from tests.s3_stand_in import put

KEYS = {
    "AWS_ACCESS_KEY_ID": "sink",
    "AWS_SECRET_ACCESS_KEY": "sink-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def test_joined_rows_reach_the_bucket_in_the_monitors_layout_by_the_last_flush_on_sigterm(
    s3_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {**KEYS, "AWS_ENDPOINT_URL_S3": s3_server}.items():
        monkeypatch.setenv(key, value)
    put(s3_server, "modelops-artifacts")
    ids = [str(uuid.uuid4()) for _ in range(3)]
    # A long flush interval: nothing is written until SIGTERM makes the sink write what it holds.
    with running_sink(
        "s3://modelops-artifacts/payloads", "--flush-interval-s", "600", log=tmp_path / "sink.log"
    ) as sink:
        agent = sink.agent()
        for n, event_id in enumerate(ids):
            agent.pair(event_id, v2_request({"age": [30 + n]}), v2_response([n % 2]))
        agent.close()
        assert sink.stop() == 0, sink.log_text()

    host, port = s3_server.removeprefix("http://").split(":")
    s3 = pafs.S3FileSystem(
        access_key=KEYS["AWS_ACCESS_KEY_ID"],
        secret_key=KEYS["AWS_SECRET_ACCESS_KEY"],
        region="us-east-1",
        scheme="http",
        endpoint_override=f"{host}:{port}",
    )
    files = [
        info.path
        for info in s3.get_file_info(pafs.FileSelector("modelops-artifacts/payloads", recursive=True))
        if info.type == pafs.FileType.File
    ]
    assert files and all(
        path.startswith("modelops-artifacts/payloads/model=credit-risk/release=stable/date=")
        for path in files
    )
    rows = (
        ds.dataset("modelops-artifacts/payloads", filesystem=s3, format="parquet", partitioning="hive")
        .to_table()
        .to_pylist()
    )
    assert sorted((row["_request_id"], row["age"], row["_output.predict"]) for row in rows) == sorted(
        (event_id, 30 + n, n % 2) for n, event_id in enumerate(ids)
    )
