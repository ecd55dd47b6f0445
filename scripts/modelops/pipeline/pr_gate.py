"""`modelops gate --base REV --head REV`: the pull-request mode CI runs.

The gate judges what the clusters will apply. It renders every environment at the base and at the
head, from the commits (never the working tree), and gates every InferenceService whose serving
spec changed: a new release, a re-pinned artifact, another runtime, whatever file caused it (an
overlay's release.yaml, another patch, the model's base or components, the environment's list).
The champion is what the base serves on the stable track. What to judge (gitops/, environments/)
comes from the head; how to judge it (policies/, the promotion thresholds) from the base, as
merged and reviewed. The environments judged are those of the base and of the head: a pull request
that deletes, moves or renames an environment's file still has that environment's releases gated,
wherever its folder still renders. A change that reaches none of gitops/, environments/ or
policies/ has nothing to gate. Any error fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelops.config.loader import environments_dir, load_model_policy
from modelops.errors import InputError
from modelops.gitops.releases.transitions import describe
from modelops.gitops.rendering.documents import objects
from modelops.gitops.rendering.render import render_each
from modelops.gitops.rendering.served import STABLE, Served, overlay_state, release_changes, routes, served
from modelops.gitops.repository import layout
from modelops.gitops.repository.gitrepo import Repo
from modelops.gitops.repository.revision_tree import replace_folder, revision_trees
from modelops.gitops.rules.argocd import BOOTSTRAP
from modelops.gitops.rules.render_inputs import before_rendering
from modelops.gitops.validation import record as validation_record
from modelops.gitops.validation.validate import Validation, environments, validate
from modelops.pipeline.release_gate import Judging, ReleaseVerdict, gate_release_change

# What the gate reads, and all it reads of a revision: rendering sees these folders alone, so a
# kustomization reaching beyond gitops/ fails to render (validation names it, too). A pull request
# touching none of them changes neither what the clusters apply nor how it is judged: the check
# reports at once that there is nothing to gate.
JUDGED = ("gitops/", "environments/", "policies/")
# Read from the base: how releases are judged. A pull request cannot relax its own gate.
POLICIES = "policies"

Rendered = Mapping[str, list[dict[str, Any]]]  # environment -> its rendered objects


@dataclass(frozen=True)
class PullRequestVerdict:
    validation: Validation | None  # None: nothing to gate, nothing validated
    releases: tuple[ReleaseVerdict, ...]
    # Where the validation came from when a record was offered: reused, or why it was run again.
    validation_source: str = ""
    # Changed files under gitops/ that are no release: (path, what they reach). Validated, not gated.
    other_changes: tuple[tuple[str, str], ...] = ()

    @property
    def passed(self) -> bool:
        validated = self.validation is None or self.validation.passed
        return validated and all(r.passed for r in self.releases)

    def to_dict(self) -> dict[str, Any]:
        """What verdict.json and `modelops gate --json` say."""
        validation = self.validation
        return {
            "passed": self.passed,
            "validation": None
            if validation is None
            else {
                "passed": validation.passed,
                "objects": validation.objects,
                "source": self.validation_source or "validated",
                "findings": [f.to_dict() for f in validation.findings],
            },
            "other_changes": [{"path": path, "reaches": where} for path, where in self.other_changes],
            "releases": [r.to_dict() for r in self.releases],
        }


def reach(path: str) -> str | None:
    """What a changed file the gate reads (JUDGED) reaches; None for one it does not, or documentation.

    Files of environments/ and policies/ judge this pull request as the base has them (module
    docstring): the report says when what they change takes effect."""
    parts = path.split("/")
    if len(parts) < 2 or path.endswith(".md"):
        return None
    if parts[0] == "environments":
        if len(parts) == 2 and path.endswith(".yaml"):
            env = parts[1].removesuffix(".yaml")
            return (
                f"the {env} environment's settings: its cluster and Application once merged, "
                "its thresholds from the next pull request"
            )
        if parts[1] == "shared":
            return "the shared registry stack and every environment, at their next deploy"
        return "environments/ as a whole"
    if parts[0] == "policies":
        if len(parts) == 3 and parts[1] == "models" and path.endswith(".yaml"):
            return f"the gate policy of {parts[2].removesuffix('.yaml')}, from the next pull request"
        return "the infrastructure policies, at the next preview and deploy"
    if parts[0] != "gitops":
        return None
    if (overlay := layout.parse_overlay_path(path)) is not None:
        return f"{overlay[0]} in {overlay[1]}"
    if parts[1] == "models" and len(parts) >= 4:
        return f"every environment of {parts[2]}"
    if parts[1] == "environments" and len(parts) >= 4:
        return f"everything in {parts[2]}"
    if parts[1] == "bootstrap":
        return "Argo CD's projects and applications"
    return "gitops/ as a whole"


def other_changes(paths: Iterable[str], gated: set[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Changed files under gitops/ outside every gated release's overlay: a base or a component reaches
    every environment (its releases, if it changed them, are gated above), and an overlay edit that
    changes no release (replicas, resources) is no release."""
    changes = []
    for path in paths:
        where = reach(path)
        if where is not None and layout.parse_overlay_path(path) not in gated:
            changes.append((path, where))
    return tuple(changes)


