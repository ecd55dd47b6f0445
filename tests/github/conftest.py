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
