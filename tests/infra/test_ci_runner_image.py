"""The self-hosted runners' image has every command their jobs call, each tool pinned.

The commands come from the jobs themselves: every `run:` of a job on a `modelops-*` runner, the
scripts those steps run with `bash <path>`, the Makefile recipes `make <target>` reaches, and the
executables the modelops package starts (subprocess lists, shutil.which). The shell reading is
approximate (see `commands_of`): it sees the first word of each simple command, including those in
`$(...)`, and not commands hidden in variables (`"${cmd[@]}"`), `eval` or `xargs`.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet

from modelops_infra import versions
from tests.conftest import REPO_ROOT
from tests.github import hardening
from tests.github.workflow_runner import load_workflow

DOCKERFILE = REPO_ROOT / "infra" / "images" / "ci-runner" / "Dockerfile"
WORKFLOWS = REPO_ROOT / ".github" / "workflows"

# Bash keywords and builtins: bash is the base image's, so these need nothing else.
_KEYWORDS = "if then else elif fi while until do done for case esac in ! { } [[ ]] time function select"
_BUILTINS = (
    "echo printf cd pwd set read exit export test [ true false : command local return shift source . "
    "continue break unset trap wait type declare readonly"
)
SHELL_WORDS = frozenset(f"{_KEYWORDS} {_BUILTINS}".split())
# Commands a job's own step puts on PATH before the steps that call them, and the step that does.
STEP_PROVIDED = {
    "modelops": "make sync",  # .venv/bin appended to $GITHUB_PATH by the install step
    "pulumi": "pulumi/actions@",  # the action installs the pinned CLI into the tool cache
}
_REDIRECTS = frozenset({">", ">>", "<", "<<", "<<<", ">&", "<&", "&>", ">|", "&>>"})
_SEPARATORS = frozenset({";", "|", "||", "&&", "&", "(", ")", ";;", "|&"})
_SUBSTITUTION = re.compile(r"\$\(([^()]*)\)")


def commands_of(script: str) -> set[str]:
    """The commands a bash script calls, approximately: the first word of each simple command (past
    `NAME=value` prefixes, keywords and redirections), of each line and each `$(...)`. A first word
    that is itself an expansion (`$x`, `"${cmd[@]}"`) is skipped: what it runs is not in the text."""
    found: set[str] = set()
    text = script.replace("\\\n", " ")
    while match := _SUBSTITUTION.search(text):  # innermost first
        found |= commands_of(match.group(1))
        text = text[: match.start()] + "substituted" + text[match.end() :]
    for line in text.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError as error:  # an unbalanced quote: say where, rather than guess
            raise AssertionError(f"cannot read shell line {line!r}: {error}") from error
        at_start, skip_next, in_test = True, False, False
        for token in tokens:
            if skip_next:
                skip_next = False
            elif token in _SEPARATORS:
                at_start, in_test = True, False
            elif in_test:
                in_test = token != "]]"
            elif token in _REDIRECTS or re.fullmatch(r"\d*[<>]+&?", token):
                skip_next = not token.endswith("&") or token == ">&"
            elif not at_start:
                continue
            elif token == "[[":
                in_test, at_start = True, False
            elif token in ("for", "case"):  # `for x in a b; do`: the words up to `;` are data
                at_start, in_test = False, False
            elif token in SHELL_WORDS:
                at_start = token in {"if", "then", "else", "elif", "while", "until", "do", "!", "{", "time"}
            elif re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", token):
                continue  # an assignment prefix: the command follows
            else:
                if not token.startswith("$"):
                    found.add(token)
                at_start = False
    return found


def _self_hosted_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    jobs = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for name, job in load_workflow(path)["jobs"].items():
            if hardening.self_hosted_labels(job):
                jobs.append((path.stem, name, job))
    return jobs


def _scripts_run(script: str) -> list[Path]:
    """The repository's scripts a step runs as `bash <path>` (or `sh`)."""
    paths = re.findall(r"(?:^|[\s;&|])(?:bash|sh)\s+([\w./-]+\.sh)\b", script)
    return [REPO_ROOT / path for path in paths]