def _check_policy_files(head_tree: Path, changed: list[str]) -> None:
    """A changed model policy must parse at the head; it takes effect once merged."""
    for path in changed:
        if path.startswith("policies/models/") and path.endswith(".yaml") and (head_tree / path).is_file():
            load_model_policy(Path(path).stem, root=head_tree)


def environment_names(tree: Path) -> set[str]:
    """The environments `tree` defines: its top-level environments/*.yaml."""
    return {env.name for env in environments(tree)} if environments_dir(tree).is_dir() else set()


def judged_environments(base_tree: Path, head_tree: Path) -> list[str]:
    """The environments a pull request is judged in: every environment file at the base or the head.

    Not the head's alone: a pull request chooses the head's files, and one that deletes, moves or
    renames environments/prod.yaml would otherwise take prod's releases out of the gate while its
    folder, still in gitops/, is what a cluster syncs (validation names the file the ApplicationSet
    no longer finds). Such an environment is judged by the base's file, as every environment is."""
    return sorted(environment_names(base_tree) | environment_names(head_tree))


def render_environments(tree: Path, names: Iterable[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Each environment `names` lists (by default the environments of `tree`) that has a folder in
    `tree`, as kustomize renders it."""
    folders = {
        name: tree / layout.environment_dir(name)
        for name in (environment_names(tree) if names is None else names)
    }
    present = {name: folder for name, folder in sorted(folders.items()) if folder.is_dir()}
    return {name: objects(documents) for name, documents in render_each(present)}


Releases = Mapping[str, Mapping[tuple[str, str], Served]]  # environment -> what it serves


def _served(rendered: Rendered) -> dict[str, dict[tuple[str, str], Served]]:
    return {env: served(env, documents) for env, documents in rendered.items() if env != BOOTSTRAP}


def _traffic_verdicts(
    rendered: tuple[Rendered, Rendered], releases: tuple[Releases, Releases], gated: set[tuple[str, str]]
) -> list[ReleaseVerdict]:
    """A route that changed where no release did: weights moved between releases gated on entry.

    `rendered` and `releases` are (base, head) pairs."""
    (base, head), (base_releases, head_releases) = rendered, releases
    verdicts = []
    for env in sorted(head_releases):
        base_routes, head_routes = routes(base.get(env, [])), routes(head[env])
        for model in sorted(head_routes):
            if (model, env) in gated or base_routes.get(model) == head_routes[model]:
                continue
            before = overlay_state(model, base_releases.get(env, {}), base_routes.get(model))
            after = overlay_state(model, head_releases[env], head_routes[model])
            if after is None:
                continue  # no release to route to: validation reports the route
            moved = after.candidate or after.stable
            change = f"{describe(before)} -> {describe(after)}" if before else describe(after)
            verdicts.append(
                ReleaseVerdict(
                    model,
                    env,
                    challenger=moved.version,
                    champion=after.stable.version,
                    passed=True,
                    reasons=(f"traffic change only, no release changed: {change}",),
                    change="traffic",
                )
            )
    return verdicts


def _gated(verdicts: Iterable[ReleaseVerdict]) -> set[tuple[str, str]]:
    return {(v.model, v.environment) for v in verdicts}


def _removed(base: Releases, head: Releases) -> list[ReleaseVerdict]:
    verdicts = []
    for env in sorted(base):
        still = head.get(env, {})
        for model, track in sorted(base[env]):
            if track == STABLE and (model, STABLE) not in still:
                verdicts.append(
                    ReleaseVerdict(
                        model,
                        env,
                        challenger="removed",
                        champion=None,
                        passed=True,
                        reasons=("removed: nothing to gate",),
                    )
                )
    return verdicts


def _validation(
    head_tree: Path, validated: Path | None, step: Callable[[str], None]
) -> tuple[Validation, str]:
    if validated is not None:
        reused, why = validation_record.reusable(validated, head_tree)
        if reused is not None:
            return reused, why
        source = f"validated again: {why}"
    else:
        source = ""
    step("validating gitops/ at the head")
    return validate(head_tree), source


def gate_pull_request(
    root: Path,
    *,
    base: str,
    head: str,
    out: Path,
    step: Callable[[str], None] = lambda _: None,
    record: bool = True,
    validated: Path | None = None,
    html: bool = True,
) -> PullRequestVerdict:
    repo = Repo(root)
    base, head = repo.resolve(base), repo.resolve(head)
    changed = repo.changed_paths(base, head, ".")
    folders = tuple(prefix.rstrip("/") for prefix in JUDGED)
    with revision_trees(repo, base, head, folders=folders) as (base_tree, head_tree):
        leaving = before_rendering(head_tree)
        # Nothing the gate reads changed, and nothing under gitops/ reads beyond it: nothing to gate.
        if not any(path.startswith(JUDGED) for path in changed) and not leaving:
            return PullRequestVerdict(None, ())
        if leaving:  # what the clusters would apply cannot be rendered from gitops/: blocked, named
            return PullRequestVerdict(
                Validation(leaving, 0, rendered={}), (), "", other_changes(changed, set())
            )
        if refused := before_rendering(base_tree):  # a pull request may target any branch as its base
            raise InputError(f"the base {base[:12]}: {refused[0]}: the gate renders no such tree")
        _check_policy_files(head_tree, changed)
        replace_folder(head_tree, POLICIES, source=base_tree)
        validation, source = _validation(head_tree, validated, step)
        step("rendering the base")
        # The base renders what it defines, what the clusters serve now; the head, every environment
        # either side defines, so a release changed under a file the head dropped is still gated.
        base_rendered = render_environments(base_tree)
        head_rendered = {k: v for k, v in validation.rendered.items() if k != BOOTSTRAP}
        # A reused validation keeps findings, not objects; a validation renders the head's files only.
        unrendered = [name for name in judged_environments(base_tree, head_tree) if name not in head_rendered]
        if unrendered:
            step("rendering the head")
            head_rendered |= render_environments(head_tree, unrendered)
        base_served, head_served = _served(base_rendered), _served(head_rendered)
        judging = Judging(
            repo, base, base_tree, base_served, head_served, out, record=record, html=html, step=step
        )
        verdicts: list[ReleaseVerdict] = []
        for env in sorted(head_served):
            for change in release_changes(base_served.get(env, {}), head_served[env]):
                champion = base_served.get(env, {}).get((change.model, STABLE))
                verdicts.append(
                    gate_release_change(change, champion.release if champion else None, judging=judging)
                )
        releases = (base_served, head_served)
        verdicts += _traffic_verdicts((base_rendered, head_rendered), releases, _gated(verdicts))
        verdicts += _removed(base_served, head_served)
    return PullRequestVerdict(validation, tuple(verdicts), source, other_changes(changed, _gated(verdicts)))
