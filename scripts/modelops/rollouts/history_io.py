"""Reading a rollout history: the overlay's git log, the analysis records in MLflow, the gate verdicts.

Thin I/O around modelops.rollouts.history: what cannot be read is set aside with its reason, never
guessed at, and never stops the rest of the history from being read.
"""

from __future__ import annotations

from modelops.errors import InputError
from modelops.gitops.repository import layout
from modelops.gitops.repository.gitrepo import Repo
from modelops.gitops.repository.overlay_files import read_state
from modelops.registry import tags
from modelops.registry.errors import registry_errors
from modelops.rollouts.history import ModelHistory, Revision, history
from modelops.rollouts.records import experiment_name, readable_analyses


def overlay_revisions(
    repo: Repo, model: str, environment: str, *, rev: str = "HEAD"
) -> tuple[list[Revision], list[str]]:
    """The overlay's state at each commit of `rev`'s first-parent line that touched it, oldest first,
    and the commits whose overlay could not be read."""
    overlay = str(layout.overlay_dir(model, environment))
    listed = repo.git("log", "--first-parent", "--format=%H %ct", rev, "--", overlay)
    revisions, unreadable = [], []
    for line in reversed(listed.splitlines()):
        commit, _, seconds = line.partition(" ")
        texts = repo.texts_at(commit, overlay)
        if layout.overlay_file(model, environment, layout.RELEASE) not in texts:
            continue  # the overlay was removed here (or not yet written): no state to read
        try:
            revisions.append(Revision(commit, float(seconds), read_state(texts, model, environment)))
        except InputError as error:
            unreadable.append(f"commit {commit[:12]}: {error}")
    return revisions, unreadable


def models_in(repo: Repo, environment: str, *, rev: str = "HEAD") -> list[str]:
    """Every model with an overlay for `environment` at `rev`."""
    listed = repo.git("ls-tree", "-d", "-z", "--name-only", rev, "--", f"{layout.GITOPS}/models/")
    models = [path.rsplit("/", 1)[-1] for path in listed.split("\0") if path]
    release = lambda m: layout.overlay_file(m, environment, layout.RELEASE)  # noqa: E731
    present = repo.git("ls-tree", "-r", "-z", "--name-only", rev, "--", *(release(m) for m in models))
    files = set(present.split("\0"))
    return sorted(m for m in models if release(m) in files)


def gated_releases(model: str, environment: str) -> set[tuple[str, str]]:
    """(version, artifact digest) of every registered version of `model` whose `gate.<env>` is passed."""
    import mlflow

    experiment_name(model)  # the same name check: refused before it reaches a search filter
    client, found, token = mlflow.MlflowClient(), [], None
    with registry_errors(f"model {model} verdicts"):
        while True:
            page = client.search_model_versions(f"name = '{model}'", max_results=1000, page_token=token)
            found += list(page)
            token = page.token
            if not token:
                break
    passed = set()
    for version in found:
        said = dict(version.tags or {})
        if said.get(tags.gate(environment)) == "passed" and said.get(tags.ARTIFACT_DIGEST):
            passed.add((str(version.version), said[tags.ARTIFACT_DIGEST]))
    return passed


def model_history(repo: Repo, model: str, environment: str, *, rev: str = "HEAD") -> ModelHistory:
    revisions, unreadable = overlay_revisions(repo, model, environment, rev=rev)
    records, set_aside = readable_analyses(model, environment=environment)
    return history(
        model,
        environment,
        revisions=revisions,
        records=records,
        gated=gated_releases(model, environment),
        unreadable=[*unreadable, *set_aside],
    )
