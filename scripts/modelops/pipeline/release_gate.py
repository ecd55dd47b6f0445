"""Gate one release a pull request changes: pin, ladder, and every model gate, with the base's policies.

The release is what the head renders (its version and digest annotations and its storageUri),
the champion what the base renders on the stable track. Policies come from the base tree: a pull
request cannot relax the thresholds, the trusted types or the evaluation set it is judged by.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import Any

from modelops.config import load_environment, load_model_policy
from modelops.errors import InputError, PolicyRefusal
from modelops.gates.result import GateResult
from modelops.gitops.releases.promotion import check_ladder
from modelops.gitops.releases.registered import resolve_release
from modelops.gitops.releases.transitions import Release
from modelops.gitops.rendering.served import STABLE, ReleaseChange, Served
from modelops.gitops.repository import layout
from modelops.gitops.repository.gitrepo import Repo
from modelops.gitops.repository.overlay_files import read_state
from modelops.pipeline.gate_run import GateRequest, run_gate
from modelops.pipeline.outcome import GateOutcome
from modelops.pipeline.publish import Published, publish


@dataclass(frozen=True)
class ReleaseVerdict:
    model: str
    environment: str
    _: KW_ONLY
    challenger: str
    champion: str | None
    passed: bool
    reasons: tuple[str, ...]
    report_dir: Path | None = None
    published: Published | None = None
    no_champion: str = ""  # why no champion was compared, when none was
    change: str = ""  # what changed in the rendered release: "new", or the serving spec's fields

    def to_dict(self) -> dict[str, Any]:
        """What verdict.json and `--json` say of this release."""
        return {
            "model": self.model,
            "environment": self.environment,
            "challenger": self.challenger,
            "champion": self.champion,
            **({"no_champion": self.no_champion} if self.no_champion else {}),
            "change": self.change,
            "passed": self.passed,
            "reasons": list(self.reasons),
            "report": str(self.report_dir / "report.md") if self.report_dir else None,
        }


@dataclass(frozen=True)
class Judging:
    """What every release of one pull request is judged with."""

    repo: Repo
    base: str  # the base commit: the overlays' history is read up to it
    policy_root: Path  # the base's files: environments/*.yaml and policies/ as merged
    # Environment -> what the base and the head serve; the ladder reads one of them (ladder_served).
    base_served: Mapping[str, Mapping[tuple[str, str], Served]]
    head_served: Mapping[str, Mapping[tuple[str, str], Served]]
    out: Path
    record: bool = False
    html: bool = True
    step: Callable[[str], None] = lambda _: None

    @property
    def ladder_served(self) -> Mapping[str, Mapping[tuple[str, str], Served]]:
        """Where a release must already run in the environment before its own.

        A pull request climbs from what its base serves, as merged: one pull request cannot climb two
        rungs (pin a version in dev and staging at once, with a `gate.dev` tag anyone who registers
        versions can set). Recording judges every merge since the last record in one range, each
        already gated on its own base: there, a dev merge and the staging merge after it may share
        the range, and the head's environment before is the one to read."""
        return self.head_served if self.record else self.base_served


def pin_problems(pinned: Release, registered: Release) -> list[str]:
    """What differs between the release a cluster will serve and the one the registry holds."""
    problems = []
    if pinned.digest != registered.digest:
        problems.append(f"pinned digest {pinned.digest} is not the registry's {registered.digest}")
    if pinned.storage_uri != registered.storage_uri:
        problems.append(
            f"pinned storageUri {pinned.storage_uri} is not the registry's {registered.storage_uri}"
        )
    return problems


def was_stable_before(repo: Repo, base: str, *, model: str, environment: str, release: Release) -> bool:
    """Did this overlay serve `release` as stable at some earlier revision? (A rollback returns there.)

    Only the base branch's own line counts (`--first-parent`): what was merged is what ran. A commit
    inside a merged branch never served anything, so it cannot make a release look like a rollback.
    """
    path = layout.overlay_file(model, environment, layout.RELEASE)
    for revision in repo.revisions_touching(path, base, first_parent=True):
        texts = repo.texts_at(revision, str(layout.overlay_dir(model, environment)))
        if path in texts and read_state(texts, model, environment).stable == release:
            return True
    return False


def without_champion(change: ReleaseChange, champion: Release | None, *, rollback: bool) -> str:
    """Why this release is compared with no champion ("" when it is compared with one)."""
    release, environment = change.head.release, change.environment
    if rollback:
        # Judging it against the release being backed out would block the way back.
        return f"a rollback to v{release.version}, which served {environment} before"
    if champion is None:
        return "first release"
    if champion.version == release.version:
        # (Another digest for the same version is refused before: gate_release_change.)
        if champion.storage_uri != release.storage_uri:
            return f"v{release.version} already serves {environment}: only its pin changed"
        return f"v{release.version} already serves {environment}: its serving spec changed"
    return ""


