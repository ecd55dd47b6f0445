"""The progress tags `record` and `infra` work from: where the last successful run finished."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from modelops.errors import InputError
from modelops.github.progress_tag import ZERO, advance, main, since
from tests.gitops.conftest import git

TAG = "recorded/main"


def _commit(root: Path, name: str) -> str:
    (root / f"{name}.txt").write_text(name)
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", name)
    return git(root, "rev-parse", "HEAD").strip()


@pytest.fixture()
def clone(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """An origin with three commits on main and a job's clone of it."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "--quiet", "--initial-branch=main")
    git(origin, "config", "user.email", "t@example.org")
    git(origin, "config", "user.name", "T")
    commits = [_commit(origin, name) for name in ("one", "two", "three")]
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "--quiet", str(origin), str(work)], check=True)
    return origin, work, commits


def _tag_at(origin: Path) -> str:
    return git(origin, "rev-parse", f"refs/tags/{TAG}").strip()


def test_without_the_tag_the_run_starts_from_the_pushs_before(clone):
    _, work, (_, two, three) = clone
    assert since(work, tag=TAG, head=three, first=two) == two


def test_without_the_tag_and_without_a_before_the_run_refuses_to_guess(clone):
    _, work, (_, _, three) = clone
    for first in (None, "", ZERO, "f" * 40):
        with pytest.raises(InputError, match="tag recorded/main: missing"):
            since(work, tag=TAG, head=three, first=first)


def test_the_tag_wins_over_the_pushs_before_so_a_cancelled_push_is_covered(clone):
    origin, work, (one, two, three) = clone
    git(origin, "tag", TAG, one)
    git(work, "fetch", "--quiet", "--tags")
    # The push of `two` was cancelled; the run for `three` has before=two but starts from the tag.
    assert since(work, tag=TAG, head=three, first=two) == one


def test_a_rerun_of_an_older_run_has_nothing_left_to_do(clone):
    origin, work, (one, two, three) = clone
    git(origin, "tag", TAG, three)
    git(work, "fetch", "--quiet", "--tags")
    assert since(work, tag=TAG, head=two, first=one) == two  # an empty range: head..head


def test_a_tag_off_the_heads_history_fails_closed(clone):
    origin, work, (one, _, three) = clone
    git(origin, "checkout", "--quiet", "-b", "rewritten", one)
    elsewhere = _commit(origin, "elsewhere")
    git(origin, "tag", TAG, elsewhere)
    git(work, "fetch", "--quiet", "--tags")
    with pytest.raises(InputError, match="is not on the history of"):
        since(work, tag=TAG, head=three, first=one)
    with pytest.raises(InputError, match="is not on the history of"):
        advance(work, tag=TAG, head=three)
    assert _tag_at(origin) == elsewhere


def test_advance_moves_the_tag_forward_only(clone):
    origin, work, (one, two, three) = clone
    assert advance(work, tag=TAG, head=two) == two
    assert _tag_at(origin) == two
    assert advance(work, tag=TAG, head=one) is None  # an older run finishing late: stays
    assert _tag_at(origin) == two
    assert advance(work, tag=TAG, head=three) == three
    assert _tag_at(origin) == three


def test_advance_refuses_to_overwrite_a_tag_moved_since_it_was_read(clone, monkeypatch):
    origin, work, (one, two, three) = clone
    git(origin, "tag", TAG, one)
    # Another run moves the tag between this run's read and its push: the lease refuses the push.
    real_run = subprocess.run

    def racing(command, *args, **kwargs):
        if "push" in command:
            git(origin, "tag", "--force", TAG, two)
        return real_run(command, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", racing)
    with pytest.raises(InputError, match="moving tag recorded/main"):
        advance(work, tag=TAG, head=three)
    monkeypatch.undo()
    assert _tag_at(origin) == two


def test_the_command_prints_one_line_and_exits_2_on_unusable_input(clone, capsys):
    _, work, (_, two, three) = clone
    assert main(["since", "--tag", TAG, "--head", three, "--first", two, "--root", str(work)]) == 0
    assert capsys.readouterr().out.strip() == two
    assert main(["since", "--tag", TAG, "--head", "nope", "--root", str(work)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("error: --head nope")
