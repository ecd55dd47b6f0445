"""Which kustomizations may be rendered: each one an author could write to make kustomize read
beyond gitops/ or fetch from the network, on files in a temp folder. The forms come from what
kustomize 5.5 was seen to fetch (tests/gitops/rendering/test_render_offline.py renders them)."""

from __future__ import annotations

import pytest

from modelops.gitops.rules.kustomize_paths import entries, references_leaving_gitops

OVERLAY = "gitops/environments/dev/kustomization.yaml"
KUSTOMIZATION = {
    "resources": ["../../base", "extra.yaml"],
    "components": ["../../components/candidate"],
    "patches": [{"path": "release.yaml"}, {"patch": "- op: add"}],
    "configMapGenerator": [{"name": "c", "files": ["key=settings.json"], "envs": ["app.env"]}],
    "openapi": {"path": "schema.json"},
}


def test_every_path_bearing_field_is_read():
    assert [text for _, text, _ in entries(KUSTOMIZATION)] == [
        "../../base",
        "extra.yaml",
        "../../components/candidate",
        "release.yaml",
        "settings.json",
        "app.env",
        "schema.json",
    ]


def write(root, path: str, text: str | bytes) -> None:
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        (root / path).write_bytes(text)
    else:
        (root / path).write_text(text)


def local_kustomization(root, folder: str) -> None:
    """A kustomization folder that exists: kustomize still clones some names instead of reading it."""
    write(root, f"{folder}/kustomization.yaml", "resources:\n  - cm.yaml\n")
    write(root, f"{folder}/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: local\n")


NOT_PLAIN = "is not a plain relative path (a URL, a repository or an absolute path is refused)"


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("resources:\n  - ../../../deploy\n", "resources: reads ../../../deploy, outside gitops/"),
        ("components:\n  - /etc/modelops\n", f"components: /etc/modelops {NOT_PLAIN}"),
        ("patches:\n  - path: ../../../../x.yaml\n", "patches: reads ../../../../x.yaml, outside gitops/"),
        (
            "resources:\n  - https://example.org/base.yaml\n",
            f"resources: https://example.org/base.yaml {NOT_PLAIN}",
        ),
        ("resources:\n  - git::git@host:org/repo\n", f"resources: git::git@host:org/repo {NOT_PLAIN}"),
        (
            "resources:\n  - git::http://127.0.0.1:1/org/repo\n",
            f"resources: git::http://127.0.0.1:1/org/repo {NOT_PLAIN}",
        ),
        (
            "resources:\n  - GitHub.com/org/repo//base?ref=v1\n",
            f"resources: GitHub.com/org/repo//base?ref=v1 {NOT_PLAIN}",
        ),
        # Not a remote to kustomize (it has no scheme), but no folder either: refused as absent.
        (
            "resources:\n  - gitlab.example.com/org/repo\n",
            "resources: gitlab.example.com/org/repo is no file or folder under gitops/",
        ),
        ("resources:\n  - 127.0.0.1:1/org/repo//x\n", f"resources: 127.0.0.1:1/org/repo//x {NOT_PLAIN}"),
        ("resources:\n  - ./x?ref=v1\n", f"resources: ./x?ref=v1 {NOT_PLAIN}"),
        ("resources:\n  - ..\\..\\deploy\n", f"resources: ..\\..\\deploy {NOT_PLAIN}"),
        (
            "configMapGenerator:\n  - name: c\n    files: [k=../../../secret.txt]\n",
            "configMapGenerator.files: reads ../../../secret.txt, outside gitops/",
        ),
        (
            "configMapGenerator:\n  - name: c\n    files: [k=http://example.org/x]\n",
            f"configMapGenerator.files: http://example.org/x {NOT_PLAIN}",
        ),
        (
            "openapi:\n  path: https://example.org/s.json\n",
            f"openapi: https://example.org/s.json {NOT_PLAIN}",
        ),
        ("resources: https://example.org/one.yaml\n", f"resources: https://example.org/one.yaml {NOT_PLAIN}"),
        ("resources:\n  - !!binary aHR0cDovL3g=\n", "resources: a bytes is not a path"),
        (
            "helmCharts:\n  - name: x\n",
            "helmCharts: renders a Helm chart; a model is served from gitops/ alone",
        ),
        (
            "helmGlobals:\n  chartHome: ../../../charts\n",
            "helmGlobals: configures Helm charts; a model is served from gitops/ alone",
        ),
        (
            "transformers:\n  - patch-from-a-url.yaml\n",
            "transformers: runs transformer plugins, which read files and URLs of their own; "
            "a model is served from gitops/ alone",
        ),
        # Go's JSON decoding matches field names ignoring case, with Unicode folding (a long s is an s).
        (
            "Resources:\n  - cm.yaml\n",
            "'Resources' is not a field this check reads (kustomize matches names ignoring case)",
        ),
        (
            "re\u017fources:\n  - cm.yaml\n",
            "'re\u017fources' is not a field this check reads (kustomize matches names ignoring case)",
        ),
        ("patches:\n  - Path: http://example.org/p.yaml\n", "patches: 'Path' is not a key this check reads"),
        ("- resources\n", "is not a mapping of fields"),
        ("", "is not a mapping of fields"),
    ],
)
def test_a_reference_beyond_gitops_is_a_finding(tmp_path, entry, problem):
    write(tmp_path, OVERLAY, entry)
    [finding] = references_leaving_gitops(tmp_path)
    assert (finding.file, finding.message, finding.rule) == (OVERLAY, problem, "MODELOPS_KUSTOMIZE_PATHS")


