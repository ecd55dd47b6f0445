"""The git a promotion needs, through the git command line.

A promotion's commit is built with plumbing on a private index (read-tree, hash-object,
write-tree, commit-tree) and only then named as a branch. The working tree, the index
and the current branch are never touched, so a failure at any step leaves the
repository exactly as it was.

Paths are read NUL-separated (`-z`): otherwise git quotes a name with a space or a
non-ASCII character (`"f\\303\\274r.md"`), and the quoted name names no file. Paths given
to git are literal, never glob patterns.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from modelops.errors import InputError

_TIMEOUT_S = 60


@dataclass(frozen=True)
class Repo:
    root: Path

    def git(self, *args: str, stdin: str | None = None, env: Mapping[str, str] | None = None) -> str:
        done = self._run(args, stdin, env)
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()
            # The cause is git's first `fatal:` or `error:` line; advice ("Please make sure...") follows it.
            cause = next((line for line in detail if line.startswith(("fatal:", "error:"))), None)
            raise InputError(f"git {' '.join(args[:2])}: {cause or (detail[-1] if detail else 'failed')}")
        return done.stdout

    def _run(
        self, args: tuple[str, ...], stdin: str | None = None, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                ["git", "-C", str(self.root), *args],
                input=stdin,
                capture_output=True,
                # git's paths are bytes: a name that is not UTF-8 still goes back to git as it came.
                encoding="utf-8",
                errors="surrogateescape",
                timeout=_TIMEOUT_S,
                env={**os.environ, "GIT_LITERAL_PATHSPECS": "1", **(env or {})},
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise InputError(f"git {args[0]}: {error}") from None

    def resolve(self, rev: str) -> str:
        """The commit `rev` names; InputError naming `rev` when it names none."""
        done = self._run(("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"))
        if done.returncode == 1 and not done.stderr.strip():  # --quiet: no such object, nothing said
            raise InputError(f"{rev}: no such commit in {self.root}")
        if done.returncode != 0:
            detail = done.stderr.strip().splitlines()
            raise InputError(f"git rev-parse {rev}: {detail[-1] if detail else 'failed'}")
        return done.stdout.strip()

    def current_branch(self) -> str:
        return self.git("rev-parse", "--abbrev-ref", "HEAD").strip()

    def branches(self) -> list[str]:
        return self.git("for-each-ref", "--format=%(refname:short)", "refs/heads").split()

    def dirty_paths(self, prefix: str) -> list[str]:
        """Paths under `prefix` that differ from HEAD, staged or not, or are untracked; a rename
        counts as its new path and its old one."""
        fields = self.git("status", "--porcelain=v1", "-z", "--", prefix).split("\0")
        paths, position = [], 0
        while position < len(fields) and fields[position]:
            entry = fields[position]
            paths.append(entry[3:])
            if "R" in entry[:2] or "C" in entry[:2]:  # the original path follows as its own field
                position += 1
                paths.append(fields[position])
            position += 1
        return paths

    def texts_at(self, rev: str, prefix: str) -> dict[str, str]:
        """Every file under `prefix` at `rev`, read in one `cat-file --batch` call."""
        blobs = {}
        for entry in self.git("ls-tree", "-r", "-z", rev, "--", prefix).split("\0"):
            if not entry:
                continue
            meta, name = entry.split("\t", 1)  # "<mode> <type> <object>\t<path>"
            _mode, kind, oid = meta.split()
            if kind == "blob":  # not a submodule's commit
                blobs[name] = oid
        if not blobs:
            return {}
        # Asked by object id, so the request never has to spell a path.
        requests = "".join(f"{oid}\n" for oid in blobs.values())
        try:
            done = subprocess.run(
                ["git", "-C", str(self.root), "cat-file", "--batch"],
                input=requests.encode(),
                capture_output=True,
                timeout=_TIMEOUT_S,
                check=True,
            )
        except (OSError, subprocess.SubprocessError) as error:
            raise InputError(f"git cat-file at {rev}: {error}") from None
        texts, out, position = {}, done.stdout, 0
        for name in blobs:
            header_end = out.index(b"\n", position)
            size = int(out[position:header_end].split()[2])
            # A file that is not UTF-8 (a diagram beside the overlays) still reads, and writes back, byte
            # for byte: `git()` encodes its input the same way.
            texts[name] = out[header_end + 1 : header_end + 1 + size].decode(errors="surrogateescape")
            position = header_end + 1 + size + 1
        return texts

    def changed_paths(self, base: str, head: str, prefix: str) -> list[str]:
        """Every path changed under `prefix`: NUL-separated, so spaces and non-ASCII names stay whole;
        a rename counts as its old path and its new one."""
        listed = self.git("diff", "--name-only", "-z", "--no-renames", f"{base}...{head}", "--", prefix)
        return [path for path in listed.split("\0") if path]

    def revisions_touching(self, path: str, rev: str = "HEAD", *, first_parent: bool = False) -> list[str]:
        """Commits that changed `path`, newest first."""
        line = ["--first-parent"] if first_parent else []
        return self.git("log", "--format=%H", *line, rev, "--", path).split()

    def commit_on_new_branch(
        self, branch: str, *, base: str, changes: Mapping[str, str | None], message: str
    ) -> str:
        """A commit on top of `base` applying `changes` (None deletes), named `branch`."""
        if branch in self.branches():
            raise InputError(f"branch {branch} already exists; delete it or finish that promotion first")
        self.git("check-ref-format", "--branch", branch)
        with tempfile.TemporaryDirectory() as scratch:
            index = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            self.git("read-tree", base, env=index)
            for path, text in changes.items():
                if text is None:
                    self.git("update-index", "--force-remove", "--", path, env=index)
                    continue
                blob = self.git("hash-object", "-w", "--stdin", stdin=text).strip()
                self.git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=index)
            tree = self.git("write-tree", env=index).strip()
        commit = self.git("commit-tree", tree, "-p", base, "-m", message).strip()
        self.git("branch", branch, commit)  # the only ref that changes, and the last step
        return commit