def _make_recipes(target: str, makefile: str) -> list[str]:
    """The recipe lines `make <target>` runs, through its normal prerequisites (the order-only ones
    after `|` bootstrap uv only when it is not on PATH, which in this image it is)."""
    variables = dict(re.findall(r"^([A-Z_]+) := (.+)$", makefile, re.M))

    def expand(word: str) -> str:
        return re.sub(r"\$\(([A-Z_]+)\)", lambda m: variables.get(m.group(1), m.group(0)), word)

    rules: dict[str, tuple[list[str], list[str]]] = {}
    for match in re.finditer(r"^([^\s:#][^:=]*?):(?!=)([^\n]*)\n((?:\t[^\n]*\n?)*)", makefile, re.M):
        prerequisites = match.group(2).split("##")[0].split("|")[0].split()
        recipe = [line.strip().lstrip("@") for line in match.group(3).splitlines()]
        for name in match.group(1).split():
            rules[expand(name)] = ([expand(p) for p in prerequisites], recipe)
    assert target in rules, f"Makefile: no rule for {target}"
    seen: list[str] = []

    def visit(name: str) -> None:
        if name not in rules:
            return  # a file prerequisite (pyproject.toml, uv.lock)
        prerequisites, recipe = rules[name]
        for prerequisite in prerequisites:
            visit(prerequisite)
        seen.extend(recipe)

    visit(target)
    # $(UV) is `command -v uv` or ~/.local/bin/uv: uv either way; $(PYTHON) is python3.
    return [line.replace("$(UV)", "uv").replace("$(PYTHON)", "python3") for line in seen]


def _package_executables() -> set[str]:
    """What the modelops package starts by name: subprocess argument lists and shutil.which."""
    found: set[str] = set()
    for path in (REPO_ROOT / "scripts" / "modelops").rglob("*.py"):
        text = path.read_text()
        found |= set(re.findall(r"subprocess\.\w+\(\s*\[\s*\"([\w.-]+)\"", text))
        found |= set(re.findall(r"shutil\.which\(\"([\w.-]+)\"\)", text))
    return found


