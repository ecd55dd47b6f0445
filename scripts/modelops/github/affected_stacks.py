"""Which Pulumi stacks a change touches, in deploy order: `python -m modelops.github.affected_stacks`.

The infra workflow previews (on a pull request) or deploys (on main) only these stacks. Stacks
are the shared `registry` stack (when infra/Pulumi.registry.yaml exists) and the environments
whose `platform.target` is `aws`; the `local` stack targets a developer's own cluster and is
never deployed from CI. The registry comes first: every environment reads its outputs through a
StackReference, so an environment deployed before it would read the old ones.

What touches what, beyond the files every stack is built from (EVERY_STACK):
- `environments/<env>.yaml` touches its own stack, and the registry's: the registry program reads
  every `environments/*.yaml` (its `readers` must be exactly the environments on AWS, with their
  repository), so an environment file can change what the registry's `pulumi up` does or refuses.
- `environments/shared/registry.yaml` touches the registry and every environment: most of its
  settings reach an output the environments read (`mlflow_url` from `registry_ingress.hostname`,
  `artifact_key_arn` from the account and region), and telling which ones do not would be a second
  copy of the program.
  Deploying an environment whose inputs did not change is a `pulumi up` with nothing to do.

On main, each stack is compared from its own `deployed/<stack>` tag (modelops.github.progress_tag),
which its deploy job moves only after `pulumi up` succeeded: a push whose run was cancelled, or
a stack whose deploy failed, is still deployed by the next run.
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
from modelops.config.loader import environments_dir, load_environment, read_yaml
from modelops.errors import InputError
from modelops.github.progress_tag import since

DEPLOYED_TAG = "deployed/{stack}"

# The shared registry stack and the settings file its Pulumi config names (infra/Pulumi.registry.yaml;
# the program refuses any other, modelops_infra.settings.REGISTRY_SETTINGS).
REGISTRY = "registry"
REGISTRY_SETTINGS = "environments/shared/registry.yaml"

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


def stack_order(environments: Iterable[Environment], *, registry: bool) -> list[str]:
    """Every CI-deployed stack in deploy order: the registry (when there is one), then the ladder."""
    ladder = deploy_order(environments)
    if REGISTRY in ladder:  # one name, two stacks: the program would load the registry's file for both
        raise InputError(
            f"environments/{REGISTRY}.yaml: {REGISTRY} is the shared stack's name, not an environment's"
        )
    return [REGISTRY, *ladder] if registry else ladder


def affected(changed: Iterable[str], stacks: list[str]) -> list[str]:
    """The stacks among `stacks` (kept in their order) that the changed paths can alter."""
    changed = list(changed)
    if any(fnmatch.fnmatch(path, pattern) for path in changed for pattern in EVERY_STACK):
        return list(stacks)
    if REGISTRY_SETTINGS in changed:  # the environments read its outputs (module docstring)
        return list(stacks)
    return [
        stack
        for stack in stacks
        if f"environments/{stack}.yaml" in changed
        or (stack == REGISTRY and any(_is_environment_file(path) for path in changed))
    ]


def _is_environment_file(path: str) -> bool:
    """`environments/<env>.yaml`, one level only (as every reader globs it); not the shared folder."""
    folder, _, name = path.rpartition("/")
    return folder == "environments" and name.endswith(".yaml")


def has_registry(root: Path) -> bool:
    """Whether the registry stack exists, checked against the settings file its Pulumi config names."""
    path = root / "infra" / f"Pulumi.{REGISTRY}.yaml"
    if not path.is_file():
        return False
    document = read_yaml(path)
    config = document.get("config") if isinstance(document, dict) else None
    named = config.get("modelops:settings") if isinstance(config, dict) else None
    if named != REGISTRY_SETTINGS:
        raise InputError(f"{path}: field 'config.modelops:settings' is {named!r}, not {REGISTRY_SETTINGS}")
    return True


def affected_since_deployed(root: Path, stacks: list[str], *, head: str, first: str | None) -> list[str]:
    """The stacks whose own last deployed commit is behind a change that can alter them."""
    return [
        stack
        for stack in stacks
        if affected(
            changed_paths(
                root, since(root, tag=DEPLOYED_TAG.format(stack=stack), head=head, first=first), head
            ),
            [stack],
        )
    ]


def changed_paths(root: Path, base: str, head: str) -> list[str]:
    done = subprocess.run(
        # --no-renames: a file moved out of a watched folder is named by its old path too.
        ["git", "-C", str(root), "diff", "--name-only", "--no-renames", f"{base}...{head}"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["failed"])[0]
        raise InputError(f"git diff {base}...{head}: {reason}")
    return done.stdout.splitlines()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="revision before the change (a pull request's base)")
    parser.add_argument("--head", required=True, help="revision after the change")
    parser.add_argument(
        "--since-deployed",
        action="store_true",
        help="compare each stack from its deployed/<stack> tag (main); --base is used until the tag exists",
    )
    args = parser.parse_args(argv)
    if not args.since_deployed and not args.base:
        parser.error("--base is required without --since-deployed")
    root = project_root()
    try:
        names = sorted(path.stem for path in environments_dir(root).glob("*.yaml"))
        stacks = stack_order(
            (load_environment(name, root=root) for name in names), registry=has_registry(root)
        )
        if args.since_deployed:
            found = affected_since_deployed(root, stacks, head=args.head, first=args.base)
        else:
            found = affected(changed_paths(root, args.base, args.head), stacks)
        print(json.dumps(found))
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
