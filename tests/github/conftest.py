"""Fixtures for the workflows' tests."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest


@pytest.fixture()
def recording_gh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A stand-in `gh` on PATH (GitHub's API is not reachable here) that records each call."""
    calls = tmp_path / "calls.jsonl"
    listing = tmp_path / "listing.jsonl"
    listing.write_text("")
    script = tmp_path / "bin" / "gh"
    script.parent.mkdir()
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys\n"
        f"calls, listing = {str(calls)!r}, {str(listing)!r}\n"
        "if sys.argv[1] != 'api':\n"
        "    sys.exit('only `gh api` is stood in for here')\n"
        "stdin = sys.stdin.read() if '--input' in sys.argv else ''\n"
        "open(calls, 'a').write(json.dumps({'args': sys.argv[1:], 'stdin': stdin}) + '\\n')\n"
        "if '--paginate' in sys.argv:\n"
        "    sys.stdout.write(open(listing).read())\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")

    def recorded() -> list[dict]:
        return [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []

    return listing, recorded


@pytest.fixture()
def pr_gh(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in `gh`: logged in, `auth setup-git` a no-op (origin is a local path), PRs recorded."""
    calls = tmp_path / "gh-calls.jsonl"
    script = tmp_path / "gh-bin" / "gh"
    script.parent.mkdir()
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, os, sys\n"
        f"open({str(calls)!r}, 'a').write(json.dumps({{'args': sys.argv[1:], "
        "'token': os.environ.get('GH_TOKEN', '')}) + '\\n')\n"
        "if sys.argv[1:3] == ['pr', 'create']:\n"
        "    print('https://github.com/example-org/modelops-platform/pull/8')\n"
        "elif sys.argv[1] != 'auth':\n"
        "    sys.exit('not stood in for: ' + ' '.join(sys.argv[1:]))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script.parent, calls
