"""`python -m modelops.bench.gitops_scale`: `modelops validate` on a repository of N models.

Builds a repository of `--models` copies of the credit-risk tree in `--environments`
environments in a temporary folder, then times one full validation of it (rendering, schemas,
the platform's rules) and, side by side, what validation used to include and the policy workflow
now runs after it: plain checkov over the same renders. The target: 300 models in 3 environments
validated in under 10 s on 2 cores.

Wall time depends on what else the machine runs, so each run also reports the CPU time it
used (this process and every process it started), the load average before it and, on a
virtual machine, the CPU time the hypervisor gave to others while it ran ("stolen"): on 2
cores, wall time cannot drop below half the CPU time, and stolen time adds to it.

It also renders the environments both ways side by side: one `kubectl kustomize` call per
environment, and the overlays in groups (what `validate` does; see gitops/rendering/render_plan.py), and
times the full validation both ways.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from modelops.config import project_root
from modelops.gitops.rendering import render_plan
from modelops.gitops.rendering.render import render_each
from modelops.gitops.repository import layout
from modelops.gitops.validation import checkov_tool
from modelops.gitops.validation.validate import validate

TEMPLATE = "credit-risk"


def build_repository(source: Path, target: Path, models: int, environments: list[str]) -> None:
    shutil.copytree(source / "environments", target / "environments")
    for stale in (target / "environments").glob("*.yaml"):
        if stale.stem not in environments:
            stale.unlink()
    shutil.copytree(source / "policies", target / "policies")
    shutil.copytree(source / "gitops" / "bootstrap", target / "gitops" / "bootstrap")
    _list_only(target / "gitops" / "bootstrap" / "applicationset-models.yaml", environments)
    template = source / "gitops" / "models" / TEMPLATE
    names = [f"model-{index:03d}" for index in range(models)]
    for name in names:
        destination = target / "gitops" / "models" / name
        shutil.copytree(template, destination)
        for path in destination.rglob("*.yaml"):
            path.write_text(path.read_text().replace(TEMPLATE, name))
    for environment in environments:
        folder = target / "gitops" / "environments" / environment
        folder.mkdir(parents=True)
        lines = [f"  - ../../models/{name}/overlays/{environment}" for name in names]
        (folder / "kustomization.yaml").write_text(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
            + "\n".join(lines)
            + "\n"
        )


def _list_only(applicationset: Path, environments: list[str]) -> None:
    """The ApplicationSet's generator narrowed to the environment files kept (validation holds the
    list to environments/*.yaml)."""
    kept = {f"environments/{name}.yaml" for name in environments}
    lines = applicationset.read_text().splitlines(keepends=True)
    listed = re.compile(r"\s*- path: (environments/\S+\.yaml)\s*")
    applicationset.write_text(
        "".join(line for line in lines if (m := listed.fullmatch(line)) is None or m.group(1) in kept)
    )


def _cpu_seconds() -> float:
    """User + system time of this process and of every finished process it started (kustomize, checkov)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _stolen_seconds() -> float | None:
    """CPU time the hypervisor has given to other guests since boot (Linux's `steal`), else None."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class _Clock:
    """Wall, CPU and stolen seconds over a block, and the load average before it."""

    def __enter__(self) -> _Clock:
        self.load, self._cpu, self._stolen = os.getloadavg()[0], _cpu_seconds(), _stolen_seconds()
        self._started = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self._started, _cpu_seconds() - self._cpu
        stolen = _stolen_seconds()
        self.stolen = None if stolen is None or self._stolen is None else stolen - self._stolen

    def describe(self) -> str:
        stolen = "" if self.stolen is None else f", {self.stolen:.1f} s stolen"
        return f"{self.wall:.1f} s wall ({self.cpu:.1f} s CPU{stolen}, load before {self.load:.1f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m modelops.bench.gitops_scale", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--models", type=int, default=300)
    parser.add_argument("--environments", default="dev,staging,prod")
    parser.add_argument("--target-seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    console = Console()
    environments = [e for e in args.environments.split(",") if e]
    with tempfile.TemporaryDirectory(prefix="modelops-scale-") as scratch:
        root = Path(scratch)
        started = time.perf_counter()
        build_repository(project_root(), root, args.models, environments)
        built = time.perf_counter() - started
        folders = {name: root / layout.environment_dir(name) for name in environments}
        renders = {}
        for label, grouped in (
            ("one call per environment", False),
            (f"overlays in groups of {render_plan.OVERLAYS_PER_CALL}", True),
        ):
            with _Clock() as clock:
                for _ in render_each(folders, grouped=grouped):
                    pass
            renders[label] = clock
        timings = {}
        for label, grouped in (
            ("render + schemas + rules", True),
            ("render + schemas + rules, one kustomize call per environment", False),
        ):
            with _Clock() as clock:
                result = validate(root, grouped=grouped)
            timings[label] = clock
        kept_renders = root / "kept_renders"
        kept_renders.mkdir()
        with _Clock() as clock:
            validate(root, render_to=kept_renders)
            outcomes = checkov_tool.scan(kept_renders, root=project_root())
        checkov_clock = clock
    console.print(
        f"gitops scale: {args.models} models x {len(environments)} environments, "
        f"{result.objects} rendered objects; repository built in {built:.1f} s (not timed)"
    )
    for label, clock in renders.items():
        console.print(f"  kubectl kustomize, {label}: {clock.describe()}")
    single, grouped_clock = renders.values()
    console.print(f"  grouped / one call: {grouped_clock.cpu / single.cpu:.2f} of the CPU time")
    for label, clock in timings.items():
        verdict = "met" if clock.wall < args.target_seconds else "MISSED"
        console.print(
            f"  modelops validate, {label}: {clock.describe()}; "
            f"target under {args.target_seconds:.0f} s: {verdict}"
        )
    failed = sum(not o.passed for o in outcomes)
    console.print(
        f"  the way it replaces (validate, then plain checkov over the renders): {checkov_clock.describe()}; "
        f"{len(outcomes)} checkov outcomes, {failed} failed"
    )
    first = next(iter(timings.values()))
    console.print(f"  validate / validate + checkov: {first.wall / checkov_clock.wall:.2f} of the wall time")
    console.print(f"  {len(result.findings)} finding(s)")
    for finding in result.findings[:5]:
        console.print(f"  {finding}", highlight=False)
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
