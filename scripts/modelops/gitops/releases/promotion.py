"""promote, rollout and rollback: read the overlay at HEAD, move the state, commit it on a branch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from modelops.config import Environment, load_environment
from modelops.config.environment import RolloutPolicy
from modelops.config.loader import environments_dir
from modelops.errors import InputError, PolicyRefusal
from modelops.gitops.releases import transitions
from modelops.gitops.releases.registered import resolve_release
from modelops.gitops.releases.transitions import OverlayState, Release
from modelops.gitops.repository import layout
from modelops.gitops.repository.gitrepo import Repo
from modelops.gitops.repository.overlay_files import read_state, write_state
from modelops.gitops.repository.pull_request import Proposal
from modelops.registry import tags
from modelops.rollouts import plan_schedule
from modelops.rollouts.plan_schedule import Schedule


def _overlay_texts(repo: Repo, model: str, environment: str) -> dict[str, str]:
    overlay = str(layout.overlay_dir(model, environment))
    if dirty := repo.dirty_paths(overlay):
        raise InputError(f"{dirty[0]}: uncommitted changes; commit or discard them first")
    texts = repo.texts_at("HEAD", str(layout.model_dir(model)))
    if not texts:
        raise InputError(f"{layout.model_dir(model)}: no such model in the repository")
    return texts


def _propose(
    repo: Repo,
    *,
    model: str,
    environment: str,
    branch: str,
    title: str,
    before: OverlayState,
    after: OverlayState,
    texts: dict[str, str],
    why: str,
) -> Proposal:
    changes = write_state(texts, model=model, environment=environment, state=after)
    body = (
        f"{why}\n\n- before: {transitions.describe(before)}\n- after: {transitions.describe(after)}\n"
        + (
            f"- artifact: `{after.stable.storage_uri}`\n- digest: `{after.stable.digest}`\n"
            if not after.candidate
            else f"- candidate artifact: `{after.candidate.storage_uri}`\n"
            f"- digest: `{after.candidate.digest}`\n"
        )
        + "\nMerging releases it; reverting the merge rolls it back."
    )
    base_branch = repo.current_branch()
    if base_branch == "HEAD":  # a detached checkout: the PR goes to the branch Argo CD follows
        base_branch = load_environment(environment, root=repo.root).gitops.target_revision
    commit = repo.commit_on_new_branch(branch, base="HEAD", changes=changes, message=f"{title}\n\n{body}")
    return Proposal(branch, commit, base_branch, title, body, tuple(sorted(changes)))


def next_environment(environment: str, root: Path) -> str:
    load_environment(environment, root=root)  # an unknown name is refused as such
    following = [
        path.stem
        for path in sorted(environments_dir(root).glob("*.yaml"))
        if load_environment(path.stem, root=root).promotion.requires == environment
    ]
    if len(following) != 1:
        raise InputError(f"--from {environment}: {len(following)} environments follow it; name one with --to")
    return following[0]


def check_ladder(
    environment: Environment,
    model: str,
    *,
    release: Release,
    version_tags: dict[str, str],
    previous_stable: Release | None,
) -> None:
    """The version must run as stable in the previous environment and have passed its gate there.

    `previous_stable` is what the previous environment serves (None: it serves no release of `model`).
    """
    previous = environment.promotion.requires
    if previous is None:
        return
    if previous_stable is None or previous_stable.version != release.version:
        running = f"v{previous_stable.version}" if previous_stable else f"no release of {model}"
        raise PolicyRefusal(
            f"{model} v{release.version} cannot go to {environment.name}: {environment.name} requires "
            f"{previous} first, which runs {running}"
        )
    if previous_stable.digest != release.digest:
        raise PolicyRefusal(
            f"{model} v{release.version}: the digest in {previous} differs from the registry's"
        )
    if version_tags.get(tags.gate(previous)) != "passed":
        raise PolicyRefusal(
            f"{model} v{release.version} has not passed the {previous} gate "
            f"(gate.{previous} is {version_tags.get(tags.gate(previous), 'not set')})"
        )


def promote(
    repo: Repo, root: Path, *, model: str, version: str | None, to: str | None, source: str | None
) -> Proposal:
    if source is not None and to is None:
        to = next_environment(source, root)
    if to is None or (version is None and source is None):
        raise InputError(
            "name the version (--version N) and the target (--to ENV), or the source (--from ENV)"
        )
    texts = _overlay_texts(repo, model, to)
    if version is None:
        assert source is not None  # the check above: without a version, a source is named
        version = read_state(texts, model, source).stable.version
    environment = load_environment(to, root=root)
    release, version_tags = resolve_release(model, version)
    previous = environment.promotion.requires
    previous_stable = read_state(texts, model, previous).stable if previous else None
    check_ladder(
        environment, model, release=release, version_tags=version_tags, previous_stable=previous_stable
    )
    where = layout.overlay_file(model, to, layout.RELEASE)
    before = read_state(texts, model, to)
    policy = environment.gitops.rollout
    schedule, plan_text = _plan(repo, root, model=model, environment=to, policy=policy)
    after = transitions.promote(before, release, policy, where=where, plan=schedule)
    mode = "as canary candidate" if after.candidate else "as stable"
    return _propose(
        repo,
        model=model,
        environment=to,
        branch=f"promote/{model}/{to}/v{release.version}",
        title=f"Promote {model} v{release.version} to {to} {mode}",
        before=before,
        after=after,
        texts=texts,
        why=f"Promotes registered version {release.version} of {model} to {to}.{plan_text}",
    )


def _plan(
    repo: Repo, root: Path, *, model: str, environment: str, policy: RolloutPolicy
) -> tuple[Schedule | None, str]:
    """The schedule a canary follows and the pull request's words on it; none for a direct rollout
    or an environment that sets no plan bounds (the policy's steps then)."""
    if policy.strategy != "canary" or policy.plan is None:
        return None, ""
    from modelops.rollouts.plan_io import recommend

    made = recommend(repo, root, model=model, environment=environment).plan
    reasons = "".join(f"\n- {reason}" for reason in made.reasons)
    source = "the policy's schedule" if made.source == "policy" else "learned from the rollout history"
    text = f"\n\nRollout plan ({source}): {made.schedule.describe()}. Why:{reasons}"
    return made.schedule, text


# What `rollout` does besides mirroring a share to the candidate (`shadow`, with its percent).
ROLLOUT_ACTIONS = ("step", "complete", "abort")


def rollout(
    repo: Repo,
    root: Path,
    *,
    model: str,
    environment: str,
    action: str,
    shadow_percent: int | None = None,
    evidence: str = "",
) -> Proposal:
    """Propose one move of a rollout; `evidence` (markdown, e.g. the canary analysis) joins the body."""
    if action not in (*ROLLOUT_ACTIONS, "shadow"):
        raise InputError(f"rollout action must be one of {', '.join(ROLLOUT_ACTIONS)}, not '{action}'")
    if action == "shadow" and not (shadow_percent is not None and 1 <= shadow_percent <= 100):
        raise InputError(f"shadow {shadow_percent}: give a percent from 1 to 100")
    texts = _overlay_texts(repo, model, environment)
    policy = load_environment(environment, root=root).gitops.rollout
    where = layout.overlay_file(model, environment, layout.TRAFFIC)
    before = read_state(texts, model, environment)
    # A step follows the overlay's plan only while the plan is one the environment allows; abort and
    # complete stay possible whatever it says.
    if action == "step" and before.plan and (wrong := plan_schedule.problems(before.plan, policy)):
        raise InputError(f"{where}: rollout plan: {wrong[0]}")
    moves: dict[str, Callable[[], OverlayState]] = {
        "step": lambda: transitions.step(before, policy, where=where),
        "complete": lambda: transitions.complete(before, where=where),
        "abort": lambda: transitions.abort(before, where=where),
        "shadow": lambda: transitions.shadow(before, shadow_percent or 0, where=where),
    }
    after = moves[action]()
    candidate = before.candidate.version if before.candidate else "none"
    label = (
        f"{action}-{after.traffic.candidate or after.traffic.mirror}"
        if action in ("step", "shadow")
        else action
    )
    return _propose(
        repo,
        model=model,
        environment=environment,
        branch=f"rollout/{model}/{environment}/{label}-v{candidate}",
        title=f"Rollout {action} for {model} v{candidate} in {environment}",
        before=before,
        after=after,
        texts=texts,
        why=f"Rollout {action}: {transitions.describe(before)} -> {transitions.describe(after)}."
        + _bake_text(after)
        + (f"\n\n{evidence}" if evidence else ""),
    )


def _bake_text(state: OverlayState) -> str:
    """What the rollout's plan asks of the step it is at: its bake time before the next move."""
    bake = state.plan.bake_at(state.traffic.candidate) if state.plan and state.candidate else None
    if state.plan is None or bake is None:
        return ""
    return (
        f"\n\nThe rollout plan bakes {bake} min at {state.traffic.candidate}% before the next move "
        f"(plan: {state.plan.describe()})."
    )


def previous_stable(repo: Repo, *, model: str, environment: str, current: Release) -> Release:
    """The stable release before the current one, from the overlay's history on this branch.

    Only the branch's own line counts (`--first-parent`): what was merged is what ran.
    """
    path = layout.overlay_file(model, environment, layout.RELEASE)
    history = []
    for revision in reversed(repo.revisions_touching(path, first_parent=True)):
        texts = repo.texts_at(revision, str(layout.overlay_dir(model, environment)))
        if path in texts:
            history.append(read_state(texts, model, environment).stable)
    lineage = transitions.stable_lineage([*history, current])
    if len(lineage) < 2:
        raise InputError(f"{path}: no earlier stable release in its history to roll back to")
    return lineage[-2]


def rollback(repo: Repo, root: Path, *, model: str, environment: str) -> Proposal:
    texts = _overlay_texts(repo, model, environment)
    before = read_state(texts, model, environment)
    previous = previous_stable(repo, model=model, environment=environment, current=before.stable)
    after = transitions.rollback(
        before, previous, where=layout.overlay_file(model, environment, layout.RELEASE)
    )
    return _propose(
        repo,
        model=model,
        environment=environment,
        branch=f"rollback/{model}/{environment}/v{previous.version}",
        title=f"Roll back {model} in {environment} to v{previous.version}",
        before=before,
        after=after,
        texts=texts,
        why=f"Restores v{previous.version}, the stable release before v{before.stable.version}.",
    )
