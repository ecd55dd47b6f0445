"""Where payload files go: a `pyarrow.fs` filesystem from a store URI, and atomic parquet writes to it.

- a local folder (a path or `file:///path`): the embedded default;
- `s3://bucket/prefix`: S3 on AWS (credentials from the standard chain: Pod Identity in the cluster),
  or MinIO in the local stack when AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) names its endpoint.

No reader ever sees half a file. Locally a file is written under a name starting with `.` (which
pyarrow datasets, DuckDB and Spark skip) and renamed into place; on S3 an object appears only once
its PUT (or its multipart upload) completes.
"""

from __future__ import annotations

import contextlib
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

# The S3 client's own bounds: connect timeout and attempts (its read timeout on Linux is the SDK's).
S3_CONNECT_TIMEOUT_S = 5.0
S3_REQUEST_TIMEOUT_S = 30.0
S3_ATTEMPTS = 3


@dataclass(frozen=True)
class StoreLocation:
    """A parsed store URI: what filesystem to open and the root folder inside it."""

    kind: str  # "local" or "s3"
    root: str  # an absolute folder, or bucket/prefix
    endpoint_scheme: str | None = None  # s3 only: an endpoint override's scheme and host[:port]
    endpoint: str | None = None
    region: str | None = None


def store_location(uri: str, *, env: Mapping[str, str]) -> StoreLocation:
    """Parse `uri`; a ValueError names what is wrong with it."""
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme in ("", "file"):
        path = parts.path if parts.scheme == "file" else uri
        if parts.scheme == "file" and parts.netloc not in ("", "localhost"):
            raise ValueError(f"store {uri!r}: a file URI names no host")
        if not path.startswith("/"):
            raise ValueError(f"store {uri!r} is not an absolute folder")
        return StoreLocation("local", path.rstrip("/") or "/")
    if parts.scheme == "s3":
        if not parts.netloc or parts.query or parts.fragment:
            raise ValueError(f"store {uri!r} is not s3://bucket/prefix")
        prefix = parts.path.strip("/")
        if prefix and any(segment in ("", ".", "..") for segment in prefix.split("/")):
            raise ValueError(f"store {uri!r} has an empty or relative segment in its prefix")
        override = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or ""
        scheme = endpoint = None
        if override:
            endpoint_parts = urllib.parse.urlsplit(override)
            if endpoint_parts.scheme not in ("http", "https") or not endpoint_parts.netloc:
                raise ValueError(f"S3 endpoint {override!r} is not http(s)://host[:port]")
            scheme, endpoint = endpoint_parts.scheme, endpoint_parts.netloc
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
        root = f"{parts.netloc}/{prefix}" if prefix else parts.netloc
        return StoreLocation("s3", root, scheme, endpoint, region)
    raise ValueError(f"store {uri!r}: only a local folder or s3://bucket/prefix is supported")


class Store:
    """Writes each table once, atomically, under the store's root."""

    def __init__(self, location: StoreLocation) -> None:
        self.location = location
        self.filesystem: pafs.FileSystem
        if location.kind == "local":
            self.filesystem = pafs.LocalFileSystem()
            self.filesystem.create_dir(location.root, recursive=True)
        else:
            self.filesystem = pafs.S3FileSystem(
                region=location.region,
                scheme=location.endpoint_scheme,
                endpoint_override=location.endpoint,
                connect_timeout=S3_CONNECT_TIMEOUT_S,
                request_timeout=S3_REQUEST_TIMEOUT_S,
                retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=S3_ATTEMPTS),
            )

    def write(self, table: pa.Table, *, folder: str) -> str:
        """Write `table` as `<root>/<folder>/part-<uuid>.parquet`; returns that path."""
        directory = f"{self.location.root}/{folder}"
        name = f"part-{uuid.uuid4().hex}.parquet"
        final = f"{directory}/{name}"
        if self.location.kind == "local":
            self.filesystem.create_dir(directory, recursive=True)
            temporary = f"{directory}/.{name}.tmp"
            try:
                pq.write_table(table, temporary, filesystem=self.filesystem)
                self.filesystem.move(temporary, final)  # rename(2): atomic within one folder
            except BaseException:
                _remove_quietly(self.filesystem, temporary)
                raise
        else:
            pq.write_table(table, final, filesystem=self.filesystem)
        return final


def _remove_quietly(filesystem: pafs.FileSystem, path: str) -> None:
    with contextlib.suppress(OSError):
        filesystem.delete_file(path)
