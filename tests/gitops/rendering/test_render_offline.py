"""`render` fetches nothing, even from a kustomization the check before rendering never saw: real
`kubectl kustomize` on remote entries pointed at a real HTTP server, which must see no request."""

from __future__ import annotations

import subprocess

import pytest

from modelops.errors import InputError
from modelops.gitops.rendering.render import render
from tests.http_recorder import non_loopback_address, recording_server
from tests.tools import require_command

CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: local\n"


def kustomization(folder, resources: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cm.yaml").write_text(CONFIG_MAP)
    (folder / "kustomization.yaml").write_text("resources:\n" + "".join(f"  - {r}\n" for r in resources))


def test_a_local_kustomization_still_renders(tmp_path):
    require_command("kubectl")
    kustomization(tmp_path / "k", ["cm.yaml"])
    [document] = render(tmp_path / "k")
    assert "name: local" in document.text


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_remote_file_is_not_fetched(tmp_path, scheme):
    require_command("kubectl")
    # Go's HTTP client never proxies a loopback address: the server listens where it would.
    with recording_server(non_loopback_address()) as server:
        url = server.url("/remote.yaml").replace("http://", f"{scheme}://")
        kustomization(tmp_path / "k", ["cm.yaml", url])
        with pytest.raises(InputError, match=r"^\S+/k: kustomize failed: .*proxyconnect") as failure:
            render(tmp_path / "k")
    assert (server.requests, server.connections) == ([], [])
    assert "\n" not in str(failure.value)


@pytest.mark.parametrize(
    "form", ["git::http://{host}:{port}/org/repo", "git::http://{host}:{port}/org/repo//x?ref=v1"]
)
def test_a_remote_repository_is_not_cloned(tmp_path, form):
    require_command("kubectl")
    require_command("git")
    # git's own transport would reach a loopback server; protocol.allow=never stops it first.
    with recording_server() as server:
        kustomization(tmp_path / "k", ["cm.yaml", form.format(host=server.host, port=server.port)])
        with pytest.raises(InputError, match=r"kustomize failed"):
            render(tmp_path / "k")
    assert (server.requests, server.connections) == ([], [])


def local_repository(folder) -> str:
    """A git repository holding a kustomization, as a `git::file://` entry kustomize clones."""
    kustomization(folder, ["cm.yaml"])
    for command in (["init", "--quiet"], ["add", "-A"]):
        subprocess.run(["git", "-C", str(folder), *command], check=True, capture_output=True)
    commit = ["-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "--quiet", "-m", "base"]
    subprocess.run(["git", "-C", str(folder), *commit], check=True, capture_output=True)
    return f"git::file://{folder}"


@pytest.mark.parametrize(
    ("gitconfig", "variables"),
    [
        ('[protocol "file"]\n\tallow = always\n', {}),
        ("", {"GIT_ALLOW_PROTOCOL": "file"}),
        ("", {"GIT_CONFIG_PARAMETERS": "'protocol.file.allow'='always'"}),
    ],
)
def test_a_users_git_configuration_cannot_allow_a_protocol_back(tmp_path, monkeypatch, gitconfig, variables):
    """No proxy stands in the way of a clone from the runner's disk (file://): protocol.allow=never
    alone does, and a runner's ~/.gitconfig or environment could allow a protocol again."""
    require_command("kubectl")
    require_command("git")
    entry = local_repository(tmp_path / "elsewhere")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(gitconfig)
    monkeypatch.setenv("HOME", str(home))
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    kustomization(tmp_path / "k", [entry])
    with pytest.raises(InputError, match=r"kustomize failed"):
        render(tmp_path / "k")
