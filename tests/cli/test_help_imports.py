"""`modelops --help` and every command's --help load none of the data stack.

Each --help runs in a fresh interpreter, through the same `main()` as the console script, which
then names the heavy packages it had imported. The commands are found by walking the app, so a
new command is held to this without a new test. No time is asserted: what is imported decides it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from modelops.bench.cli_help import HEAVY_STACK, command_paths
from modelops.cli import app

PROBE = """
import json, sys
from modelops.cli import main

sys.argv = ["modelops", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    code = exit.code
else:
    code = 0
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(json.loads(sys.stdin.read())))
print("\\n" + json.dumps({"exit": code, "heavy": heavy}))
"""

PATHS = command_paths(app)


def help_run(*path: str) -> tuple[str, dict]:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, *path, "--help"],
        input=json.dumps(sorted(HEAVY_STACK)),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    help_text, _, last = completed.stdout.rstrip().rpartition("\n")
    return help_text, json.loads(last)


def test_the_walk_finds_groups_and_their_commands():
    assert {
        (),
        ("check",),
        ("check", "drift"),
        ("evaluation-set", "pin"),
        ("rollout", "step"),
        ("demo",),
    } <= set(PATHS)


@pytest.mark.parametrize("path", PATHS, ids=lambda path: " ".join(["modelops", *path]))
def test_help_imports_none_of_the_heavy_stack(path):
    help_text, probe = help_run(*path)
    assert probe["exit"] == 0, help_text
    assert "Usage: modelops" in help_text
    assert probe["heavy"] == [], (
        f"`modelops {' '.join(path)} --help` imported {', '.join(probe['heavy'])}: import it inside the "
        "command that needs it, not at the top of a module under modelops/cli/"
    )
