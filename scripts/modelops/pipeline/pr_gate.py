"""`modelops gate --base REV --head REV`: the pull-request mode CI runs.

Every release that changed between the two revisions is gated: the champion is what the
base revision runs in that environment, the challenger what the head pins. The pinned
artifact must be the registered one, and the promotion ladder must hold. With no
changed release the run is validation only. Any error fails.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from modelops.config import load_environment
from modelops.errors import InputError, PolicyRefusal
from modelops.gates.result import GateResult
from modelops.gitops import layout, validation_record
from modelops.gitops.gitrepo import Repo
from modelops.gitops.overlay_files import read_state
from modelops.gitops.promotion import check_ladder
from modelops.gitops.releases import resolve_release
from modelops.gitops.state import OverlayState, Release, describe
from modelops.gitops.validate import Validation, validate
from modelops.pipeline.gate_run import GateRequest, run_gate
from modelops.pipeline.outcome import GateOutcome
from modelops.pipeline.publish import Published, publish


@dataclass(frozen=True)
class ReleaseVerdict:
    model: str
    environment: str
    challenger: str
    champion: str | None
    passed: bool
    reasons: tuple[str, ...]
    report_dir: Path | None = None
    published: Published | None = None
    no_champion: str = ""  # why no champion was compared, when none was


@dataclass(frozen=True)
class PullRequestVerdict:
    validation: Validation
    releases: tuple[ReleaseVerdict, ...]
    # Where the validation came from when a record was offered: reused, or why it was run again.
    validation_source: str = ""
    # Changed files under gitops/ that are no release: (path, what they reach). Validated, not gated.
    other_changes: tuple[tuple[str, str], ...] = ()

    @property
    def passed(self) -> bool:
        return self.validation.passed and all(r.passed for r in self.releases)


def changed_releases(repo: Repo, base: str, head: str) -> list[tuple[str, str]]:
    pairs = {layout.parse_overlay_path(p) for p in repo.changed_paths(base, head, "gitops/models")}
    return sorted(pair for pair in pairs if pair is not None)


def reach(path: str) -> str | None:
    """What a changed file under gitops/ reaches (None outside gitops/)."""
    parts = path.split("/")
    if len(parts) < 2 or parts[0] != "gitops" or path.endswith(".md"):
        return None  # outside gitops/, or documentation
    if (overlay := layout.parse_overlay_path(path)) is not None:
        return f"{overlay[0]} in {overlay[1]}"
    if parts[1] == "models" and len(parts) >= 4:
        return f"every environment of {parts[2]}"
    if parts[1] == "environments" and len(parts) >= 4:
        return f"everything in {parts[2]}"
    if parts[1] == "bootstrap":
        return "Argo CD's projects and applications"
    return "gitops/ as a whole"


def other_changes(
    repo: Repo, base: str, head: str, gated: set[tuple[str, str]]
) -> tuple[tuple[str, str], ...]:
    """Changed files under gitops/ that no gated release covers: a base or a component reaches
    prod too, and an overlay edit that changes no release (replicas, resources) is no release."""
    changes = []
    for path in repo.changed_paths(base, head, "gitops"):
        where = reach(path)
        if where is not None and layout.parse_overlay_path(path) not in gated:
            changes.append((path, where))
    return tuple(changes)


def _pin_problems(pinned: Release, registered: Release) -> list[str]:
    problems = []
    if pinned.digest != registered.digest:
        problems.append(f"pinned digest {pinned.digest} is not the registry's {registered.digest}")
    if pinned.storage_uri != registered.storage_uri:
        problems.append(
            f"pinned storageUri {pinned.storage_uri} is not the registry's {registered.storage_uri}"
        )
    return problems


def releases_to_gate(base: OverlayState | None, head: OverlayState) -> list[Release]:
    """Head releases that differ from base's on the same track: version, digest or location."""
    changed = []
    if base is None or head.stable != base.stable:
        changed.append(head.stable)
    if head.candidate is not None and (base is None or head.candidate != base.candidate):
        changed.append(head.candidate)
    return changed


