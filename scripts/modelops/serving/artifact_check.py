"""Is this folder the artifact the release pins? The one check the pod and the local launcher share.

A release pins its artifact twice: `storageUri` says where the files are, the annotation
`modelops.io/artifact-digest` says what they are (the sha256 of the file manifest the gate judged,
`modelops.registry.manifest`). Whoever can write the bucket can change the files under the URI; only
a reviewed pull request can change the digest. So the files are hashed with the registry's own
functions and compared with the digest before anything opens them: the model server runs with
`MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true`, whose trusted skops types come from the artifact itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from modelops.errors import InputError
from modelops.gitops.repository.layout import DIGEST_ANNOTATION
from modelops.gitops.rules.releases import DIGEST
from modelops.registry.manifest import build_manifest, manifest_digest


def digest_problem(digest: str | None) -> str | None:
    """Why `digest` cannot pin an artifact (absent, empty, not `sha256:<64 hex>`), or None."""
    if digest is None or not digest.strip():
        # The downward API gives an empty value for an annotation the pod does not carry.
        return f"no pinned digest: the release carries no {DIGEST_ANNOTATION} annotation"
    if not DIGEST.fullmatch(digest):
        return f"pinned digest {digest!r} is not sha256:<64 hex digits> ({DIGEST_ANNOTATION})"
    return None


def mismatch_reason(
    actual: Mapping[str, str], *, digest: str, registered: Mapping[str, str] | None = None
) -> str | None:
    """Why the files in `actual` ({path: sha256}) are not the artifact `digest` pins, or None.

    A digest alone cannot say which file differs; with the registered manifest (the registry's
    `modelops.artifact_manifest` tag), once it is shown to be the pinned one, each file is named.
    """
    found = manifest_digest(dict(actual))
    if found == digest:
        return None
    if registered is not None:
        # Imported here: the gates package loads the drift code, which the pod never needs.
        from modelops.gates.integrity import compare_manifests

        if manifest_digest(dict(registered)) != digest:
            return f"the registered manifest is not the one the pinned digest {digest} names"
        return "; ".join(compare_manifests(registered, actual))
    files = ", ".join(sorted(actual)) or "no files"
    return (
        f"its files ({files}) have manifest digest {found}, not the pinned {digest}: "
        "a file was changed, added or removed after the gate judged the artifact"
    )


def verify_artifact(
    folder: Path, *, digest: str, manifest: Mapping[str, str] | None = None, shown_as: str | None = None
) -> None:
    """Raise InputError, naming the folder (or `shown_as`, e.g. the URI it was copied from) and what is
    wrong, unless `folder` holds exactly the files whose manifest has `digest`. Give `manifest` (the
    registered one) to have each differing file named."""
    name = shown_as or str(folder)
    if problem := digest_problem(digest):
        raise InputError(f"{name}: {problem}")
    if folder.is_symlink() or not folder.is_dir():
        raise InputError(f"{name}: not an artifact folder")
    try:
        actual = build_manifest(folder)
    except ValueError as error:  # a symlink, named by build_manifest
        raise InputError(str(error)) from None
    except OSError as error:
        raise InputError(f"{error.filename or name}: unreadable ({error.strerror or error})") from None
    if reason := mismatch_reason(actual, digest=digest, registered=manifest):
        raise InputError(f"{name}: {reason}")