def required_commands() -> dict[str, set[str]]:
    """Each command the self-hosted jobs call -> where (`workflow/job`, a script, the package)."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    where: dict[str, set[str]] = {}
    for workflow, name, job in _self_hosted_jobs():
        for step in job.get("steps", []):
            if "run" not in step:
                continue
            run = str(step["run"])
            sources = {f"{workflow}/{name}": commands_of(run)}
            for script in _scripts_run(run):
                assert script.is_file(), f"{workflow}/{name} runs {script}, which does not exist"
                sources[str(script.relative_to(REPO_ROOT))] = commands_of(script.read_text())
            for target in re.findall(r"(?:^|[\s;&|])make\s+([\w-]+)", run):
                sources[f"Makefile {target}"] = commands_of("\n".join(_make_recipes(target, makefile)))
            for source, commands in sources.items():
                for command in commands:
                    where.setdefault(command, set()).add(source)
    for command in _package_executables():
        where.setdefault(command, set()).add("scripts/modelops")
    return where


def _label(name: str, dockerfile: str) -> set[str]:
    match = re.search(rf'^LABEL {re.escape(name)}="([^"]*)"$', dockerfile, re.M)
    assert match, f"{DOCKERFILE}: no LABEL {name}"
    return set(match.group(1).split())


def image_commands(dockerfile: str) -> set[str]:
    return _label("org.modelops.ci-runner.base-commands", dockerfile) | _label(
        "org.modelops.ci-runner.commands", dockerfile
    )


# --- the image has what the jobs call -------------------------------------------------------------


def test_every_command_a_self_hosted_job_calls_is_in_the_image():
    required = required_commands()
    # The reading found the jobs' known needs: a reader that sees nothing would pass anything.
    assert {"make", "uv", "aws", "jq", "gh", "git", "kubectl", "curl", "sha256sum", "python"} <= set(required)
    provided = image_commands(DOCKERFILE.read_text()) | SHELL_WORDS | set(STEP_PROVIDED)
    missing = {command: sorted(where) for command, where in required.items() if command not in provided}
    assert missing == {}


def test_commands_a_step_provides_come_from_an_earlier_step_of_the_same_job():
    for workflow, name, job in _self_hosted_jobs():
        steps = job.get("steps", [])
        for index, step in enumerate(steps):
            called = commands_of(str(step.get("run", ""))) & set(STEP_PROVIDED)
            for command in called:
                earlier = " ".join(str(s.get("run", "")) + str(s.get("uses", "")) for s in steps[:index])
                assert STEP_PROVIDED[command] in earlier, f"{workflow}/{name}: {command} before its install"


def test_a_job_calling_a_tool_the_image_lacks_is_caught():
    dockerfile = DOCKERFILE.read_text()
    provided = image_commands(dockerfile) | SHELL_WORDS
    step = 'echo "x=$(helm version --short)" >> "$GITHUB_OUTPUT"\nterraform apply -auto-approve | tee out'
    assert commands_of(step) - provided == {"helm", "terraform"}
    # Dropping a tool from the image's list is caught the same way.
    fewer = dockerfile.replace(' aws"', '"')
    assert "aws" in required_commands().keys() - image_commands(fewer)


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ('make sync\necho "$PWD/.venv/bin" >> "$GITHUB_PATH"', {"make"}),
        ('base=$(python -m modelops.github.progress_tag since --tag t)\necho "base=$base"', {"python"}),
        (
            'MODELOPS_CRD_SCHEMAS="$X" modelops gate --out "$R" \\\n  2>&1 | tee "$R/gate.txt"',
            {"modelops", "tee"},
        ),
        (
            'if [ ! -s "$R" ]; then\n  { echo "#"; tail -n 40 "$f" 2>/dev/null || echo none; } > "$R"\nfi',
            {"tail"},
        ),
        ('[[ $b =~ ^[a-z]$ ]] || { echo "refused" >&2; exit 2; }', set()),
        (
            "git for-each-ref --format='%(refname:lstrip=3)' refs/ |\n  while read -r branch; do x; done < f",
            {"git", "x"},
        ),
        ('for tool in promtool prometheus; do command -v "$tool"; done', set()),
        ('"${modelops[@]}" rollout advance || status=$?', set()),  # not in the text: skipped
        (
            's=$(aws secretsmanager get-secret-value --query S)\np=$(jq -r .password <<<"$secret")',
            {"aws", "jq"},
        ),
    ],
)
def test_the_shell_reading_finds_the_commands_of_each_form(script, expected):
    assert commands_of(script) == expected


def test_the_makefile_sync_target_reaches_uv():
    recipes = _make_recipes("sync", (REPO_ROOT / "Makefile").read_text())
    assert any(line.startswith("uv sync --locked") for line in recipes)
    assert commands_of("\n".join(recipes)) == {"uv", "touch"}


# --- every tool is pinned -------------------------------------------------------------------------


def _args(dockerfile: str) -> dict[str, str | None]:
    """Each ARG's default (None for an ARG never given one; a re-declaration keeps the first's)."""
    args: dict[str, str | None] = {}
    for name, equals, value in re.findall(r"^ARG ([A-Z0-9_]+)(=(\S*))?$", dockerfile, re.M):
        if equals:
            args[name] = value
        else:
            args.setdefault(name, None)
    return args


def pin_problems(dockerfile: str) -> list[str]:
    """Everything in the Dockerfile that is not one exact version."""
    problems = []
    instructions = "\n".join(line for line in dockerfile.splitlines() if not line.lstrip().startswith("#"))
    args = _args(dockerfile)
    if re.search(r"latest|:main\b|:master\b|:stable\b", instructions):
        problems.append("names latest, main, master or stable")
    for name, value in args.items():
        if (
            name.endswith("_VERSION")
            and name != "RUNNER_VERSION"
            and not re.fullmatch(r"v?\d[\w.+~-]*", value or "")
        ):
            problems.append(f"ARG {name} is not a version: {value!r}")
        if name.endswith("_SHA256") and not re.fullmatch(r"[0-9a-f]{64}", value or ""):
            problems.append(f"ARG {name} is not a sha256: {value!r}")
    if args.get("RUNNER_VERSION", "absent") is not None:
        problems.append("RUNNER_VERSION has a default: the build must take versions.py's")
    for image in re.findall(r"^FROM (\S+)", instructions, re.M):
        tag = image.rsplit(":", 1)[-1] if ":" in image else ""
        variable = re.fullmatch(r"\$\{(\w+)\}", tag)
        if not tag or (variable is None and not re.fullmatch(r"\d[\w.-]*", tag)):
            problems.append(f"FROM {image} has no exact tag")
        elif variable and variable.group(1) != "RUNNER_VERSION" and not args.get(variable.group(1)):
            problems.append(f"FROM {image}: {variable.group(1)} has no pinned default")
    for packages in re.findall(r"apt-get install ([^\n&]*)", instructions):
        for package in (word.strip('"') for word in packages.split()):
            if package not in ("\\", "") and not package.startswith("-") and "=" not in package:
                problems.append(f"apt package {package} is not pinned to a version")
    downloads = re.findall(r"curl [^\n]*--output (\S+)", instructions)
    checked = re.findall(r'echo "\$\{(\w+_SHA256)\}  (\S+)" \| sha256sum --check', instructions)
    if sorted(downloads) != sorted(path for _, path in checked):
        problems.append(f"downloads {downloads} are not each checked by sha256 ({checked})")
    if re.search(r"\b(pip|pipx|npm) install\b|curl [^\n]*\|\s*(ba)?sh", instructions):
        problems.append("installs through an unpinned package manager or a piped script")
    return problems


def test_every_tool_in_the_image_is_pinned():
    assert pin_problems(DOCKERFILE.read_text()) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("ARG GH_VERSION=2.100.0", "ARG GH_VERSION=latest"), "GH_VERSION is not a version"),
        (("ARG UV_VERSION=0.13.9", "ARG UV_VERSION="), "UV_VERSION is not a version"),
        (("ARG KUBECTL_SHA256=9efe", "ARG KUBECTL_SHA256=xx9efe"), "KUBECTL_SHA256 is not a sha256"),
        (("ARG RUNNER_VERSION\n", "ARG RUNNER_VERSION=2.335.1\n"), "RUNNER_VERSION has a default"),
        (('"make=${MAKE_VERSION}"', "make"), "apt package make is not pinned"),
        (('"make=${MAKE_VERSION}"', '"make=${MAKE_VERSION}" groff'), "apt package groff"),
        (("FROM ghcr.io/astral-sh/uv:${UV_VERSION}", "FROM ghcr.io/astral-sh/uv"), "has no exact tag"),
        (
            ('echo "${GH_SHA256}  /tmp/gh.tar.gz" | sha256sum --check --strict - \\\n    && ', ""),
            "not each checked",
        ),
        (("USER runner", "RUN pip install awscli\nUSER runner"), "unpinned package manager"),
    ],
)
def test_the_pin_rules_catch_each_unpinned_tool(change, expected):
    dockerfile = DOCKERFILE.read_text()
    assert change[0] in dockerfile
    assert expected in "\n".join(pin_problems(dockerfile.replace(change[0], change[1], 1)))


def test_the_image_installs_and_checks_exactly_the_commands_it_declares():
    dockerfile = DOCKERFILE.read_text()
    declared = _label("org.modelops.ci-runner.commands", dockerfile)
    # The build's last check runs `command -v` on each, so a declared command the build lacks fails it.
    checked = re.search(r"for command in ([^;]+); do command -v", dockerfile)
    assert checked and set(checked.group(1).split()) == declared
    instructions = [line for line in dockerfile.splitlines() if line.startswith(("RUN", "COPY", "    "))]
    for command in declared:
        installed = (f"/{command}", f'"{command}=')  # a file put in place, or an apt package
        assert any(i in line for line in instructions for i in installed), (
            f"{command} declared, not installed"
        )


def test_the_image_builds_on_the_pinned_runner_and_stays_unprivileged():
    dockerfile = DOCKERFILE.read_text()
    base = re.findall(r"^FROM (\S+)$", dockerfile, re.M)[-1]
    assert base.replace("${RUNNER_VERSION}", versions.RUNNER_VERSION) == versions.RUNNER_BASE_IMAGE
    users = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert users[-1] == "runner"
    # No Docker: the runner pods are unprivileged and have no container mode (manifests/runners.py).
    instructions = [line for line in dockerfile.splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in instructions if re.search(r"\b(docker|dockerd|containerd|podman)\b", line)]


def test_the_tools_match_the_versions_the_repository_uses_elsewhere():
    args = _args(DOCKERFILE.read_text())
    for other in ("mlserver", "modelops"):
        text = (REPO_ROOT / "infra" / "images" / other / "Dockerfile").read_text()
        assert re.findall(r"ghcr\.io/astral-sh/uv:(\d+\.\d+\.\d+)", text) == [args["UV_VERSION"]], other
    # kubectl within the clusters' minor version (kubectl supports one minor of skew either way).
    clusters = {
        version
        for path in (REPO_ROOT / "environments").rglob("*.yaml")
        for version in re.findall(r'kubernetes_version: "(\d+\.\d+)"', path.read_text())
    }
    assert clusters and {f"v{c}" for c in clusters} == {args["KUBECTL_VERSION"].rsplit(".", 1)[0]}
    # Python accepted by both environments `make sync` builds.
    python = args["PYTHON_VERSION"]
    assert python and re.fullmatch(r"3\.\d+", python)
    for project in (REPO_ROOT / "pyproject.toml", REPO_ROOT / "infra/images/mlserver/pyproject.toml"):
        accepted = tomllib.loads(project.read_text())["project"]["requires-python"]
        assert SpecifierSet(accepted).contains(f"{python}.0"), (project, accepted)
