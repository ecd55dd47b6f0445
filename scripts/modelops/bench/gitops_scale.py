"""`python -m modelops.bench.gitops_scale`: `modelops validate` on a repository of N models.

Builds a repository of `--models` copies of the credit-risk tree in `--environments`
environments in a temporary folder, then times one full validation of it (rendering,
schemas, the platform's rules, and checkov where enabled). The target: 300 models in
3 environments in under 20 s on 2 cores.

Wall time depends on what else the machine runs, so each run also reports the CPU time it
used (this process and every process it started) and the load average before it: on 2 cores,
wall time cannot drop below half the CPU time, and a load above 0 means others shared the cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from modelops.config import project_root
from modelops.gitops.validate import validate

TEMPLATE = "credit-risk"


def build_repository(source: Path, target: Path, models: int, environments: list[str]) -> None:
    shutil.copytree(source / "environments", target / "environments")
    for stale in (target / "environments").glob("*.yaml"):
        if stale.stem not in environments:
            stale.unlink()
    shutil.copytree(source / "policies", target / "policies")
    shutil.copytree(source / "gitops" / "bootstrap", target / "gitops" / "bootstrap")
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


def _cpu_seconds() -> float:
    """User + system time of this process and of every finished process it started (kustomize, checkov)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m modelops.bench.gitops_scale", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--models", type=int, default=300)
    parser.add_argument("--environments", default="dev,staging,prod")
    parser.add_argument("--target-seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    console = Console()
    environments = [e for e in args.environments.split(",") if e]
    with tempfile.TemporaryDirectory(prefix="modelops-scale-") as scratch:
        root = Path(scratch)
        started = time.perf_counter()
        build_repository(project_root(), root, args.models, environments)
        built = time.perf_counter() - started
        timings = {}
        for label, with_checkov in (("render + schemas + rules", False), ("the same + checkov", True)):
            load, cpu, started = os.getloadavg()[0], _cpu_seconds(), time.perf_counter()
            result = validate(root, checkov=with_checkov)
            timings[label] = (time.perf_counter() - started, _cpu_seconds() - cpu, load)
    console.print(
        f"gitops scale: {args.models} models x {len(environments)} environments, "
        f"{result.objects} rendered objects; repository built in {built:.1f} s (not timed)"
    )
    for label, (elapsed, cpu, load) in timings.items():
        verdict = "met" if elapsed < args.target_seconds else "MISSED"
        console.print(
            f"  modelops validate, {label}: {elapsed:.1f} s wall ({cpu:.1f} s CPU, load before "
            f"{load:.1f}); target under {args.target_seconds:.0f} s: {verdict}"
        )
    console.print(f"  {len(result.findings)} finding(s)")
    for finding in result.findings[:5]:
        console.print(f"  {finding.where}: {finding.message}", highlight=False)
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
