"""A revision's files in a scratch folder: what the pull-request gate renders and reads its rules from.

The gate judges commits, not a working tree: the head's files as committed (an uncommitted edit or
an untracked file in the checkout cannot change the verdict) and the base's policies as merged.
`git archive` writes the tree without touching the repository's index, branches or working tree.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from modelops.errors import InputError
from modelops.gitops.repository.gitrepo import Repo

_TIMEOUT_S = 120


def extract(repo: Repo, revision: str, destination: Path, *, folders: tuple[str, ...]) -> Path:
    """Write the files of `revision` under its top-level `folders` to `destination`; returns it.

    Only those folders: what else the repository holds cannot reach a render or a rule here.
    A tree holding a `.gitattributes` anywhere is refused: `git archive` applies the attributes of the
    tree it writes (`export-subst` rewrites a file's text, `export-ignore` drops it), a checkout does
    not, so the gate would judge other bytes than Argo CD applies.
    """
    attributes = attribute_files(repo, revision)
    if attributes:
        raise InputError(
            f"{revision[:12]}: {attributes[0]}: a .gitattributes file makes `git archive` write other bytes "
            "than a checkout (export-subst, export-ignore); the gate judges no tree that holds one"
        )
    present = set(repo.git("ls-tree", "-z", "--name-only", revision).split("\0"))
    chosen = [folder for folder in folders if folder in present]
    destination.mkdir(parents=True, exist_ok=True)
    if not chosen:
        return destination
    try:
        done = subprocess.run(
            ["git", "-C", str(repo.root), "archive", "--format=tar", revision, "--", *chosen],
            capture_output=True,
            timeout=_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise InputError(f"git archive {revision}: {error}") from None
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise InputError(f"git archive {revision}: {detail[-1] if detail else 'failed'}")
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        try:
            # The "data" filter refuses links leaving the folder, devices and absolute paths.
            archive.extractall(destination, filter="data")
        except tarfile.FilterError as error:
            raise InputError(f"{revision[:12]}: {error}") from None
    return destination


def attribute_files(repo: Repo, revision: str) -> list[str]:
    """Every `.gitattributes` in `revision`'s tree, at any depth."""
    paths = repo.git("ls-tree", "-r", "-z", "--name-only", revision).split("\0")
    return sorted(path for path in paths if path == ".gitattributes" or path.endswith("/.gitattributes"))


@contextmanager
def revision_trees(repo: Repo, *revisions: str, folders: tuple[str, ...]) -> Iterator[list[Path]]:
    """Each revision's `folders` in its own scratch folder, removed afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix="modelops-revisions-"))
    try:
        yield [
            extract(repo, revision, scratch / str(index), folders=folders)
            for index, revision in enumerate(revisions)
        ]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def replace_folder(tree: Path, folder: str, *, source: Path) -> None:
    """`tree/folder` becomes a copy of `source/folder` (or absent, when `source` has none)."""
    shutil.rmtree(tree / folder, ignore_errors=True)
    if (source / folder).is_dir():
        shutil.copytree(source / folder, tree / folder, symlinks=True)
