"""Builds a stack under Pulumi's mocks and keeps what each resource was declared with.

Mocks echo inputs; a few outputs the program reads back (ARNs, the cluster's OIDC issuer) are
filled in with plausible values. Assertions therefore read inputs, and an absent input means
the provider's default. An environment stack's `pulumi.StackReference` to the registry stack
answers with the outputs the registry stack itself exported when built under the same mocks, so
a name one side exports and the other does not read fails the build.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

from modelops_infra import (
    AwsPlatformSettings,
    Platform,
    RegistryPlatform,
    RegistryStack,
    Settings,
    build,
    load_settings,
)
from modelops_infra.settings import REGISTRY_STACK, load_registry_settings
from tests.infra.pulumi_wire import reveal

PROJECT = "modelops-platform"
ACCOUNT = "123456789012"
STACK_REFERENCE = "pulumi:pulumi:StackReference"


@dataclass(frozen=True)
class Declared:
    type: str
    name: str
    inputs: dict[str, Any]

    @property
    def urn(self) -> str:
        return f"urn:pulumi:stack::{PROJECT}::{self.type}::{self.name}"


def _outputs(args: MockResourceArgs) -> dict[str, Any]:
    """The few provider-computed outputs the program reads back."""
    extra: dict[str, Any] = {}
    if args.typ.startswith("aws:"):
        service = args.typ.split(":")[1].split("/")[0]
        # IAM ARNs name no region; the others name the stacks' (readers parse a key's region).
        region = "" if service == "iam" else "eu-west-1"
        extra["arn"] = f"arn:aws:{service}:{region}:{ACCOUNT}:{args.name}"
        extra.setdefault("name", args.inputs.get("name", args.name))
    if args.typ == "aws:eks/cluster:Cluster":
        extra["identities"] = [{"oidcs": [{"issuer": "https://oidc.eks.eu-west-1.amazonaws.com/id/MOCK"}]}]
        extra["endpoint"] = "https://MOCK.gr7.eu-west-1.eks.amazonaws.com"
        extra["certificateAuthority"] = {"data": "Q0E="}
        extra["vpcConfig"] = {**args.inputs.get("vpcConfig", {}), "clusterSecurityGroupId": "sg-cluster"}
    if args.typ == "aws:s3/bucket:Bucket":
        # As S3 names them: by the bucket's name alone, no region or account (policies match on it).
        extra["bucket"] = args.inputs.get("bucket", f"{args.name}-mock")
        extra["arn"] = f"arn:aws:s3:::{extra['bucket']}"
    if args.typ == "aws:rds/instance:Instance":
        extra["address"] = f"{args.name}.mock.eu-west-1.rds.amazonaws.com"
    if args.typ == "aws:ec2/launchTemplate:LaunchTemplate":
        extra["latestVersion"] = 1
    if args.typ == "random:index/randomPassword:RandomPassword":
        extra["result"] = "x" * int(args.inputs.get("length", 16))
        extra["bcryptHash"] = "$2a$10$" + "m" * 53  # the shape of a bcrypt hash; the provider makes it
    return {**args.inputs, **extra}


class RecordingMocks(Mocks):
    def __init__(self, references: dict[str, dict[str, Any]] | None = None) -> None:
        self.declared: list[Declared] = []
        self.references = references or {}  # stack name -> its outputs
        self.transforms: list[Any] = []

    def register_transform(self, transform: Any) -> None:
        # Pulumi's mock monitor records stack transforms without running them; the engine runs
        # each on every resource registered after it, so these mocks do too (synchronous ones).
        self.transforms.append(transform)

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == STACK_REFERENCE:
            self.declared.append(Declared(args.typ, args.name, reveal(dict(args.inputs))))
            stack = args.inputs["name"]
            if stack not in self.references:
                raise KeyError(f"no stack {stack} to reference (known: {sorted(self.references)})")
            return stack, {"name": stack, "outputs": self.references[stack], "secretOutputNames": []}
        inputs = dict(args.inputs)
        for transform in self.transforms:
            result = transform(
                pulumi.ResourceTransformArgs(
                    bool(args.custom), args.typ, args.name, inputs, pulumi.ResourceOptions()
                )
            )
            if result is not None:
                inputs = dict(result.props)
        args.inputs = inputs
        self.declared.append(Declared(args.typ, args.name, reveal(inputs)))
        return f"{args.name}-id", _outputs(args)

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider":
            return {"arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"}, []
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root", "userId": ACCOUNT}, []
        return {}, []


@dataclass
class StackUnderTest:
    name: str
    resources: list[Declared] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)  # what `pulumi up` would export

    def of_type(self, type_: str) -> list[Declared]:
        return [r for r in self.resources if r.type == type_]

    def kubernetes_objects(self) -> list[dict[str, Any]]:
        """Every Kubernetes object the program declares (not Helm releases), as manifests."""
        objects = []
        for r in self.resources:
            if not r.type.startswith("kubernetes:") or r.type.startswith("kubernetes:helm"):
                continue
            _, api_version, kind = r.type.split(":")
            api_version = api_version.removeprefix("core/")
            body = {k: v for k, v in r.inputs.items() if k not in {"apiVersion", "kind"}}
            objects.append({"apiVersion": api_version, "kind": kind, **body})
        return objects


def build_stack(
    name: str,
    *,
    root: Path,
    bootstrap_dir: Path,
    models_dir: Path | None = None,
    references: dict[str, dict[str, Any]] | None = None,
) -> StackUnderTest:
    """Declare the whole stack `name` under fresh mocks; independent of any earlier build.

    `models_dir` defaults to the repository's gitops/models. `references` maps a fully qualified
    stack name to its outputs; an environment on AWS without one gets the registry stack's, built
    here under mocks of its own.
    """
    settings: Settings | RegistryStack
    if name == REGISTRY_STACK:
        settings = load_registry_settings(root=root)
    else:
        settings = load_settings(name, root=root)
        if references is None and isinstance(settings.platform, AwsPlatformSettings):
            registry = build_stack(
                REGISTRY_STACK, root=root, bootstrap_dir=bootstrap_dir, models_dir=models_dir
            )
            references = {settings.platform.registry.stack: registry.outputs}
    mocks = RecordingMocks(references)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=name, preview=False)
    holder: dict[str, Any] = {}

    @pulumi.runtime.test
    def declare() -> pulumi.Output[Any]:
        platform: Platform | RegistryPlatform = build(
            settings, bootstrap_dir=bootstrap_dir, models_dir=models_dir or root / "gitops" / "models"
        )
        return pulumi.Output.from_input(platform.outputs()).apply(holder.update)

    declare()
    return StackUnderTest(name, mocks.declared, outputs=reveal(holder))
