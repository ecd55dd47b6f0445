"""A stand-in `gh` for the workflows' tests (GitHub's API is not reachable here).

It keeps the pull requests it opened, lists the open ones, and can be made to fail `pr create` as
the API sometimes does. Run as `python3 stand_in_github.py <state folder> <gh arguments...>`; every
call is recorded with the token it was given.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

URL = "https://github.com/example-org/modelops-platform/pull/{}"


@dataclass(frozen=True)
class StandInGitHub:
    state: Path  # calls.jsonl, pulls.jsonl and, while `pr create` is to fail, a file `failing`

    @property
    def folder(self) -> Path:
        """The folder to put first on PATH."""
        return self.state / "bin"

    @classmethod
    def install(cls, state: Path) -> StandInGitHub:
        stand_in = cls(state)
        stand_in.folder.mkdir(parents=True)
        (state / "pulls.jsonl").write_text("")
        script = stand_in.folder / "gh"
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{__file__}" "{state}" "$@"\n')
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
        return stand_in

    def fail_creating(self, failing: bool = True) -> None:
        (self.state / "failing").write_text("") if failing else (self.state / "failing").unlink()

    def recorded(self) -> list[dict]:
        calls = self.state / "calls.jsonl"
        return [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []

    def created(self) -> list[dict]:
        """The `pr create` calls that opened a pull request."""
        return [
            call for call in self.recorded() if call["args"][:2] == ["pr", "create"] and not call["failed"]
        ]

    def close_all(self) -> None:
        pulls = _pulls(self.state)
        (self.state / "pulls.jsonl").write_text(
            "".join(json.dumps({**p, "state": "CLOSED"}) + "\n" for p in pulls)
        )


def _pulls(state: Path) -> list[dict]:
    return [json.loads(line) for line in (state / "pulls.jsonl").read_text().splitlines()]


def main(state: Path, args: list[str]) -> int | str:
    def option(name: str) -> str | None:
        return args[args.index(name) + 1] if name in args else None

    failing = args[:2] == ["pr", "create"] and (state / "failing").exists()
    with (state / "calls.jsonl").open("a") as calls:
        calls.write(
            json.dumps({"args": args, "token": os.environ.get("GH_TOKEN", ""), "failed": failing}) + "\n"
        )
    pulls = _pulls(state)
    if args[:1] == ["auth"]:  # `auth status`, `auth setup-git` (origin is a local path)
        return 0
    if failing:
        return "pull request create failed: GraphQL: was submitted too quickly (createPullRequest)"
    if args[:2] == ["pr", "create"]:
        with (state / "pulls.jsonl").open("a") as stored:
            stored.write(json.dumps({"head": option("--head"), "state": "OPEN"}) + "\n")
        print(URL.format(8 + len(pulls)))
        return 0
    if args[:2] == ["pr", "list"] and (option("--state"), option("--json"), option("--jq")) == (
        "open",
        "headRefName",
        ".[].headRefName",
    ):
        print("".join(p["head"] + "\n" for p in pulls if p["state"] == "OPEN"), end="")
        return 0
    if args[:2] == ["pr", "merge"] and "--auto" in args:  # recorded above; GitHub merges once checks pass
        return 0
    return "not stood in for: " + " ".join(args)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2:]))
