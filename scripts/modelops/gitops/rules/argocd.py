"""Rules for the Argo CD objects: projects that confine each environment, applications that sync
the gated branch by themselves, and both agreeing with environments/*.yaml."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelops.gitops.repository.layout import PROTECTED_BRANCH
from modelops.gitops.rules.finding import Finding
from modelops.gitops.rules.reading import get, is_template, items, mapping, name_of
from modelops.gitops.rules.rule import Rule

if TYPE_CHECKING:  # checkov imports these rules in its own environment, which lacks pydantic
    from modelops.config import Environment

BOOTSTRAP = "gitops/bootstrap"
ARGO = "argoproj.io"
APP_PROJECT = frozenset({"AppProject"})
APPLICATIONS = frozenset({"Application", "ApplicationSet"})
# Needs environments/*.yaml besides the objects: validate runs it, checkov cannot.
AGREEMENT = "MODELOPS_ARGOCD_ENVIRONMENTS"
# Argo CD's default globbing lets `*` cross `/`, so `environments/*.yaml` also reads files in any
# subfolder; `?`, `[` and `{` are glob syntax too. The generator names each environment file instead.
GLOB_CHARACTERS = frozenset("*?[{")


def environment_file(name: str) -> str:
    """The file an environment is defined in, as the ApplicationSet's files generator names it."""
    return f"environments/{name}.yaml"


def _no_wildcards(project: dict[str, Any]) -> list[str]:
    # A `*` in sourceRepos lets any repository's manifests in; in a destination, an Application could
    # sync into another environment's namespace or cluster.
    spec = get(project, "spec")
    problems = [
        f"sourceRepos[{i}] is a wildcard" for i, r in enumerate(items(get(spec, "sourceRepos"))) if _wild(r)
    ]
    for i, destination in enumerate(items(get(spec, "destinations"))):
        problems += [
            f"destinations[{i}].{field} is a wildcard"
            for field in ("server", "name", "namespace")
            if _wild(get(destination, field))
        ]
    return problems


def _wild(value: Any) -> bool:
    return isinstance(value, str) and "*" in value


def _no_cluster_resources(project: dict[str, Any]) -> list[str]:
    # Namespaces, their Pod Security labels, CRDs and RBAC are the platform's (infra/): a release that
    # could sync a ClusterRole or relabel its namespace could lift its own restrictions. Absent and []
    # both allow nothing; anything else, even a malformed value, is refused.
    if get(project, "spec", "clusterResourceWhitelist") in (None, []):
        return []
    return ["model projects may not manage cluster-scoped resources (clusterResourceWhitelist)"]


def _not_default_project(project: dict[str, Any]) -> list[str]:
    # Argo CD creates `default` allowing every repository, destination and kind; Applications fall
    # back to it, so a manifest that shapes it decides what unreviewed Applications may do.
    return (
        ["the default AppProject is Argo CD's, not the platform's"] if name_of(project) == "default" else []
    )


def application_spec(document: dict[str, Any]) -> Any:
    """The spec of an Application, or of the template every Application of an ApplicationSet copies."""
    if document.get("kind") == "ApplicationSet":
        return get(document, "spec", "template", "spec")
    return get(document, "spec")


def _own_project(document: dict[str, Any]) -> list[str]:
    # An Application in `default` escapes the per-environment limits the models-<env> projects set.
    project = get(application_spec(document), "project")
    if isinstance(project, str) and project.strip() not in ("", "default"):
        return []
    return ["applications must not use the default (or an empty) project"]


def _automated_sync(document: dict[str, Any]) -> list[str]:
    # Git is the only way a release changes: without automated sync a merged promotion never reaches
    # the cluster, without prune a removed candidate keeps serving, without selfHeal a hand edit stays.
    automated = get(application_spec(document), "syncPolicy", "automated")
    problems = [
        f"automated sync needs {field}: true"
        for field in ("prune", "selfHeal")
        if not isinstance(automated, dict) or automated.get(field) is not True
    ]
    if get(automated, "enabled") is False:  # Argo CD 3 can keep the block but switch it off
        problems.append("automated sync is switched off (enabled: false)")
    return problems


def _floating(revision: Any) -> bool:
    if is_template(revision):  # filled from environments/*.yaml, checked where that file is loaded
        return False
    return not isinstance(revision, str) or revision.strip().upper() in ("", "HEAD")


