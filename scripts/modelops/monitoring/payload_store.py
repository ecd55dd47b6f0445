"""Reading the window's logged payloads: only its hourly partitions, file by file, in batches.

The store is a `pyarrow.fs` URI: a local folder (the default), or s3://bucket/prefix (S3 on AWS, MinIO
where AWS_ENDPOINT_URL_S3 names it, as for the sink), with bounded timeouts and retries. A file that is
not readable parquet, or lacks a column of the layout's contract, is unusable input named by its path:
never skipped, which would read as a quiet window.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from modelops.errors import InputError
from modelops.monitoring.window import Window
from modelops.payloads import layout

# S3: the sink's bounds (a stalled connection fails in seconds; three attempts in all).
from modelops.payloads.store import S3_ATTEMPTS, S3_CONNECT_TIMEOUT_S, S3_REQUEST_TIMEOUT_S, store_location

BATCH_ROWS = 65_536


@dataclass(frozen=True)
class PayloadStore:
    filesystem: pafs.FileSystem
    root: str  # the store's root in `filesystem`
    uri: str  # as the user gave it, for messages

    def where(self, path: str) -> str:
        return f"{self.uri.rstrip('/')}/{path.removeprefix(self.root).lstrip('/')}"


def open_store(uri: str) -> PayloadStore:
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        # The sink's own reading of an S3 store: the region, and MinIO's endpoint in the local stack.
        try:
            location = store_location(uri, env=os.environ)
        except ValueError as error:
            raise InputError(f"--payloads {error}") from None
        filesystem: pafs.FileSystem = pafs.S3FileSystem(
            region=location.region,
            scheme=location.endpoint_scheme,
            endpoint_override=location.endpoint,
            connect_timeout=S3_CONNECT_TIMEOUT_S,
            request_timeout=S3_REQUEST_TIMEOUT_S,
            retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=S3_ATTEMPTS),
        )
        return PayloadStore(filesystem, location.root, uri)
    if parsed.scheme not in ("", "file"):
        raise InputError(f"--payloads {uri}: give a folder or an s3:// URI")
    folder = Path(parsed.path if parsed.scheme == "file" else uri).resolve()
    if not folder.is_dir():
        raise InputError(f"--payloads {uri}: no such folder")
    return PayloadStore(pafs.LocalFileSystem(), str(folder), uri)


def _parquet_files(store: PayloadStore, folder: str) -> list[str]:
    try:
        found = store.filesystem.get_file_info(
            pafs.FileSelector(f"{store.root}/{folder}", allow_not_found=True)
        )
    except OSError as error:
        raise InputError(f"{store.where(folder)}: cannot list ({str(error).splitlines()[0]})") from None
    # The sink writes under another name and renames: only finished .parquet files are read.
    return sorted(f.path for f in found if f.type == pafs.FileType.File and f.path.endswith(".parquet"))


def window_files(store: PayloadStore, *, model: str, releases: tuple[str, ...], window: Window) -> list[str]:
    """The parquet files of the hourly partitions `window` touches, for `model`'s `releases` only."""
    return [
        path
        for release in releases
        for hour in window.hours()
        for path in _parquet_files(store, layout.partition_folder(model=model, release=release, at=hour))
    ]


def label_files(store: PayloadStore, *, model: str, window: Window) -> list[str]:
    """Label files of every day folder from the window's first day on: a label arrives after its
    request, so a later day's folder may hold labels of the window's rows."""
    root = f"{store.root}/{layout.LABELS_FOLDER}/model={model}"
    try:
        found = store.filesystem.get_file_info(pafs.FileSelector(root, allow_not_found=True))
    except OSError as error:
        raise InputError(f"{store.where(root)}: cannot list ({str(error).splitlines()[0]})") from None
    first = layout.labels_folder(model=model, at=window.start)  # date=YYYY-MM-DD sorts as it reads
    days = sorted(
        relative
        for f in found
        if f.type == pafs.FileType.Directory and (relative := f.path.removeprefix(f"{store.root}/")) >= first
    )
    return [path for day in days for path in _parquet_files(store, day)]


def _open(store: PayloadStore, path: str) -> ds.Dataset:
    try:
        return ds.dataset(path, filesystem=store.filesystem, format="parquet")
    except (pa.ArrowException, OSError) as error:
        raise InputError(
            f"{store.where(path)}: not readable parquet ({str(error).splitlines()[0]})"
        ) from None


def file_schema(store: PayloadStore, path: str) -> pa.Schema:
    return _open(store, path).schema


def file_batches(
    store: PayloadStore, path: str, *, columns: list[str], required: tuple[str, ...], window: Window | None
) -> Iterator[tuple[pa.RecordBatch, list[str]]]:
    """The file's rows received in `window` (all rows when None), as batches of the `columns` it holds,
    with the names of those it lacks. A file without a `required` column is unusable."""
    dataset = _open(store, path)
    names = set(dataset.schema.names)
    absent_required = [c for c in required if c not in names]
    if absent_required:
        raise InputError(
            f"{store.where(path)}: no column {', '.join(absent_required)} (see modelops.payloads.layout)"
        )
    present = [c for c in columns if c in names]
    absent = [c for c in columns if c not in names]
    where = None
    if window is not None:
        received = ds.field(layout.RECEIVED_AT)
        unit = pa.timestamp("ms", tz="UTC")
        where = (received >= pa.scalar(window.start.astimezone(UTC), type=unit)) & (
            received < pa.scalar(window.end.astimezone(UTC), type=unit)
        )
    try:
        # One file and a few batches ahead at a time: memory follows the batch, never the window.
        for batch in dataset.to_batches(
            columns=present, filter=where, batch_size=BATCH_ROWS, batch_readahead=2, fragment_readahead=1
        ):
            if batch.num_rows:
                yield batch, absent
    except (pa.ArrowException, OSError) as error:
        raise InputError(f"{store.where(path)}: unreadable ({str(error).splitlines()[0]})") from None