def was_stable_before(repo: Repo, base: str, model: str, environment: str, release: Release) -> bool:
    """Did this overlay serve `release` as stable at some earlier revision? (A rollback returns there.)"""
    path = layout.overlay_file(model, environment, layout.RELEASE)
    for revision in repo.revisions_touching(path, base):
        texts = repo.texts_at(revision, str(layout.overlay_dir(model, environment)))
        if path in texts and read_state(texts, model, environment).stable == release:
            return True
    return False


def _without_champion(champion: Release | None, release: Release, rollback: bool, environment: str) -> str:
    """Why this release is compared with no champion ("" when it is compared with one)."""
    if rollback:
        # Judging it against the release being backed out would block the way back.
        return f"a rollback to v{release.version}, which served {environment} before"
    if champion is None:
        return "first release"
    if champion.version == release.version:
        return f"v{release.version} already serves {environment}: only its pin changed"
    return ""


def _with_repository_checks(
    outcome: GateOutcome, pin_problems: list[str], ladder_refusal: str | None
) -> GateOutcome:
    """The gate's outcome plus what only the repository shows, so every report says the same.

    The pin compares the overlay with the registry. The full ladder check (the version serves the
    previous environment at head, and passed its gate there) replaces the gate's own, which only
    reads the previous gate's tag.
    """
    results = [r for r in outcome.results if not (ladder_refusal and r.gate == "ladder")]
    if ladder_refusal:
        results.insert(0, GateResult("ladder", False, (ladder_refusal,)))
    results.insert(0, GateResult("pin", not pin_problems, tuple(pin_problems)))
    return dataclasses.replace(outcome, results=tuple(results))


def _gate_one(
    repo: Repo,
    root: Path,
    base: str,
    model: str,
    environment: str,
    release: Release,
    champion: Release | None,
    head_texts: dict[str, str],
    out: Path,
    record: bool,
    html: bool = True,
) -> ReleaseVerdict:
    registered, version_tags = resolve_release(model, release.version)
    pin_problems = _pin_problems(release, registered)
    ladder_refusal = None
    # A rollback: this release climbed the ladder and served here before; absolute rules still apply.
    rollback = was_stable_before(repo, base, model, environment, release)
    if not rollback:
        try:
            check_ladder(load_environment(environment, root=root), model, release, version_tags, head_texts)
        except PolicyRefusal as refusal:
            ladder_refusal = str(refusal)
    no_champion = _without_champion(champion, release, rollback, environment)
    champion_version = champion.version if champion and not no_champion else None
    report_dir = out / f"{model}-{environment}-v{release.version}"
    request = GateRequest(
        model, release.version, environment, champion_version, root, check_ladder=not rollback,
        no_champion=no_champion,
    )  # fmt: skip
    outcome = _with_repository_checks(
        run_gate(request, drift_html=report_dir / "drift.html" if html else None),
        pin_problems,
        ladder_refusal,
    )
    published = publish(outcome, report_dir, record=record)
    return ReleaseVerdict(
        model,
        environment,
        release.version,
        champion_version,
        outcome.passed,
        tuple(outcome.reasons),
        report_dir,
        published,
        outcome.no_champion if outcome.champion is None else "",
    )


def gate_release(
    repo: Repo,
    root: Path,
    base: str,
    head: str,
    model: str,
    environment: str,
    out: Path,
    step: Callable[[str], None],
    *,
    record: bool = True,
    html: bool = True,
) -> list[ReleaseVerdict]:
    base_texts = repo.texts_at(base, str(layout.model_dir(model)))
    head_texts = repo.texts_at(head, str(layout.model_dir(model)))
    release_path = layout.overlay_file(model, environment, layout.RELEASE)
    if release_path not in head_texts:
        return [
            ReleaseVerdict(model, environment, "removed", None, True, ("overlay removed: nothing to gate",))
        ]
    head_state = read_state(head_texts, model, environment)
    base_state = read_state(base_texts, model, environment) if release_path in base_texts else None
    changed = releases_to_gate(base_state, head_state)
    if not changed:
        # Weights moved between releases that were gated when they entered: name them and the split.
        moved = head_state.candidate or head_state.stable
        assert base_state is not None  # without a base, head's stable release is a change
        change = f"{describe(base_state)} -> {describe(head_state)}"
        return [
            ReleaseVerdict(
                model,
                environment,
                moved.version,
                head_state.stable.version,
                True,
                (f"traffic change only, no release changed: {change}",),
            )
        ]
    verdicts = []
    for release in changed:
        step(f"gating {model} v{release.version} for {environment}")
        champion = base_state.stable if base_state else None
        verdicts.append(
            _gate_one(repo, root, base, model, environment, release, champion, head_texts, out, record, html)
        )
    return verdicts


