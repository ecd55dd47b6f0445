"""`modelops rightsize MODEL --env ENV`: read the release's usage, recommend, and propose the overlay's
new resources as a branch for a pull request (nothing when nothing changes, or when refused).

The overlay is read as committed (HEAD) and rendered with kubectl kustomize, so the current values
are what the cluster applies; the proposed overlay is rendered again and must carry exactly the
recommended values and pass every object rule before anything is committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelops.config import load_environment
from modelops.config.rightsizing import RightsizingPolicy, duration_seconds
from modelops.errors import InputError
from modelops.gitops.rendering.documents import objects
from modelops.gitops.rendering.render import render
from modelops.gitops.repository import layout
from modelops.gitops.repository.gitrepo import Repo
from modelops.gitops.repository.pull_request import Proposal
from modelops.gitops.repository.revision_tree import revision_trees
from modelops.gitops.rules.catalogue import object_problems
from modelops.rightsizing import overlay
from modelops.rightsizing.prometheus import Query, read_usage
from modelops.rightsizing.recommend import candidate_comparison, recommend, texts
from modelops.rightsizing.report import Evidence, pull_request_body
from modelops.rightsizing.usage import Usage
from modelops.serving import contract
from modelops.serving.contract import CANDIDATE, STABLE


@dataclass(frozen=True)
class Outcome:
    evidence: Evidence
    proposal: Proposal | None  # None: refused, or nothing to change


def policy_of(environment: str, root: Path) -> RightsizingPolicy:
    policy = load_environment(environment, root=root).rightsizing
    if policy is None:
        raise InputError(
            f"environments/{environment}.yaml: no 'rightsizing' section; rightsizing needs its policy"
        )
    return policy


def _window(text: str | None, policy: RightsizingPolicy) -> str:
    window = text or policy.window
    try:
        seconds = duration_seconds(window)
    except ValueError as error:
        raise InputError(f"--window: {error}") from None
    if seconds < 2 * policy.resolution_s:
        raise InputError(f"--window {window}: shorter than two samples of {policy.resolution}")
    return window


def _stable_document(documents: list[dict[str, Any]], model: str, where: str) -> dict[str, Any]:
    for document in documents:
        if document.get("kind") == "InferenceService" and (document.get("metadata") or {}).get(
            "name"
        ) == contract.inference_service(model, STABLE):
            return document
    raise InputError(f"{where}: renders no InferenceService {model}")


def rightsize(
    repo: Repo,
    root: Path,
    *,
    model: str,
    environment: str,
    query: Query,
    window: str | None = None,
    end: datetime | None = None,
) -> Outcome:
    settings = load_environment(environment, root=root)
    policy = policy_of(environment, root)
    window = _window(window, policy)
    end = end or datetime.now(UTC)
    folder = str(layout.overlay_dir(model, environment))
    release_path = layout.overlay_file(model, environment, layout.RELEASE)
    if dirty := repo.dirty_paths(folder):
        raise InputError(f"{dirty[0]}: uncommitted changes; commit or discard them first")
    texts_at_head = repo.texts_at("HEAD", folder)
    if release_path not in texts_at_head:
        raise InputError(f"{release_path}: not found; {model} has no overlay for {environment}")
    with revision_trees(repo, "HEAD", folders=(str(layout.GITOPS),)) as [tree]:
        document = _stable_document(objects(render(tree / folder, shown_as=Path(folder))), model, folder)
        current = overlay.current_resources(document, where=release_path)
        usage = read_usage(
            query,
            namespace=settings.gitops.destination.namespace,
            models=[model],
            window=window,
            policy=policy,
            at=end,
        )
        stable, candidate = usage.get((model, STABLE), Usage()), usage.get((model, CANDIDATE))
        recommendation = recommend(
            stable, current, policy=policy, sla_ms=settings.promotion.latency.p95_ms, candidate=candidate
        )
        evidence = Evidence(
            model=model,
            environment=environment,
            window=window,
            end=end,
            usage=stable,
            candidate=candidate,
            candidate_notes=tuple(
                candidate_comparison(
                    stable, candidate, recommendation.recommended, margin=recommendation.margin
                )
                if candidate is not None
                else ()
            ),
            recommendation=recommendation,
            replicas=overlay.replicas(document),
            policy=policy,
            sla_ms=settings.promotion.latency.p95_ms,
        )
        if recommendation.recommended is None or not recommendation.changed:
            return Outcome(evidence, None)
        comment = (
            f"Sized by `modelops rightsize` from {window} of usage to {end:%Y-%m-%d}; "
            "the pull request that set it shows the evidence."
        )
        written = overlay.with_resources(
            texts_at_head[release_path], release_path, recommendation.recommended, comment=comment
        )
        _check_rendered(tree, folder, model=model, written=written, wanted=texts(recommendation.recommended))
    values = texts(recommendation.recommended)
    cpu, memory = values["requests.cpu"], values["requests.memory"]
    branch = f"rightsize/{model}/{environment}/cpu-{cpu}-memory-{memory}"
    title = f"Rightsize {model} in {environment}: CPU {cpu}, memory {memory}"
    body = pull_request_body(evidence)
    base_branch = repo.current_branch()
    if base_branch == "HEAD":  # a detached checkout: the PR goes to the branch Argo CD follows
        base_branch = settings.gitops.target_revision
    commit = repo.commit_on_new_branch(
        branch, base="HEAD", changes={release_path: written}, message=f"{title}\n\n{body}"
    )
    return Outcome(evidence, Proposal(branch, commit, base_branch, title, body, (release_path,)))


def _check_rendered(tree: Path, folder: str, *, model: str, written: str, wanted: dict[str, str]) -> None:
    """The overlay with `written` as its release.yaml renders the wanted values and breaks no rule;
    another file of the overlay that sets resources after it would make the pull request a no-op."""
    release = tree / folder / layout.RELEASE
    release.write_text(written, encoding="utf-8")
    document = _stable_document(objects(render(tree / folder, shown_as=Path(folder))), model, folder)
    rendered = overlay.rendered_resources(document)
    if rendered != wanted:
        raise InputError(
            f"{folder}: renders resources {rendered} after release.yaml sets {wanted}: another file of the "
            "overlay sets them; change it there"
        )
    if problems := object_problems(document):
        rule, problem = problems[0]
        raise InputError(f"{folder}/{layout.RELEASE}: the rightsized release breaks {rule.id}: {problem}")
