"""Each rendered InferenceService serves exactly what its release file says: version, URI, digest.

Releases are promoted, reviewed and rolled back through these files; another patch, the base or a
component that changes what is served behind their back is named here, at the file it contradicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelops.errors import InputError
from modelops.gitops.rendering.documents import load
from modelops.gitops.rendering.served import rendered_release
from modelops.gitops.repository.overlay_files import release_of
from modelops.gitops.rules.environment import source_file
from modelops.gitops.rules.finding import Finding
from modelops.gitops.rules.reading import name_of, subject

RELEASE_FILES = "MODELOPS_RELEASE_FILES"


def check_release_files(
    environment: str, documents: list[dict[str, Any]], texts: Mapping[str, str]
) -> list[Finding]:
    """`texts` holds the release files by repository path."""
    findings = []
    for document in documents:
        if document.get("kind") != "InferenceService":
            continue
        path, what = source_file(environment, document), subject(document)
        if path not in texts:
            message = f"not found, yet {environment} renders InferenceService {name_of(document)}"
            findings.append(Finding(path, message, object=what, rule=RELEASE_FILES))
            continue
        try:
            # Read-only, so the C parser: the round-trip one that keeps comments for writing costs
            # ~10 ms a file, seconds for an environment of hundreds of models.
            pinned = release_of(next(iter(load(texts[path], source=path)), None), path)
        except InputError as error:
            findings.append(Finding(path, str(error).removeprefix(f"{path}: "), rule=RELEASE_FILES))
            continue
        rendered = rendered_release(document)
        for field, said, served in (
            ("version", pinned.version, rendered.version),
            ("storageUri", pinned.storage_uri, rendered.storage_uri),
            ("digest", pinned.digest, rendered.digest),
        ):
            if said != served:
                message = (
                    f"says {field} {said}, but the rendered InferenceService {name_of(document)} serves "
                    f"{served or 'none'}: another file changes the release"
                )
                findings.append(Finding(path, message, object=what, rule=RELEASE_FILES))
    return findings