def gate_pull_request(
    root: Path,
    base: str,
    head: str,
    out: Path,
    *,
    step: Callable[[str], None] = lambda _: None,
    record: bool = True,
    validated: Path | None = None,
    html: bool = True,
) -> PullRequestVerdict:
    repo = Repo(root)
    base, head = repo.resolve(base), repo.resolve(head)
    if repo.resolve("HEAD") != head:
        raise InputError(f"the checkout is not --head {head[:12]}: validation reads the working tree")
    # Validation reads these folders from the working tree: an edit there is not what --head says.
    for folder in validation_record.REPOSITORY_INPUTS:
        if dirty := repo.dirty_paths(folder):
            raise InputError(f"{dirty[0]}: uncommitted changes; the gate judges --head as committed")
    validation, source = None, ""
    if validated is not None:
        validation, why = validation_record.reusable(validated, root)
        source = why if validation is not None else f"validated again: {why}"
    if validation is None:
        step("validating gitops/")
        validation = validate(root)
    verdicts = tuple(
        verdict
        for model, environment in changed_releases(repo, base, head)
        for verdict in gate_release(
            repo, root, base, head, model, environment, out, step, record=record, html=html
        )
    )
    gated = {(v.model, v.environment) for v in verdicts}
    return PullRequestVerdict(validation, verdicts, source, other_changes(repo, base, head, gated))


def render_pull_request_report(verdict: PullRequestVerdict) -> str:
    mark = "✅" if verdict.passed else "❌"
    lines = [f"## {mark} Promotion gate: {'PASSED' if verdict.passed else 'BLOCKED'}", ""]
    if not verdict.releases:
        lines += ["No release changed: validation only.", ""]
    else:
        lines += [
            "| model | environment | challenger | champion | result | reasons |",
            "|---|---|---|---|---|---|",
        ]
        for r in verdict.releases:
            reasons = "; ".join(r.reasons).replace("|", "\\|") or "—"
            champion = (
                f"v{r.champion}" if r.champion else f"none ({r.no_champion})" if r.no_champion else "none"
            )
            lines.append(
                f"| {r.model} | {r.environment} | v{r.challenger} | "
                f"{champion} | {'✅' if r.passed else '❌'} | {reasons} |"
            )
        lines.append("")
    validation = verdict.validation
    source = f" ({verdict.validation_source})" if verdict.validation_source else ""
    lines.append(
        f"Validation{source}: {validation.objects} rendered objects, "
        f"{'no problems' if validation.passed else f'{len(validation.findings)} problem(s)'}."
    )
    lines += [f"- `{f.where}`: {f.message}" for f in validation.findings]
    if verdict.other_changes:
        lines += ["", "Changed besides releases (validated above; not gated, as no release changed there):"]
        lines += [f"- `{path}`: reaches {where}" for path, where in verdict.other_changes]
    for r in verdict.releases:
        if r.report_dir is not None and (r.report_dir / "report.md").is_file():
            lines += [
                "",
                "<details><summary>" + f"{r.model} v{r.challenger} → {r.environment}" + "</summary>",
                "",
                f"Files of this release's gate: `{r.report_dir.name}/` beside this report.",
                "",
                (r.report_dir / "report.md").read_text(),
                "</details>",
            ]
    return "\n".join(lines) + "\n"
