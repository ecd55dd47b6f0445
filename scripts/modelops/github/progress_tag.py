"""Where a main-branch job last finished, kept as a git tag: `python -m modelops.github.progress_tag`.

`record` and `infra` run one at a time, and GitHub keeps only the newest pending run of a
concurrency group: the ones in between are cancelled and never run. A job that works from the
push's own `github.event.before` would then never see the cancelled pushes' changes (a gate
decision not recorded, a stack not deployed). Instead each job works from a tag it moves only
after it succeeded (`recorded/main`, `deployed/<stack>`), so the next run covers every push since.

    since   --tag T --head H [--first B]  prints the commit to work from (the tag, or B before it exists)
    advance --tag T --head H              moves the tag to H, only forward, refusing a race

Exit 2 with one line when the tag cannot be used (it is not on the head's history, say after a
history rewrite): the job fails closed rather than guessing a range.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from modelops.errors import InputError

ZERO = "0" * 40  # GitHub's `before` for a push that created the branch


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=120, check=False
    )


def _commit(root: Path, revision: str) -> str | None:
    done = _git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    return done.stdout.strip() if done.returncode == 0 else None


def _is_ancestor(root: Path, older: str, newer: str) -> bool:
    return _git(root, "merge-base", "--is-ancestor", older, newer).returncode == 0


def since(root: Path, *, tag: str, head: str, first: str | None) -> str:
    """The commit this run starts from: the tag when it exists, `first` (the push's before) until then.

    When the head is already on the tag's history (a re-run of an older run), the range is empty:
    the head itself.
    """
    head_commit = _commit(root, head)
    if head_commit is None:
        raise InputError(f"--head {head}: no such commit in {root}")
    tagged = _commit(root, f"refs/tags/{tag}")
    if tagged is None:
        if not first or first == ZERO or _commit(root, first) is None:
            raise InputError(f"tag {tag}: missing, and no earlier commit to start from; create it at main")
        return first
    if _is_ancestor(root, head_commit, tagged):
        return head_commit
    if not _is_ancestor(root, tagged, head_commit):
        raise InputError(
            f"tag {tag}: {tagged[:12]} is not on the history of {head_commit[:12]}; move it by hand"
        )
    return tagged


def advance(root: Path, *, tag: str, head: str, remote: str = "origin") -> str | None:
    """Move the tag to `head` on the remote, never backwards; None when it is there or beyond already.

    The push carries a lease on the tag's current value, so a run that read an older tag cannot
    overwrite a newer one.
    """
    head_commit = _commit(root, head)
    if head_commit is None:
        raise InputError(f"--head {head}: no such commit in {root}")
    ls = _git(root, "ls-remote", "--tags", remote, f"refs/tags/{tag}")
    if ls.returncode != 0:
        raise InputError(f"git ls-remote {remote}: {(ls.stderr.strip().splitlines() or ['failed'])[0]}")
    current = ls.stdout.split()[0] if ls.stdout.strip() else ""
    if current and _commit(root, current) is None:
        _git(root, "fetch", "--quiet", remote, f"refs/tags/{tag}")
    if current and _is_ancestor(root, head_commit, current):
        return None
    if current and not _is_ancestor(root, current, head_commit):
        raise InputError(
            f"tag {tag}: {current[:12]} is not on the history of {head_commit[:12]}; move it by hand"
        )
    pushed = _git(
        root, "push", "--quiet", f"--force-with-lease=refs/tags/{tag}:{current}", remote,
        f"{head_commit}:refs/tags/{tag}",
    )  # fmt: skip
    if pushed.returncode != 0:
        raise InputError(f"moving tag {tag}: {(pushed.stderr.strip().splitlines() or ['failed'])[0]}")
    return head_commit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("since", "advance"):
        command = commands.add_parser(name)
        command.add_argument("--tag", required=True)
        command.add_argument("--head", required=True)
        command.add_argument("--root", type=Path, default=Path.cwd())
        if name == "since":
            command.add_argument("--first", default=None, help="where to start while the tag does not exist")
    args = parser.parse_args(argv)
    try:
        if args.command == "since":
            print(since(args.root, tag=args.tag, head=args.head, first=args.first))
        else:
            moved = advance(args.root, tag=args.tag, head=args.head)
            print(f"{args.tag} -> {moved}" if moved else f"{args.tag} already covers {args.head}")
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