def _named_revision(document: dict[str, Any]) -> list[str]:
    # HEAD (and an empty targetRevision, which means HEAD) follows whatever the default branch is,
    # so renaming or repointing it would change what every environment deploys.
    spec = application_spec(document)
    revisions = []
    if get(spec, "source") is not None:
        revisions.append(("source.targetRevision", get(spec, "source", "targetRevision")))
    revisions += [
        (f"sources[{i}].targetRevision", get(s, "targetRevision"))
        for i, s in enumerate(items(get(spec, "sources")))
    ]
    if document.get("kind") == "ApplicationSet":  # a git generator reads its parameters from a revision too
        revisions += [
            (f"generators[{i}].git.revision", get(g, "git", "revision"))
            for i, g in enumerate(items(get(document, "spec", "generators")))
            if get(g, "git") is not None
        ]
    if not revisions:
        return ["no source: nothing pins the revision synced"]
    return [
        f"{field} must name a revision, not HEAD or nothing"
        for field, revision in revisions
        if _floating(revision)
    ]


RULES = (
    Rule(
        id="CKV_MODELOPS_7",
        title="AppProject must not use * in sourceRepos or destinations",
        kinds=APP_PROJECT,
        api_group=ARGO,
        category="IAM",
        problems=_no_wildcards,
    ),
    Rule(
        id="CKV_MODELOPS_8",
        title="AppProject must not whitelist cluster-scoped resources in clusterResourceWhitelist",
        kinds=APP_PROJECT,
        api_group=ARGO,
        category="IAM",
        problems=_no_cluster_resources,
    ),
    Rule(
        id="CKV_MODELOPS_9",
        title="AppProject must not be named default",
        kinds=APP_PROJECT,
        api_group=ARGO,
        category="IAM",
        problems=_not_default_project,
    ),
    Rule(
        id="CKV_MODELOPS_10",
        title="Application/ApplicationSet must not use the default (or an empty) project",
        kinds=APPLICATIONS,
        api_group=ARGO,
        category="IAM",
        problems=_own_project,
    ),
    Rule(
        id="CKV_MODELOPS_11",
        title="Application/ApplicationSet must not sync without automated prune and selfHeal",
        kinds=APPLICATIONS,
        api_group=ARGO,
        category="GENERAL_SECURITY",
        problems=_automated_sync,
    ),
    Rule(
        id="CKV_MODELOPS_12",
        title="Application/ApplicationSet must not track HEAD or an empty targetRevision",
        kinds=APPLICATIONS,
        api_group=ARGO,
        category="SUPPLY_CHAIN",
        problems=_named_revision,
    ),
)


def listed_environment_files(document: dict[str, Any], names: list[str]) -> list[tuple[str, str]]:
    """(file, problem) for each way an ApplicationSet's git generators disagree with the environment
    files `names` (the top-level environments/*.yaml): they must list exactly
    `environments/<name>.yaml` for each, as plain paths.

    What the generator reads is what Argo CD deploys, whatever the gate renders: a file it reads that
    is no environment file (moved to a subfolder, a glob reaching one) deploys an environment no gate
    judged, and an environment file it does not read is judged but never deployed."""
    problems: list[tuple[str, str]] = []
    expected = {environment_file(name) for name in names}
    listed: set[str] = set()
    for i, generator in enumerate(items(get(document, "spec", "generators"))):
        git = get(generator, "git")
        if git is None:
            continue
        where = f"generators[{i}].git"
        if get(git, "directories") is not None:
            problems.append((BOOTSTRAP, f"{where}.directories: list the environment files instead"))
        for j, entry in enumerate(items(get(git, "files"))):
            path = get(entry, "path")
            if not isinstance(path, str) or set(mapping(entry)) != {"path"}:
                problems.append(
                    (BOOTSTRAP, f"{where}.files[{j}] must be just {{path: environments/<name>.yaml}}")
                )
            elif GLOB_CHARACTERS & set(path):
                problems.append(
                    (
                        BOOTSTRAP,
                        f"{where}.files[{j}].path {path} is a glob (Argo CD's reaches into subfolders): "
                        "list each environments/<name>.yaml",
                    )
                )
            elif path in expected:
                listed.add(path)
            elif path.startswith("environments/") and path.count("/") == 1 and path.endswith(".yaml"):
                problems.append(
                    (path, f"the ApplicationSet lists {path}, but there is no such environment file")
                )
            else:
                problems.append(
                    (
                        BOOTSTRAP,
                        f"{where}.files[{j}].path {path} is no environment file (environments/<name>.yaml)",
                    )
                )
    problems += [
        (path, f"the ApplicationSet does not list {path}: Argo CD would never deploy what the gate judges")
        for path in sorted(expected - listed)
    ]
    return problems


