"""Run one job of a workflow file here, step by step, the way GitHub's runner would.

The steps come from the workflow file itself, so the test exercises what CI runs, not a copy.
`run:` steps execute in bash with the runner's flags and its files (GITHUB_ENV, GITHUB_PATH,
GITHUB_OUTPUT, GITHUB_STEP_SUMMARY). A step that cannot run here (an action from the
marketplace, a cloud login) must be given a local equivalent by the test, by action or by step
id; a step with neither is an error, never skipped. Expressions support what the project's
workflows use; anything else is an error too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML


def load_workflow(path: Path) -> dict[str, Any]:
    # YAML 1.2 (ruamel): the `on:` key stays a string instead of becoming True.
    return YAML(typ="safe").load(path.read_text())


# --- expressions -------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||!|\(|\)|,)"
    r"|(?P<number>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*))"
)
_STATUS_FUNCTIONS = ("success()", "failure()", "always()", "cancelled()")


class UnsupportedWorkflow(Exception):
    """The workflow uses something this runner does not know: extend it, don't skip."""


@dataclass
class _Parser:
    tokens: list[tuple[str, str]]
    lookup: Callable[[str], Any]
    position: int = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def expression(self) -> Any:
        left = self.conjunction()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.conjunction()
            left = left or right
        return left

    def conjunction(self) -> Any:
        left = self.comparison()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.comparison()
            left = left and right
        return left

    def comparison(self) -> Any:
        left = self.unary()
        while self.peek() in (("op", "=="), ("op", "!=")):
            _, op = self.take()
            right = self.unary()
            same = _loose(left) == _loose(right)
            left = same if op == "==" else not same
        return left

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not self.unary()
        if self.peek() == ("op", "("):
            self.take()
            value = self.expression()
            if self.take() != ("op", ")"):
                raise UnsupportedWorkflow("unbalanced parentheses")
            return value
        kind, text = self.take()
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return float(text)
        if self.peek() == ("op", "(") and self.tokens[self.position + 1] == ("op", ")"):
            self.position += 2
            return self.lookup(text + "()")
        if self.peek() == ("op", "("):
            self.take()
            arguments = [self.expression()]
            while self.peek() == ("op", ","):
                self.take()
                arguments.append(self.expression())
            if self.take() != ("op", ")"):
                raise UnsupportedWorkflow(f"unbalanced parentheses after {text}")
            if text.lower() not in _FUNCTIONS:
                raise UnsupportedWorkflow(f"unknown function {text}()")
            return _FUNCTIONS[text.lower()](*arguments)
        return self.lookup(text)


def _contains(search: Any, item: Any) -> bool:
    # GitHub: an array holds an equal element (loosely compared); a string holds a substring, ignoring case.
    if isinstance(search, list):
        return any(_loose(element) == _loose(item) for element in search)
    return str(_loose(item)) in str(_loose(search))


_FUNCTIONS: dict[str, Callable[..., Any]] = {"contains": _contains, "fromjson": json.loads}


def _loose(value: Any) -> Any:
    # GitHub compares strings case-insensitively and treats null like an empty string.
    if value is None:
        return ""
    return value.lower() if isinstance(value, str) else value


def evaluate(expression: str, lookup: Callable[[str], Any]) -> Any:
    tokens, position, text = [], 0, expression.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise UnsupportedWorkflow(f"cannot read the expression {expression!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    parser = _Parser(tokens, lookup)
    value = parser.expression()
    if parser.peek() is not None:
        raise UnsupportedWorkflow(f"cannot read the expression {expression!r}")
    return value


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def interpolate(text: str, lookup: Callable[[str], Any]) -> str:
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: _as_text(evaluate(m.group(1), lookup)), text)


# --- running a job ----------------------------------------------------------------------------


@dataclass
class StepContext:
    """What a local equivalent gets: the step as written, evaluated, and the job's workspace."""

    name: str
    inputs: dict[str, str]  # the step's `with:`, expressions evaluated
    env: dict[str, str]  # the environment the step would run with
    workspace: Path
    exports: dict[str, str] = field(default_factory=dict)  # like writing to GITHUB_ENV
    path: list[str] = field(default_factory=list)  # like writing to GITHUB_PATH
    outputs: dict[str, str] = field(default_factory=dict)  # like writing to GITHUB_OUTPUT


Local = Callable[[StepContext], None]


@dataclass(frozen=True)
class StepRun:
    id: str
    name: str
    outcome: str  # success | failure | skipped
    replaced: bool
    output: str


@dataclass(frozen=True)
class JobRun:
    steps: list[StepRun]
    summary: str
    outputs: dict[str, str] = field(default_factory=dict)  # the job's `outputs:`, evaluated

    @property
    def succeeded(self) -> bool:
        return all(step.outcome != "failure" for step in self.steps)

    def step(self, step_id: str) -> StepRun:
        return next(step for step in self.steps if step.id == step_id)


