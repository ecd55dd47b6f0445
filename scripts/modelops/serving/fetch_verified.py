"""The platform's storage initializer: `python -m modelops.serving.fetch_verified SRC_URI DEST_DIR`.

KServe runs it as the predictor pod's `storage-initializer` init container (the ClusterStorageContainer
infra/ installs claims every storage URI a release may use), with the two arguments it gives any
storage initializer: the InferenceService's `storageUri` and the folder the model server reads
(/mnt/models). The pinned digest arrives in MODELOPS_ARTIFACT_DIGEST, which the container reads from
the pod's `modelops.io/artifact-digest` annotation through the downward API: KServe copies the
InferenceService's annotations onto the predictor's pods.

The files are copied into a hidden staging folder inside DEST_DIR (same filesystem, so moving them
into place is a rename), hashed there with the registry's functions and compared with the digest; only
then do they move into DEST_DIR. Any refusal exits 2 with one line naming the file or the digest, and
DEST_DIR holds nothing this run wrote: the init container fails, and the model server never starts on
files nobody verified. A DEST_DIR that already holds the pinned artifact (a pod whose init containers
run again) is left as it is; one that holds anything else is refused, never added to.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

from modelops.errors import EXIT_INPUT_ERROR, EXIT_PASSED, InputError
from modelops.serving.artifact_check import digest_problem, verify_artifact
from modelops.serving.artifact_source import Limits, copy_files, list_files, open_source
from modelops.serving.initializer import DIGEST_ENV

STAGING_PREFIX = ".modelops-fetch-"

log = logging.getLogger("fetch-verified")


def _remove_stale_staging(destination: Path) -> None:
    """A run killed mid-download (SIGKILL, OOM) leaves its staging folder; it was never verified."""
    for entry in destination.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(entry, ignore_errors=True)


def _move_into_place(staging: Path, destination: Path) -> None:
    moved: list[Path] = []
    try:
        for entry in sorted(staging.iterdir()):
            target = destination / entry.name
            entry.rename(target)  # rename(2) within one filesystem: each entry appears whole
            moved.append(target)
    except BaseException:
        for target in moved:  # all or nothing: a partial artifact is not the verified one
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        raise


def fetch_verified(
    source_uri: str, destination: Path, *, digest: str, env: Mapping[str, str], limits: Limits
) -> int:
    """Place the artifact at `source_uri` in `destination` if it is the one `digest` pins; returns
    the number of files. InputError names what was refused; `destination` then holds nothing new."""
    if problem := digest_problem(digest):
        raise InputError(f"{source_uri}: {problem}")
    source = open_source(source_uri, env=env)  # before DEST_DIR is touched: a bad URI writes nothing
    destination.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(destination)
    if present := sorted(p.name for p in destination.iterdir()):
        try:
            verify_artifact(destination, digest=digest)
        except InputError:
            raise InputError(
                f"{destination} already holds files that are not the pinned artifact "
                f"({', '.join(present)}): refusing to add to them"
            ) from None
        log.info("%s already holds the pinned artifact %s (%d entries)", destination, digest, len(present))
        return len(present)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=destination))
    try:
        files = list_files(source, limits=limits)
        copy_files(source, files, staging, limits=limits)
        verify_artifact(staging, digest=digest, shown_as=source_uri)
        _move_into_place(staging, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return len(files)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m modelops.serving.fetch_verified", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("source", metavar="SRC_URI", help="s3://bucket/prefix, file:///folder or a folder")
    parser.add_argument(
        "destination", metavar="DEST_DIR", type=Path, help="the folder the model server reads"
    )
    defaults = Limits()
    parser.add_argument("--max-files", type=int, default=defaults.max_files)
    parser.add_argument("--max-bytes", type=int, default=defaults.max_bytes)
    parser.add_argument("--deadline-s", type=float, default=defaults.deadline_s)
    return parser


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # SystemExit unwinds through fetch_verified's `finally`: the staging folder is removed.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None, *, env: Mapping[str, str] = os.environ) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    limits = Limits(max_files=args.max_files, max_bytes=args.max_bytes, deadline_s=args.deadline_s)
    digest = env.get(DIGEST_ENV, "")
    try:
        count = fetch_verified(args.source, args.destination, digest=digest, env=env, limits=limits)
    except InputError as error:
        log.error("refused: %s", error)
        return EXIT_INPUT_ERROR
    log.info("verified %s: %d files, %s, in %s", args.source, count, digest, args.destination)
    return EXIT_PASSED


if __name__ == "__main__":
    sys.exit(main())