def with_repository_checks(outcome: GateOutcome, pins: list[str], ladder_refusal: str | None) -> GateOutcome:
    """The gate's outcome plus what only the repository shows, so every report says the same.

    The pin compares the rendered release with the registry. The full ladder check (the version
    serves the previous environment, Judging.ladder_served, and passed its gate there) replaces the
    gate's own, which only reads the previous gate's tag.
    """
    results = [r for r in outcome.results if not (ladder_refusal and r.gate == "ladder")]
    if ladder_refusal:
        results.insert(0, GateResult("ladder", False, (ladder_refusal,)))
    results.insert(0, GateResult("pin", not pins, tuple(pins)))
    return dataclasses.replace(outcome, results=tuple(results))


def _refused(change: ReleaseChange, reason: str) -> ReleaseVerdict:
    return ReleaseVerdict(
        change.model,
        change.environment,
        challenger=change.head.release.version or "unversioned",
        champion=None,
        passed=False,
        reasons=(reason,),
        change=", ".join(change.fields),
    )


def _policy_refusal(change: ReleaseChange, policy_root: Path) -> str | None:
    """Why the base has no policy to judge this release by, or None."""
    try:
        load_environment(change.environment, root=policy_root)
    except InputError:
        return (
            f"environment {change.environment} has no environments/{change.environment}.yaml at the base: "
            "its releases are gated once that file is merged"
        )
    try:
        load_model_policy(change.model, root=policy_root)
    except InputError as error:
        return f"no usable model policy for {change.model} at the base ({error}): merge the policy first"
    return None


def gate_release_change(
    change: ReleaseChange, champion: Release | None, *, judging: Judging
) -> ReleaseVerdict:
    release, model, environment = change.head.release, change.model, change.environment
    if not release.version.isdigit():
        return _refused(change, f"{layout.VERSION_ANNOTATION} names no registered version")
    if refusal := _policy_refusal(change, judging.policy_root):
        return _refused(change, refusal)
    if champion and champion.version == release.version and champion.digest != release.digest:
        # The same version with other files: they were overwritten in the store after it was released.
        return _refused(
            change,
            f"v{release.version} serves {environment} as {champion.digest}; this pins it as "
            f"{release.digest}: a registered version's files do not change, so register the new files "
            "as a new version",
        )
    judging.step(f"gating {model} v{release.version} for {environment}")
    registered, version_tags = resolve_release(model, release.version)
    pins = pin_problems(release, registered)
    # The release the base already serves here, served another way: no version climbs the ladder.
    same_release = champion == release
    # A rollback: this release climbed the ladder and served here before; absolute rules still apply.
    rollback = (
        not same_release
        and change.head.track == STABLE
        and was_stable_before(
            judging.repo, judging.base, model=model, environment=environment, release=release
        )
    )
    ladder_refusal = None
    if not (rollback or same_release):
        env = load_environment(environment, root=judging.policy_root)
        previous = env.promotion.requires
        running = (judging.ladder_served.get(previous or "") or {}).get((model, STABLE))
        try:
            check_ladder(
                env,
                model,
                release=release,
                version_tags=version_tags,
                previous_stable=running.release if running else None,
            )
        except PolicyRefusal as refused:
            where = "the head" if judging.record else "the base"
            ladder_refusal = f"{refused} (as {where} has it: a release climbs from where it runs, merged)"
    no_champion = without_champion(change, champion, rollback=rollback)
    champion_version = champion.version if champion and not no_champion else None
    report_dir = judging.out / f"{model}-{environment}-v{release.version}"
    skip_ladder = (
        "a rollback to a release served here before"
        if rollback
        else f"v{release.version} already serves {environment}: no version climbs"
        if same_release
        else ""
    )
    request = GateRequest(
        model,
        release.version,
        environment,
        champion_version,
        judging.policy_root,
        skip_ladder=skip_ladder,
        no_champion=no_champion,
        policy_commit=judging.base,
        candidate_digest=release.digest,
        champion_digest=champion.digest if champion and champion_version else None,
    )
    outcome = with_repository_checks(
        run_gate(request, drift_html=report_dir / "drift.html" if judging.html else None),
        pins,
        ladder_refusal,
    )
    published = publish(outcome, report_dir, record=judging.record)
    return ReleaseVerdict(
        model,
        environment,
        challenger=release.version,
        champion=champion_version,
        passed=outcome.passed,
        reasons=tuple(outcome.reasons),
        report_dir=report_dir,
        published=published,
        no_champion=outcome.no_champion if outcome.champion is None else "",
        change=", ".join(change.fields),
    )