@pytest.mark.parametrize(
    ("remote", "problem"),
    [
        ("github.com/org/repo", "is read by kustomize as a GitHub repository"),
        # Go lowers the dotted capital I to an i (Python to two characters): kustomize clones it.
        ("G\u0130thub.com/org/repo", "is read by kustomize as a GitHub repository"),
        ("GitHub.com/org/repo//x", NOT_PLAIN),
        ("git@example.invalid/org/repo", NOT_PLAIN),
    ],
)
def test_a_name_kustomize_clones_is_refused_even_when_the_folder_exists(tmp_path, remote, problem):
    """kustomize parses these as repositories before it looks for a local folder of that name."""
    local_kustomization(tmp_path, f"gitops/environments/dev/{remote.replace('//', '/')}")
    write(tmp_path, OVERLAY, f"resources:\n  - {remote}\n")
    messages = [f.message for f in references_leaving_gitops(tmp_path) if f.file == OVERLAY]
    assert messages == [f"resources: {remote} {problem}"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        # kustomize reads UTF-16 (with its byte-order mark) and fetches what it names.
        (
            "resources:\n  - http://127.0.0.1:1/x.yaml\n".encode("utf-16"),
            "is not UTF-8 text, which this check reads",
        ),
        (b"resources: [unclosed\n", "is not YAML this check reads"),
        (
            b"resources:\n  - cm.yaml\nresources:\n  - http://127.0.0.1:1/x.yaml\n",
            "is not YAML this check reads",
        ),
        (b"base: &b {resources: [cm.yaml]}\n<<: *b\n", "is not YAML this check reads"),
        (b"? [resources]\n: [cm.yaml]\n", "is not YAML this check reads"),
        (
            b"resources: [cm.yaml]\n---\nresources: [http://127.0.0.1:1/x.yaml]\n",
            "is not YAML this check reads",
        ),
    ],
)
def test_a_kustomization_the_check_cannot_read_is_a_finding_not_skipped(tmp_path, body, problem):
    local_kustomization(tmp_path, "gitops/environments/dev")
    write(tmp_path, OVERLAY, body)
    [finding] = references_leaving_gitops(tmp_path)
    assert finding.file == OVERLAY
    assert finding.message.startswith(problem)
    assert "\n" not in finding.message


def test_every_kustomization_file_name_is_read(tmp_path):
    for name in ("kustomization.yml", "Kustomization"):
        write(tmp_path, f"gitops/{name}-case/{name}", "resources:\n  - https://example.org/x.yaml\n")
    assert {f.file for f in references_leaving_gitops(tmp_path)} == {
        "gitops/kustomization.yml-case/kustomization.yml",
        "gitops/Kustomization-case/Kustomization",
    }


def test_an_entry_must_name_what_its_field_reads(tmp_path):
    local_kustomization(tmp_path, "gitops/environments/dev/folder")
    write(
        tmp_path,
        OVERLAY,
        "resources:\n  - folder\n  - missing.yaml\n"
        "components:\n  - folder/cm.yaml\npatches:\n  - path: folder\n",
    )
    absent = "under gitops/"
    assert [f.message for f in references_leaving_gitops(tmp_path) if f.file == OVERLAY] == [
        f"resources: missing.yaml is no file or folder {absent}",
        f"components: folder/cm.yaml is no folder {absent}",
        f"patches: folder is no file {absent}",
    ]


def test_references_within_gitops_and_urls_in_inline_patches_are_fine(tmp_path):
    local_kustomization(tmp_path, "gitops/models/m/base")
    write(tmp_path, "gitops/models/m/overlays/dev/équipe et libellés.yaml", "- op: add\n")
    write(
        tmp_path,
        "gitops/models/m/overlays/dev/kustomization.yaml",
        "resources:\n  - ../../base/\npatches:\n  - path: équipe et libellés.yaml\n  - patch: |-\n"
        "      - op: add\n"
        "        path: /metadata/annotations/docs\n"
        "        value: https://example.org\n",
    )
    assert references_leaving_gitops(tmp_path) == []


def test_the_repositorys_own_tree_reads_nothing_beyond_gitops(repo_root):
    assert references_leaving_gitops(repo_root) == []


def test_a_path_through_a_link_is_a_finding_of_its_own(tmp_path):
    local_kustomization(tmp_path, "gitops/real")
    (tmp_path / "gitops/environments").mkdir(parents=True)
    (tmp_path / "gitops/environments/linked").symlink_to("../real")
    write(tmp_path, OVERLAY, "resources:\n  - ../linked\n")
    assert [f.message for f in references_leaving_gitops(tmp_path)] == [
        "resources: ../linked passes through a symbolic link"
    ]


def test_a_finding_on_a_value_nested_by_aliases_stays_short(tmp_path):
    # Ten aliases per level grow a value tenfold in a few bytes; the message names its type alone.
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    metadata = "metadata:\n  annotations:\n" + "".join(f"    {line}\n" for line in levels)
    write(tmp_path, "gitops/environments/dev/kustomization.yaml", metadata + "resources:\n  - *a7\n")
    [finding] = references_leaving_gitops(tmp_path)
    assert finding.message == "resources: a list is not a path"
