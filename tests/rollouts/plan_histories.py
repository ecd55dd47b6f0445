"""Synthetic rollout histories with known answers: overlay states along a branch, one a commit."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from modelops.config import load_environment
from modelops.config.environment import RolloutPolicy
from modelops.gitops.releases.transitions import OverlayState, Release, Traffic
from modelops.rollouts.history import ModelHistory, Revision, history
from tests.conftest import REPO_ROOT

DAY = 86_400.0
NOW = 1_800_000_000.0  # 2027-01-15: every synthetic history ends before it


def prod_policy() -> RolloutPolicy:
    """The committed prod policy: the tests hold its numbers to the answers the issue asks for."""
    return load_environment("prod", root=REPO_ROOT).gitops.rollout


def release(version: str) -> Release:
    return Release(
        version,
        f"s3://bucket/{version}/models/m-{int(version):032x}/artifacts",
        f"sha256:{int(version):064x}",
    )


class Timeline:
    """What an overlay held at each commit of its branch, built one rollout at a time."""

    def __init__(self, *, start: float = NOW - 400 * DAY) -> None:
        self.time = start
        self.stable = release("1")
        self.next_version = 2
        self.revisions: list[Revision] = []
        self.candidates: list[Release] = []
        self.commit(OverlayState(self.stable))

    def commit(self, state: OverlayState, *, hours: float = 2.0) -> None:
        self.time += hours * 3600
        self.revisions.append(Revision(f"{len(self.revisions):040x}", self.time, state))

    def rollout(
        self,
        end: str = "complete",
        *,
        steps: Sequence[int] = (10, 25, 50),
        at: float | None = None,
    ) -> Release:
        """One rollout through `steps`, ending in complete, abort (at the last step given) or
        rollback (completed, then the old stable restored); `at` is when it ends."""
        if at is not None:  # each commit comes two hours after the one before
            self.time = at - 2 * 3600 * (len(steps) + 1 + (end == "rollback"))
        candidate = release(str(self.next_version))
        self.next_version += 1
        self.candidates.append(candidate)
        for share in steps:
            self.commit(OverlayState(self.stable, candidate, Traffic(100 - share, share)))
        if end == "abort":
            self.commit(OverlayState(self.stable))
        elif end in ("complete", "rollback"):
            previous, self.stable = self.stable, candidate
            self.commit(OverlayState(candidate))
            if end == "rollback":
                self.stable = previous
                self.commit(OverlayState(previous))
        self.time += 2 * DAY
        return candidate

    def gated(self) -> set[tuple[str, str]]:
        return {(c.version, c.digest) for c in self.candidates}

    def history(self, model: str = "m", **overrides) -> ModelHistory:
        arguments = {"revisions": self.revisions, "records": (), "gated": self.gated(), **overrides}
        return history(model, "prod", **arguments)


def clean(rollouts: int, *, model: str = "m") -> ModelHistory:
    timeline = Timeline()
    for _ in range(rollouts):
        timeline.rollout()
    return timeline.history(model)


def add_model(root: Path, model: str) -> None:
    """A copy of credit-risk's files under another name, served in every environment."""
    import shutil

    source, target = root / "gitops/models/credit-risk", root / "gitops/models" / model
    shutil.copytree(source, target)
    for path in target.rglob("*.yaml"):
        path.write_text(path.read_text(encoding="utf-8").replace("credit-risk", model), encoding="utf-8")
    for environment in ("local", "dev", "staging", "prod"):
        listing = root / "gitops/environments" / environment / "kustomization.yaml"
        text = listing.read_text(encoding="utf-8")
        line = "  - ../../models/credit-risk/overlays/" + environment + "\n"
        listing.write_text(text.replace(line, line + line.replace("credit-risk", model)), encoding="utf-8")


def git(root: Path, *args: str, when: float | None = None) -> str:
    import os
    import subprocess

    dated = (
        {"GIT_AUTHOR_DATE": f"@{int(when)} +0000", "GIT_COMMITTER_DATE": f"@{int(when)} +0000"}
        if when
        else {}
    )
    done = subprocess.run(
        ["git", "-C", str(root), *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **dated},
    )
    return done.stdout


def commit_state(
    root: Path, model: str, state: OverlayState, *, when: float, message: str, environment: str = "prod"
) -> None:
    """The overlay of `model` in `environment` set to `state`, committed on the current branch at `when`."""
    from modelops.gitops.repository import layout
    from modelops.gitops.repository.overlay_files import write_state

    overlay = root / layout.overlay_dir(model, environment)
    texts = {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in overlay.glob("*.yaml")}
    for path, text in write_state(texts, model=model, environment=environment, state=state).items():
        if text is None:
            (root / path).unlink()
        else:
            (root / path).write_text(text, encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "--allow-empty", "-m", message, when=when)


def commit_timeline(root: Path, model: str, timeline: Timeline) -> None:
    for revision in timeline.revisions:
        commit_state(root, model, revision.state, when=revision.time, message=f"{model}: {revision.state}")


def register(model: str, versions: int, *, gate: dict[str, str] | None = None) -> None:
    """Versions 1..`versions` of `model`, each carrying its synthetic release's digest; `gate` maps a
    version to its `gate.prod` tag (default: passed). Each also passed staging, the rung before prod."""
    import mlflow

    from modelops.registry import tags

    client = mlflow.MlflowClient()
    client.create_registered_model(model)
    for number in range(1, versions + 1):
        pinned = release(str(number))
        said = {
            tags.ARTIFACT_DIGEST: pinned.digest,
            tags.gate("prod"): (gate or {}).get(str(number), "passed"),
            tags.gate("staging"): "passed",
        }
        client.create_model_version(model, source=pinned.storage_uri, tags=said)
