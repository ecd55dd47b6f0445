"""`modelops gate --base REV --head REV`: the pull-request mode CI runs.

Every release that changed between the two revisions is gated: the champion is what the
base revision runs in that environment, the challenger what the head pins. The pinned
artifact must be the registered one, and the promotion ladder must hold. With no
changed release the run is validation only. Any error fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from modelops.config import load_environment
from modelops.errors import InputError, PolicyRefusal
from modelops.gitops import layout, validation_record
from modelops.gitops.gitrepo import Repo
from modelops.gitops.overlay_files import read_state
from modelops.gitops.promotion import check_ladder
from modelops.gitops.releases import resolve_release
from modelops.gitops.state import OverlayState, Release
from modelops.gitops.validate import Validation, validate
from modelops.pipeline.gate_run import GateRequest, run_gate
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
) -> ReleaseVerdict:
    registered, version_tags = resolve_release(model, release.version)
    reasons = _pin_problems(release, registered)
    ladder_refused = False
    rollback = was_stable_before(repo, base, model, environment, release)
    if rollback:
        # A rollback: this release climbed the ladder and served here before. Judging it against
        # the release being backed out would block the way back; absolute rules still apply.
        champion = None
    else:
        try:
            check_ladder(load_environment(environment, root=root), model, release, version_tags, head_texts)
        except PolicyRefusal as refusal:
            reasons.append(str(refusal))
            ladder_refused = True
    report_dir = out / f"{model}-{environment}-v{release.version}"
    champion_version = champion.version if champion and champion.version != release.version else None
    outcome = run_gate(
        GateRequest(model, release.version, environment, champion_version, root, check_ladder=not rollback),
        drift_html=report_dir / "drift.html",
    )
    published = publish(outcome, report_dir, record=record)
    # The full ladder check above already covers the gate's own ladder (the previous gate's tag).
    reasons += [r for r in outcome.reasons if not (ladder_refused and r.startswith("ladder:"))]
    return ReleaseVerdict(
        model,
        environment,
        release.version,
        champion_version,
        outcome.passed and not reasons,
        tuple(reasons),
        report_dir,
        published,
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
        version = head_state.stable.version
        return [
            ReleaseVerdict(
                model,
                environment,
                version,
                version,
                True,
                ("traffic change only: every release is unchanged",),
            )
        ]
    verdicts = []
    for release in changed:
        step(f"gating {model} v{release.version} for {environment}")
        champion = base_state.stable if base_state else None
        verdicts.append(
            _gate_one(repo, root, base, model, environment, release, champion, head_texts, out, record)
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
) -> PullRequestVerdict:
    repo = Repo(root)
    base, head = repo.resolve(base), repo.resolve(head)
    if not base or not head:
        raise InputError("--base and --head must name commits")
    if repo.resolve("HEAD") != head:
        raise InputError(f"the checkout is not --head {head[:12]}: validation reads the working tree")
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
        for verdict in gate_release(repo, root, base, head, model, environment, out, step, record=record)
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
            lines.append(
                f"| {r.model} | {r.environment} | v{r.challenger} | "
                f"{'v' + r.champion if r.champion else 'none'} | {'✅' if r.passed else '❌'} | {reasons} |"
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
                (r.report_dir / "report.md").read_text(),
                "</details>",
            ]
    return "\n".join(lines) + "\n"