# What each generated Application builds: the folder the gate renders, with kustomize alone.
ENVIRONMENT_SOURCE_PATH = "gitops/environments/{{ .name }}"
OTHER_TOOLS = ("helm", "plugin", "directory")


def built_source_problems(document: dict[str, Any]) -> list[str]:
    """Why an ApplicationSet's Applications would build something else than the gate renders: another
    path (a folder the gate never renders as an environment), or another tool than kustomize."""
    spec = application_spec(document)
    if get(spec, "sources") is not None:
        return ["template.spec.sources: one source, gitops/environments/<env>, is what the gate renders"]
    source = get(spec, "source")
    problems = []
    if get(source, "path") != ENVIRONMENT_SOURCE_PATH:
        problems.append(
            f"template.spec.source.path must be {ENVIRONMENT_SOURCE_PATH!r}, what the gate renders"
        )
    problems += [
        f"template.spec.source.{tool}: Argo CD would build with {tool}, the gate renders with kustomize"
        for tool in OTHER_TOOLS
        if get(source, tool) is not None
    ]
    return problems


def check_bootstrap(documents: list[dict[str, Any]], environments: list[Environment]) -> list[Finding]:
    """The Argo CD objects read the environments' repository and confine each to its destination."""
    findings: list[Finding] = []

    def found(where: str, message: str, subject: str = "") -> None:
        findings.append(Finding(where, message, object=subject, rule=AGREEMENT))

    projects = {name_of(d): d for d in documents if d.get("kind") == "AppProject"}
    for environment in environments:
        name = f"models-{environment.name}"
        where, subject = f"{BOOTSTRAP}/projects/{name}.yaml", f"AppProject/{name}"
        project = projects.get(name)
        if project is None:
            found(BOOTSTRAP, f"no AppProject {name} for environment {environment.name}")
            continue
        spec = mapping(project.get("spec"))
        if spec.get("sourceRepos") != [environment.gitops.repo_url]:
            found(where, f"sourceRepos must be exactly [{environment.gitops.repo_url}]", subject)
        expected = [
            {
                "server": environment.gitops.destination.server,
                "namespace": environment.gitops.destination.namespace,
            }
        ]
        if spec.get("destinations") != expected:
            found(where, f"destinations must be exactly {expected}", subject)
    for document in documents:
        if document.get("kind") != "ApplicationSet":
            continue
        subject = f"ApplicationSet/{name_of(document)}"
        for where, problem in listed_environment_files(document, [e.name for e in environments]):
            found(where, problem, subject)
        for problem in built_source_problems(document):
            found(BOOTSTRAP, problem, subject)
        generators = items(get(document, "spec", "generators"))
        repos = {get(g, "git", "repoURL") for g in generators}
        # Every revision in play is the branch the promotion gate guards, exactly: the generator reads
        # the environment files from it, and each Application syncs it. A pull request that added a
        # generator on another branch and pointed an environment there would have the cluster deploy
        # whatever is pushed to that branch, which no gate sees.
        for i, generator in enumerate(generators):
            if get(generator, "git") is not None and get(generator, "git", "revision") != PROTECTED_BRANCH:
                found(
                    BOOTSTRAP,
                    f"generators[{i}].git.revision is {get(generator, 'git', 'revision')!r}, not "
                    f"{PROTECTED_BRANCH}, the branch the promotion gate guards",
                    subject,
                )
        for environment in environments:
            if environment.gitops.repo_url not in repos:
                found(
                    BOOTSTRAP,
                    f"generator reads {sorted(map(str, repos))}, not {environment.gitops.repo_url}",
                    subject,
                )
            if environment.gitops.target_revision != PROTECTED_BRANCH:
                found(
                    f"environments/{environment.name}.yaml",
                    f"gitops.target_revision is {environment.gitops.target_revision!r}: a cluster syncs "
                    f"{PROTECTED_BRANCH}, the branch the promotion gate guards",
                    subject,
                )
    return findings
