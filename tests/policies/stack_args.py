"""CrossGuard arguments built by hand, as the engine would hand them to a rule."""

from __future__ import annotations

from typing import Any

from pulumi_policy import PolicyResource, PolicyResourceOptions, ResourceValidationArgs, StackValidationArgs


def options() -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=None,
        additional_secret_outputs=[],
    )


def resource_args(type_: str, props: dict[str, Any], *, stack: str = "prod") -> ResourceValidationArgs:
    return ResourceValidationArgs(
        type_, props, f"urn:pulumi:{stack}::p::{type_}::r", "r", options(), None, {"stack": stack}
    )


def resource(
    type_: str, name: str, props: dict[str, Any], *, depends: dict[str, list[PolicyResource]] | None = None
) -> PolicyResource:
    """A resource of the stack; `depends` is the engine's record of which property came from whom."""
    deps = depends or {}
    flat = [r for rs in deps.values() for r in rs]
    return PolicyResource(
        type_, props, f"urn:pulumi:prod::p::{type_}::{name}", name, options(), None, None, flat, deps
    )


def stack(resources: list[PolicyResource], *, name: str = "prod") -> StackValidationArgs:
    return StackValidationArgs(resources, {"stack": name})


def violations(check: Any, args: Any) -> list[str]:
    found: list[str] = []
    check(args, lambda message, urn=None: found.append(message))
    return found


def from_declared(declared: list[Any], *, name: str) -> StackValidationArgs:
    """A mocked stack (tests/infra/harness) as the engine would see it.

    The mocks give every resource the id `<name>-id` and an ARN ending in `:<name>`; a property
    holding one of those came from that resource, which is what the engine records as a
    property dependency.
    """
    plain = [resource(d.type, d.name, d.inputs) for d in declared]
    by_id = {f"{d.name}-id": r for d, r in zip(declared, plain, strict=True)}
    by_arn = {f":{d.name}": r for d, r in zip(declared, plain, strict=True)}
    linked = []
    for d, r in zip(declared, plain, strict=True):
        deps: dict[str, list[PolicyResource]] = {}
        for key, value in d.inputs.items():
            if not isinstance(value, str):
                continue
            source = by_id.get(value) or next((t for k, t in by_arn.items() if value.endswith(k)), None)
            if source is not None and source is not r:
                deps[key] = [source]
        linked.append(resource(d.type, d.name, d.inputs, depends=deps))
    return stack(linked, name=name)
