"""A stand-in `gh` for the workflows' tests (GitHub's API is not reachable here).

It keeps the pull requests it opened, lists the open ones, and can be made to fail `pr create` as
the API sometimes does. Run as `python3 stand_in_github.py <state folder> <gh arguments...>`; every
call is recorded with the token it was given.

`gh api` answers the REST calls the repository settings and the gate's verdict use (teams, users,
branch protection, environments with their deployment branch policies and variables, commit statuses)
from a state it keeps in `api.json`, records each request's method, path and body, and refuses with
GitHub's 403 any path `refuse(...)` names.
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

    def api_state(self) -> dict:
        path = self.state / "api.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def set_api_state(self, **values: object) -> None:
        (self.state / "api.json").write_text(json.dumps({**self.api_state(), **values}))

    def refuse(self, *paths: str) -> None:
        """Answer 403 to any `gh api` call whose path contains one of `paths`."""
        self.set_api_state(refuse=list(paths))

    def requests(self) -> list[tuple[str, str, object]]:
        """The `gh api` calls made: (method, path, body or None)."""
        found = []
        for call in self.recorded():
            args = call["args"]
            if args[:1] == ["api"]:
                method = args[args.index("--method") + 1] if "--method" in args else "GET"
                found.append((method, args[-3] if "--input" in args else args[-1], call.get("body")))
        return found

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
    body = json.loads(sys.stdin.read() or "null") if "--input" in args else None
    with (state / "calls.jsonl").open("a") as calls:
        calls.write(
            json.dumps(
                {"args": args, "token": os.environ.get("GH_TOKEN", ""), "failed": failing, "body": body}
            )
            + "\n"
        )
    if args[:1] == ["api"]:
        return _api(state, args, body)
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


def _api(state: Path, args: list[str], body: object) -> int | str:
    """The REST calls of modelops.github.repository_settings, as GitHub answers them."""
    method = args[args.index("--method") + 1] if "--method" in args else "GET"
    path = (args[-3] if "--input" in args else args[-1]).split("?", 1)[0]
    stored = state / "api.json"
    api = json.loads(stored.read_text()) if stored.exists() else {}
    if any(refused in path for refused in api.get("refuse", [])):
        return "gh: Resource not accessible by integration (HTTP 403)"
    parts = path.strip("/").split("/")
    answer: object = None
    if method == "GET" and parts[:1] == ["orgs"] and parts[2:3] == ["teams"]:
        if parts[3] not in api.get("teams", {}):
            return "gh: Not Found (HTTP 404)"
        answer = {"id": api["teams"][parts[3]], "slug": parts[3]}
    elif method == "GET" and parts[:1] == ["users"]:
        if parts[1] not in api.get("users", {}):
            return "gh: Not Found (HTTP 404)"
        answer = {"id": api["users"][parts[1]], "login": parts[1]}
    elif method == "PUT" and parts[3:] == ["branches", "main", "protection"]:
        api["protection"] = body
        answer = body
    elif method == "POST" and parts[3:4] == ["statuses"] and len(parts) == 5:
        assert isinstance(body, dict)
        api.setdefault("statuses", {}).setdefault(parts[4], []).append(body)
        answer = {"state": body.get("state"), "context": body.get("context")}
    elif method == "PUT" and parts[3:] == ["actions", "oidc", "customization", "sub"]:
        api["oidc_subject"] = body
    elif "secrets" in parts and method in ("GET", "DELETE"):  # repository's or an environment's
        where = parts[4] if parts[3] == "environments" else "repository"
        names = api.setdefault("secrets", {}).setdefault(where, [])
        if parts[-1] not in names:
            return "gh: Not Found (HTTP 404)"
        if method == "DELETE":
            names.remove(parts[-1])
        else:
            answer = {"name": parts[-1]}
    elif parts[3:4] == ["environments"] and parts[5:6] == ["variables"]:
        environment = parts[4]
        if environment not in api.get("environments", {}):
            return "gh: Not Found (HTTP 404)"
        variables = api.setdefault("variables", {}).setdefault(environment, {})
        if method == "GET" and len(parts) == 7:
            if parts[6] not in variables:
                return "gh: Not Found (HTTP 404)"
            answer = {"name": parts[6], "value": variables[parts[6]]}
        elif method == "POST" and len(parts) == 6:
            assert isinstance(body, dict)
            if body["name"] in variables:
                return "gh: Already exists (HTTP 409)"
            variables[body["name"]] = body["value"]
        elif method == "PATCH" and len(parts) == 7 and parts[6] in variables:
            assert isinstance(body, dict)
            variables[parts[6]] = body["value"]
        else:
            return f"not stood in for: {method} {path}"
    elif parts[3:4] == ["environments"] and len(parts) == 5 and method == "PUT":
        api.setdefault("environments", {})[parts[4]] = body
        answer = {"name": parts[4]}
    elif parts[3:4] == ["environments"] and parts[5:6] == ["deployment-branch-policies"]:
        environment = parts[4]
        if environment not in api.get("environments", {}):
            return "gh: Not Found (HTTP 404)"
        policies = api.setdefault("policies", {}).setdefault(environment, [])
        if method == "GET":
            answer = {"total_count": len(policies), "branch_policies": policies}
        elif method == "POST":
            assert isinstance(body, dict)
            policy = {"id": 1 + max([p["id"] for p in policies] or [100]), **body}
            policies.append(policy)
            answer = policy
        elif method == "DELETE":
            policies[:] = [p for p in policies if str(p["id"]) != parts[6]]
        else:
            return f"not stood in for: {method} {path}"
    else:
        return f"not stood in for: {method} {path}"
    stored.write_text(json.dumps(api))
    if answer is not None:
        print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2:]))
