"""Copy an artifact folder out of its store, within bounds: the download half of the verifying initializer.

Sources: `s3://bucket/prefix` through pyarrow's S3 filesystem (credentials from the standard chain,
the endpoint from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, which KServe sets from the `s3-endpoint`
annotation of the ServiceAccount's Secret for MinIO), and a local folder or `file:///folder` (the
embedded registry's artifact root, tests). URIs are parsed by the payload store's one parser.

Nothing here decides whether the files are the right ones (artifact_check.py does, on the copy), but
nothing the store says may write outside the destination or fill the node's disk: object keys with
`..` or empty segments, symlinks in a local source, more files or bytes than the limits are refused
before or while copying. Each S3 request has the store's connect and request timeouts and the SDK's
standard retries; a file whose transfer breaks off is fetched again, a bounded number of times.
"""

from __future__ import annotations

import logging
import os
import stat
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow.fs as pafs

from modelops.errors import InputError
from modelops.payloads.store import (
    S3_ATTEMPTS,
    S3_CONNECT_TIMEOUT_S,
    S3_REQUEST_TIMEOUT_S,
    StoreLocation,
    store_location,
)

log = logging.getLogger("fetch-verified")

SUPPORTED = ("s3://bucket/prefix", "a local folder", "file:///folder")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Limits:
    # An MLflow sklearn artifact is a handful of files (MLmodel, the skops file, environment specs).
    max_files: int = 100
    # Well above any model the platform serves today; a bucket writer cannot fill the node's disk.
    max_bytes: int = 2 << 30
    file_attempts: int = 3  # whole-file retries after a transfer breaks off mid-stream
    backoff_s: float = 1.0  # doubled after each failed attempt
    deadline_s: float = 600.0  # for the whole download


@dataclass(frozen=True)
class SourceFile:
    relative: str  # posix path inside the artifact folder
    size: int


@dataclass(frozen=True)
class Source:
    uri: str
    location: StoreLocation
    filesystem: pafs.FileSystem

    @property
    def is_local(self) -> bool:
        return self.location.kind == "local"


def open_source(uri: str, *, env: Mapping[str, str]) -> Source:
    """The filesystem and root folder `uri` names; InputError for anything else."""
    scheme = urllib.parse.urlsplit(uri).scheme
    if scheme not in ("", "file", "s3"):
        raise InputError(f"{uri}: the verifying initializer reads only {', '.join(SUPPORTED)}")
    try:
        location = store_location(uri, env=env)
    except ValueError as error:
        raise InputError(f"{uri}: {error}") from None
    if location.kind == "local":
        return Source(uri, location, pafs.LocalFileSystem())
    region = location.region
    if region is None and location.endpoint is None:
        bucket = location.root.split("/", 1)[0]
        try:
            region = pafs.resolve_s3_region(bucket)
        except OSError as error:
            raise InputError(f"{uri}: the bucket's region cannot be found ({error})") from None
    filesystem = pafs.S3FileSystem(
        region=region,
        scheme=location.endpoint_scheme,
        endpoint_override=location.endpoint,
        connect_timeout=S3_CONNECT_TIMEOUT_S,
        request_timeout=S3_REQUEST_TIMEOUT_S,
        retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=S3_ATTEMPTS),
    )
    return Source(uri, location, filesystem)


def relative_problem(relative: str) -> str | None:
    """Why an object's path inside the artifact could escape the destination folder, or None."""
    parts = relative.split("/")
    if relative.startswith("/") or any(part in ("", ".", "..") for part in parts):
        return "is not a plain relative path"
    if any("\\" in part or "\0" in part for part in parts):
        return "holds a backslash or NUL"
    return None


def _local_refusals(root: Path) -> None:
    """Symlinks and special files in a local source, named (pyarrow would follow or skip them)."""
    for folder, directories, files in os.walk(root):
        for name in [*directories, *files]:
            path = Path(folder) / name
            mode = path.lstat().st_mode
            relative = path.relative_to(root).as_posix()
            if stat.S_ISLNK(mode):
                raise InputError(f"{relative}: artifacts must not contain symlinks")
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise InputError(f"{relative}: not a regular file")


def list_files(source: Source, *, limits: Limits) -> list[SourceFile]:
    """Every file under the source's root, checked against the limits before a byte is copied."""
    root = source.location.root
    try:
        info = source.filesystem.get_file_info(root)
        if info.type != pafs.FileType.Directory:
            raise InputError(f"{source.uri}: no artifact folder there")
        if source.is_local:
            _local_refusals(Path(root))
        entries = source.filesystem.get_file_info(pafs.FileSelector(root, recursive=True))
    except OSError as error:
        raise InputError(f"{source.uri}: cannot be listed ({error})") from None
    files = []
    for entry in entries:
        # Sliced, not normalised: a key's `..` or empty segment must be seen, not folded away.
        relative = entry.path.removeprefix(f"{root}/")
        if entry.type == pafs.FileType.Directory:
            continue
        if entry.type != pafs.FileType.File:
            raise InputError(f"{relative}: not a regular file")
        if problem := relative_problem(relative):
            raise InputError(f"{relative!r}: {problem}")
        files.append(SourceFile(relative, int(entry.size or 0)))
    if len(files) > limits.max_files:
        raise InputError(
            f"{source.uri}: {len(files)} files, more than an artifact may hold ({limits.max_files})"
        )
    total = sum(f.size for f in files)
    if total > limits.max_bytes:
        raise InputError(f"{source.uri}: {total} bytes, more than an artifact may hold ({limits.max_bytes})")
    return sorted(files, key=lambda f: f.relative)


def _copy_one(source: Source, file: SourceFile, target: Path, *, deadline: float) -> None:
    written = 0
    path = f"{source.location.root}/{file.relative}"
    with source.filesystem.open_input_stream(path) as stream, target.open("wb") as output:
        while chunk := stream.read(_CHUNK):
            written += len(chunk)
            if written > file.size:
                raise InputError(f"{file.relative}: grew while it was copied (listed {file.size} bytes)")
            if time.monotonic() > deadline:
                raise InputError(f"{file.relative}: the download did not finish in time")
            output.write(chunk)
    if written != file.size:
        raise InputError(f"{file.relative}: {written} bytes copied, {file.size} listed")


def copy_files(source: Source, files: list[SourceFile], destination: Path, *, limits: Limits) -> None:
    """Copy `files` under `destination`, retrying a broken S3 transfer; InputError names the file."""
    deadline = time.monotonic() + limits.deadline_s
    attempts = 1 if source.is_local else limits.file_attempts
    for file in files:
        target = destination / file.relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:  # keys `a` and `a/b`: a file where a folder must go
            raise InputError(f"{file.relative}: cannot be laid out as files ({error.strerror})") from None
        for attempt in range(1, attempts + 1):
            try:
                _copy_one(source, file, target, deadline=deadline)
                break
            except OSError as error:
                if attempt == attempts or time.monotonic() > deadline:
                    raise InputError(
                        f"{file.relative}: unreadable at {source.uri} after {attempt} attempt(s) ({error})"
                    ) from None
                log.warning("%s: attempt %d of %d failed: %s", file.relative, attempt, attempts, error)
                time.sleep(limits.backoff_s * 2 ** (attempt - 1))