@dataclass
class WorkflowJob:
    workflow: dict[str, Any]
    job: str
    workspace: Path
    github: dict[str, Any]  # the `github` context: event, repository, run_id, ...
    variables: dict[str, str] = field(default_factory=dict)  # the `vars` context
    actions: dict[str, Local] = field(default_factory=dict)  # by action, e.g. actions/checkout
    replaced_steps: dict[str, Local] = field(default_factory=dict)  # by step id
    base_env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    # Other contexts the job reads, e.g. {"matrix": {...}, "needs": {...}, "secrets": {...}}.
    contexts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def run(self) -> JobRun:
        spec = self.workflow["jobs"][self.job]
        unknown = set(self.replaced_steps) - {step.get("id") for step in spec["steps"]}
        if unknown:
            raise UnsupportedWorkflow(f"local equivalents for steps the job does not have: {sorted(unknown)}")
        runner_files = self.workspace.parent / f"{self.workspace.name}-runner"
        runner_files.mkdir(parents=True, exist_ok=True)
        self.workspace.mkdir(parents=True, exist_ok=True)
        shell = (self.workflow.get("defaults", {}).get("run", {}) or {}).get("shell")
        if shell != "bash":
            raise UnsupportedWorkflow("set `defaults: run: shell: bash` (bash -eo pipefail)")
        steps_context: dict[str, dict[str, Any]] = {}
        exported: dict[str, str] = {}
        path_additions: list[str] = []
        summary: list[str] = []
        records: list[StepRun] = []

        def lookup_in(env: Mapping[str, str]) -> Callable[[str], Any]:
            def lookup(name: str) -> Any:
                failed = any(r.outcome == "failure" for r in records)
                status = {
                    "success()": not failed,
                    "failure()": failed,
                    "always()": True,
                    "cancelled()": False,
                }
                if name in status:
                    return status[name]
                root, _, rest = name.partition(".")
                contexts = {"github": self.github, "vars": self.variables, "steps": steps_context, "env": env}
                contexts |= self.contexts
                if root not in contexts:
                    raise UnsupportedWorkflow(f"unknown context {root!r} in {name!r}")
                value: Any = contexts[root]
                for part in rest.split(".") if rest else []:
                    if not isinstance(value, Mapping):
                        return None
                    if root == "steps" and value is steps_context and part not in value:
                        raise UnsupportedWorkflow(f"{name!r}: no earlier step has the id {part!r}")
                    value = value.get(part)
                return value

            return lookup

        plain = lookup_in({})
        workflow_env = _evaluated(self.workflow.get("env"), plain)
        job_env = _evaluated(spec.get("env"), plain)

        for index, step in enumerate(spec["steps"]):
            step_id = step.get("id", f"__step{index}")
            name = step.get("name") or step.get("uses") or step.get("run", "").splitlines()[0]
            env = {
                **self.base_env,
                "GITHUB_WORKSPACE": str(self.workspace),
                **workflow_env,
                **job_env,
                **exported,
            }
            env["PATH"] = os.pathsep.join([*reversed(path_additions), env.get("PATH", "")])
            lookup = lookup_in(env)
            env.update(_evaluated(step.get("env"), lookup))
            condition = str(step.get("if", "")).strip()
            if condition.startswith("${{") and condition.endswith("}}"):
                condition = condition[3:-2]
            if condition and not any(f in condition for f in _STATUS_FUNCTIONS):
                condition = f"success() && ({condition})"
            if not evaluate(condition or "success()", lookup):
                steps_context[step_id] = {"outcome": "skipped", "conclusion": "skipped", "outputs": {}}
                records.append(StepRun(step_id, name, "skipped", False, ""))
                continue

            local = self.replaced_steps.get(step_id)
            action = str(step["uses"]).split("@")[0] if "uses" in step else None
            if local is None and action is not None:
                local = self.actions.get(action)
                if local is None:
                    raise UnsupportedWorkflow(
                        f"step {name!r} uses {action}: give the test a local equivalent"
                    )
            if local is not None:
                context = StepContext(
                    name,
                    _evaluated(step.get("with"), lookup),
                    env,
                    self.workspace,
                )
                local(context)
                exported.update(context.exports)
                path_additions += context.path
                outputs = dict(context.outputs)
                steps_context[step_id] = {"outcome": "success", "conclusion": "success", "outputs": outputs}
                records.append(StepRun(step_id, name, "success", True, ""))
                continue

            files = {
                key: runner_files / f"{index}-{key.lower()}"
                for key in ("GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")
            }
            for file in files.values():
                file.write_text("")
            script = runner_files / f"{index}-step.sh"
            script.write_text(interpolate(step["run"], lookup))
            workdir = self.workspace / step.get("working-directory", ".")
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=workdir,
                env={**env, **{key: str(file) for key, file in files.items()}},
                capture_output=True,
                text=True,
                timeout=int(step.get("timeout-minutes", spec.get("timeout-minutes", 30))) * 60,
                check=False,
            )
            outcome = "success" if done.returncode == 0 else "failure"
            exported.update(_key_values(files["GITHUB_ENV"].read_text()))
            path_additions += [line for line in files["GITHUB_PATH"].read_text().splitlines() if line]
            summary.append(files["GITHUB_STEP_SUMMARY"].read_text())
            outputs = _key_values(files["GITHUB_OUTPUT"].read_text())
            steps_context[step_id] = {"outcome": outcome, "conclusion": outcome, "outputs": outputs}
            records.append(StepRun(step_id, name, outcome, False, done.stdout + done.stderr))

        return JobRun(records, "".join(summary), _evaluated(spec.get("outputs"), lookup_in({})))


def _evaluated(values: Mapping[str, Any] | None, lookup: Callable[[str], Any]) -> dict[str, str]:
    return {key: interpolate(_as_text(value), lookup) for key, value in (values or {}).items()}


def _key_values(text: str) -> dict[str, str]:
    """The runner's `KEY=value` and `KEY<<DELIMITER ... DELIMITER` formats."""
    values, lines = {}, iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            body = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            values[key] = "\n".join(body)
        elif "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
    return values
