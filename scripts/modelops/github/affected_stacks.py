"""Which Pulumi stacks a change touches, in deploy order: `python -m modelops.github.affected_stacks`.

The infra workflow previews (on a pull request) or deploys (on main) only these stacks. Stacks
are the environments whose `platform.target` is `aws`; the `local` stack targets a developer's
own cluster and is never deployed from CI.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from modelops.config import Environment, project_root
from modelops.config.loader import environments_dir, load_environment
from modelops.errors import InputError

# Paths every stack is built from: the program, its policy pack, its locked dependencies, and
# the parts of gitops/ the program reads (Argo CD's bootstrap, the models' service accounts).
EVERY_STACK = (
    "infra/*",
    "policies/crossguard/*",
    "pyproject.toml",
    "uv.lock",
    "gitops/bootstrap/*",
    "gitops/models/*/base/serviceaccount.yaml",
)


def deploy_order(environments: Iterable[Environment]) -> list[str]:
    """CI-deployed stacks, each after the one its promotion ladder requires (dev, staging, prod)."""
    deployed = {
        e.name: e for e in environments if (e.model_extra or {}).get("platform", {}).get("target") == "aws"
    }

    def depth(name: str) -> int:
        required = deployed[name].promotion.requires
        return 0 if required not in deployed else 1 + depth(required)

    return sorted(deployed, key=lambda name: (depth(name), name))


def affected(changed: Iterable[str], stacks: list[str]) -> list[str]:
    """The stacks among `stacks` (kept in their order) that the changed paths can alter."""
    changed = list(changed)
    if any(fnmatch.fnmatch(path, pattern) for path in changed for pattern in EVERY_STACK):
        return list(stacks)
    return [stack for stack in stacks if f"environments/{stack}.yaml" in changed]


def changed_paths(root: Path, base: str, head: str) -> list[str]:
    done = subprocess.run(
        ["git", "-C", str(root), "diff", "--name-only", f"{base}...{head}"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["failed"])[0]
        raise InputError(f"git diff {base}...{head}: {reason}")
    return done.stdout.splitlines()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="revision before the change")
    parser.add_argument("--head", required=True, help="revision after the change")
    args = parser.parse_args(argv)
    root = project_root()
    try:
        names = sorted(path.stem for path in environments_dir(root).glob("*.yaml"))
        stacks = deploy_order(load_environment(name, root=root) for name in names)
        print(json.dumps(affected(changed_paths(root, args.base, args.head), stacks)))
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
