"""Typed model of the `platform:` section of `environments/<env>.yaml`, loaded once per stack, and of
the shared registry stack's own file, `environments/shared/registry.yaml`.

The promotion gate reads the environment files (`promotion:`, `gitops:`); this module adds the
section only the Pulumi stacks read, strictly, so a typo is an error naming file and field. The
registry stack's file sits in a subfolder because the gates take every `environments/*.yaml` (no
recursion: `promotion.py`, `validate.py`, `affected_stacks.py` glob one level) as a promotion rung,
and the registry is none.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from modelops.config import Environment, environments_dir, load_environment, read_yaml, validate_file
from modelops.errors import InputError

# The shared registry stack: `pulumi up -s registry`, its settings in environments/shared/.
REGISTRY_STACK = "registry"
REGISTRY_SETTINGS = Path("environments") / "shared" / "registry.yaml"

_GITHUB_REPO = re.compile(r"^https://github\.com/(?P<slug>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AwsSettings(_Strict):
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    # Named explicitly rather than looked up: a preview must not depend on an invoke, and
    # the subnet plan (and so the network policies) must be known before anything exists.
    availability_zones: list[str] = Field(min_length=3, max_length=3)

    @model_validator(mode="after")
    def _zones_in_region(self) -> AwsSettings:
        for zone in self.availability_zones:
            if not zone.startswith(self.region):
                raise ValueError(f"zone {zone} is not in region {self.region}")
        return self


class NetworkSettings(_Strict):
    vpc_cidr: str
    nat_gateways: Literal["one", "per_zone"] = "per_zone"

    @field_validator("vpc_cidr")
    @classmethod
    def _plannable(cls, value: str) -> str:
        # A VPC's primary block is IPv4; raises ValueError, reported with the field.
        network = ipaddress.IPv4Network(value)
        if not 16 <= network.prefixlen <= 20:
            raise ValueError("the VPC must be a /16 to /20 so every tier gets its share")
        return value


class NodeGroupSettings(_Strict):
    instance_types: list[str] = Field(min_length=1)
    min_size: int = Field(ge=0)
    desired_size: int = Field(ge=0)
    max_size: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> NodeGroupSettings:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError("sizes must satisfy min_size <= desired_size <= max_size")
        return self


class ClusterSettings(_Strict):
    kubernetes_version: str = Field(pattern=r"^1\.\d+$")
    endpoint_public: bool = False
    public_access_cidrs: list[str] = Field(default_factory=list)
    log_retention_days: int = Field(ge=1)
    cpu_nodes: NodeGroupSettings
    gpu_nodes: NodeGroupSettings | None = None

    @model_validator(mode="after")
    def _public_endpoint_is_narrow(self) -> ClusterSettings:
        if self.endpoint_public and not self.public_access_cidrs:
            raise ValueError("a public endpoint needs public_access_cidrs (never the whole internet)")
        for cidr in self.public_access_cidrs:
            if ipaddress.ip_network(cidr).prefixlen == 0:
                raise ValueError(f"public_access_cidrs must not contain {cidr}")
        return self


class RegistrySettings(_Strict):
    db_instance_class: str = Field("db.t4g.small", pattern=r"^db\.")
    db_storage_gb: int = Field(20, ge=20)
    multi_az: bool = False
    deletion_protection: bool = False
    mlflow_replicas: int = Field(1, ge=1)
    # Namespaces whose pods may call MLflow; everything else is denied by network policy.
    client_namespaces: list[str] = Field(default_factory=list)
    # The service account jobs in modelops-jobs run as to log to MLflow: created by the stack and
    # granted write access to the artifact bucket (clients upload there directly).
    job_service_account: str = Field("modelops-job", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


# `<org>/<project>/<stack>`, what `pulumi.StackReference` takes: fully qualified, so an environment in
# another organisation or project cannot silently read a stack of the same short name.
_STACK_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$"
_ACCOUNT_ID = r"^\d{12}$"
_ENVIRONMENT_NAME = r"^[a-z][a-z0-9-]{0,30}$"


class RegistryReference(_Strict):
    """An environment stack's registry: the shared registry stack's outputs, never one of its own."""

    stack: str = Field(pattern=_STACK_NAME)
    # Namespaces whose pods may call MLflow; everything else is denied by network policy.
    client_namespaces: list[str] = Field(default_factory=list)

    @field_validator("stack")
    @classmethod
    def _the_registry_stack(cls, value: str) -> str:
        if value.rsplit("/", 1)[-1] != REGISTRY_STACK:
            raise ValueError(f"must name the registry stack, <org>/<project>/{REGISTRY_STACK}")
        return value

    @property
    def project(self) -> str:
        return self.stack.split("/")[1]


class SloSettings(_Strict):
    error_rate: float = Field(gt=0.0, lt=1.0, description="Largest share of failed inference requests.")


class MonitoringSettings(_Strict):
    retention: str = Field(pattern=r"^\d+[hdw]$")
    slo: SloSettings


class PagingSettings(_Strict):
    """Where Alertmanager sends `severity: page` alerts.

    `receiver: null` is Alertmanager's null receiver, which pages no one: only where the file says so.
    Otherwise the receiver's URL or routing key is never in this file: Alertmanager reads it from key
    `routing-key` (pagerduty), `api-url` (slack) or `url` (webhook) of `secret`, a Secret in namespace
    monitoring that is created out of band, as its value must not enter Pulumi's state.
    """

    receiver: Literal["pagerduty", "slack", "webhook"] | None
    secret: str | None = Field(None, pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")

    @model_validator(mode="after")
    def _secret_for_a_receiver(self) -> PagingSettings:
        if self.receiver is None and self.secret is not None:
            raise ValueError("receiver null reads no Secret: remove secret")
        if self.receiver is not None and self.secret is None:
            raise ValueError(f"receiver {self.receiver} needs secret: the Secret holding its URL or key")
        return self


class AlertingSettings(_Strict):
    page: PagingSettings


class ServingSettings(_Strict):
    gpu_inference: bool = False


class CiSettings(_Strict):
    # GitHub's OIDC provider is one per AWS account: create it in the account's first stack.
    create_oidc_provider: bool = True


class RunnerSettings(_Strict):
    """The stack's self-hosted CI runner scale set (components/runners.py): how many runners wait idle
    and how many may run at once. Each runner takes one job and is deleted after it."""

    min_runners: int = Field(0, ge=0)
    max_runners: int = Field(4, ge=1, le=20)

    @model_validator(mode="after")
    def _ordered(self) -> RunnerSettings:
        if self.min_runners > self.max_runners:
            raise ValueError("min_runners must not exceed max_runners")
        return self


_AWS_SECTIONS = ("aws", "network", "cluster", "ci")


class _PlatformCommon(_Strict):
    monitoring: MonitoringSettings
    alerting: AlertingSettings  # no default: whether pages reach anyone is each file's decision
    serving: ServingSettings = Field(default_factory=ServingSettings)


class AwsPlatformSettings(_PlatformCommon):
    """`target: aws`: the stack creates the VPC, EKS, its payload bucket, the model-reader and CI roles;
    MLflow, its database and the artifact bucket are the registry stack's (`registry.stack`)."""

    target: Literal["aws"]
    registry: RegistryReference  # no default: an environment on AWS reads the shared registry
    aws: AwsSettings
    network: NetworkSettings
    cluster: ClusterSettings
    ci: CiSettings
    runners: RunnerSettings = Field(default_factory=RunnerSettings)

    @model_validator(mode="before")
    @classmethod
    def _every_aws_section(cls, data: Any) -> Any:
        if isinstance(data, dict):
            missing = [name for name in _AWS_SECTIONS if data.get(name) is None]
            if missing:
                raise ValueError(f"target aws needs the sections {', '.join(missing)}")
            if data.get("kube_context") is not None:
                raise ValueError("kube_context applies to target kubernetes only")
        return data

    @model_validator(mode="after")
    def _gpu_nodes_for_gpu_inference(self) -> AwsPlatformSettings:
        if self.serving.gpu_inference and self.cluster.gpu_nodes is None:
            # Otherwise GPU inference would be switched on with no node to run it: silently CPU-only.
            raise ValueError("serving.gpu_inference needs cluster.gpu_nodes")
        return self


class LocalPlatformSettings(_PlatformCommon):
    """`target: kubernetes`: an existing cluster (kind, k3d, minikube); no AWS resources."""

    target: Literal["kubernetes"]
    kube_context: str = Field(min_length=1)
    # The laptop's own MLflow, Postgres and MinIO, in the cluster.
    registry: RegistrySettings = Field(default_factory=RegistrySettings)

    @model_validator(mode="before")
    @classmethod
    def _no_aws_section(cls, data: Any) -> Any:
        if isinstance(data, dict):
            given = [name for name in _AWS_SECTIONS if data.get(name) is not None]
            if given:
                raise ValueError(f"target kubernetes creates no AWS resources; remove {', '.join(given)}")
        return data

    @model_validator(mode="after")
    def _no_gpu_inference(self) -> LocalPlatformSettings:
        if self.serving.gpu_inference:
            raise ValueError("serving.gpu_inference needs cluster.gpu_nodes, which only target aws has")
        return self


PlatformSettings: TypeAlias = AwsPlatformSettings | LocalPlatformSettings


class _Target(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    target: Literal["aws", "kubernetes"]


class _TargetFile(BaseModel):
    # Only the platform section is validated here; the rest belongs to modelops.config.
    model_config = ConfigDict(extra="ignore", frozen=True)
    platform: _Target


class _AwsFile(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    platform: AwsPlatformSettings


class _LocalFile(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    platform: LocalPlatformSettings


_FILES: dict[str, type[_AwsFile | _LocalFile]] = {"aws": _AwsFile, "kubernetes": _LocalFile}


@dataclass(frozen=True)
class Settings:
    """Everything one stack needs: the environment the gates read plus its platform section."""

    environment: Environment
    platform: PlatformSettings
    source: Path

    @property
    def name(self) -> str:
        return self.environment.name

    @property
    def models_namespace(self) -> str:
        return self.environment.gitops.destination.namespace

    @property
    def on_aws(self) -> bool:
        return isinstance(self.platform, AwsPlatformSettings)

    @property
    def github_repository(self) -> str:
        """`ORG/REPO` of the repository Argo CD reconciles, the one the CI roles trust."""
        match = _GITHUB_REPO.match(self.environment.gitops.repo_url)
        if match is None:
            raise InputError(f"{self.source}: field 'gitops.repo_url': CI access needs a github.com URL")
        return match["slug"]


def load_settings(name: str, *, root: Path | None = None) -> Settings:
    environment = load_environment(name, root=root)
    path = environments_dir(root) / f"{name}.yaml"
    data = read_yaml(path)
    # The target first, then the section's own type: errors then name fields as written
    # (`platform.network.vpc_cidr`), where a pydantic union would insert the target into the path.
    target = validate_file(_TargetFile, data, path).platform.target
    section = validate_file(_FILES[target], data, path).platform
    settings = Settings(environment=environment, platform=section, source=path)
    if settings.on_aws:
        settings.github_repository  # noqa: B018 - fail at load time, not halfway through a preview
    return settings


_GITHUB_SLUG = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"


_HOSTNAME = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
# Names that resolve inside a cluster or a LAN only: a certificate for them proves nothing to a person.
_PRIVATE_SUFFIXES = (".local", ".internal", ".cluster.local", ".svc", ".localhost")
# Stacks where the registry may stay unexposed without saying so; every other name is held to prod's rule.
_INGRESS_OPTIONAL = ("dev", "local")


class ClientRateLimit(_Strict):
    """How many requests one client address may make per `unit`, at each of the Gateway's proxies.

    Envoy's local rate limit: a token bucket of `requests` tokens per address, refilled whole every
    `unit`, so `requests` is also the burst. Counted per proxy (no shared counter without a Redis), so
    a client spreading connections over the proxies gets up to `proxy_replicas` times as many. An
    environment's jobs share their NAT gateway's address, and so one bucket. MLflow's client retries a
    429 with backoff, so a throttled job slows down rather than fails.

    The default, 50 a second, is above a UI page load's burst of calls and a training job's logging,
    and bounds what one address (or a password guesser on it) can send MLflow. At most 10,000: Envoy
    Gateway casts the count to 32 bits, and a bucket that large limits nothing.
    """

    requests: int = Field(50, ge=1, le=10_000)
    # Second or Minute: an hour's or a day's bucket would let its whole allowance through at once.
    unit: Literal["Second", "Minute"] = "Second"


class RegistryIngressSettings(_Strict):
    """The registry's public address: a Gateway with an HTTPS listener only, a certificate from
    `issuer`, and an allow-list of client networks that Envoy enforces (default deny) and the load
    balancer's security group repeats.

    `allowed_cidrs` names the organisation's networks (office or VPN egress) and the NAT gateway
    addresses of every environment cluster whose jobs call the registry. IPv4 only: the load balancer
    EKS's cloud controller creates for the Gateway (a Classic Load Balancer) takes IPv4 clients only.

    `proxy_replicas` Envoy pods serve the address, spread over zones and nodes, at most one of them
    down at a time for a drain (at least two, so a drain never cuts MLflow off); `client_rate_limit`
    is what each proxy lets one client address send.
    """

    hostname: str = Field(max_length=253, pattern=_HOSTNAME)
    issuer: str = Field(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
    issuer_kind: Literal["ClusterIssuer", "Issuer"] = "ClusterIssuer"
    allowed_cidrs: list[str] = Field(min_length=1)
    proxy_replicas: int = Field(2, ge=2)
    client_rate_limit: ClientRateLimit = Field(default_factory=ClientRateLimit)

    @field_validator("hostname")
    @classmethod
    def _public_name(cls, value: str) -> str:
        if value.endswith(_PRIVATE_SUFFIXES):
            raise ValueError(f"{value} is not a public DNS name; people reach the registry by one")
        return value

    @field_validator("allowed_cidrs")
    @classmethod
    def _an_allow_list(cls, value: list[str]) -> list[str]:
        from modelops.allow_lists import allow_list_problems

        problems = allow_list_problems(value)
        if problems:
            raise ValueError("; ".join(problems))
        for cidr in value:
            if ipaddress.ip_network(cidr).version != 4:
                raise ValueError(f"{cidr}: the registry's load balancer takes IPv4 clients only")
        if len(set(value)) != len(value):
            raise ValueError("allowed_cidrs lists a network twice")
        return value


class RegistryReader(_Strict):
    """An environment that reads the registry: its name and the AWS account its stack runs in.

    The account and the name fix the environment's model-reader role ARN
    (`iam.model_reader_role_arn`), which the registry's bucket and key policies name: so neither
    stack waits for the other's outputs.
    """

    environment: str = Field(pattern=_ENVIRONMENT_NAME)
    account_id: str = Field(pattern=_ACCOUNT_ID)


class RegistryStackSettings(_Strict):
    """`environments/shared/registry.yaml`: the one MLflow, its database, bucket and key, CI's roles."""

    name: Literal["registry"]
    description: str = ""
    account_id: str = Field(pattern=_ACCOUNT_ID)  # the registry's own account: its KMS key's owner
    github_repository: str = Field(pattern=_GITHUB_SLUG)  # ORG/REPO, the repository CI's roles trust
    aws: AwsSettings
    network: NetworkSettings
    cluster: ClusterSettings
    registry: RegistrySettings
    ci: CiSettings
    runners: RunnerSettings = Field(default_factory=RunnerSettings)
    readers: list[RegistryReader] = Field(min_length=1)
    # Where people and the environments' jobs reach MLflow over TLS; required (require_ingress_allow_list).
    registry_ingress: RegistryIngressSettings | None = None

    @model_validator(mode="after")
    def _one_account_per_reader(self) -> RegistryStackSettings:
        seen_environments: set[str] = set()
        seen_accounts: set[str] = set()
        for reader in self.readers:
            if reader.environment in seen_environments:
                raise ValueError(f"readers: environment {reader.environment} is listed twice")
            if reader.account_id in seen_accounts:
                # Two environments in one account would share the reader's trust boundary.
                raise ValueError(f"readers: account {reader.account_id} is listed twice")
            if reader.account_id == self.account_id:
                raise ValueError(f"readers: {reader.environment} is in the registry's own account")
            seen_environments.add(reader.environment)
            seen_accounts.add(reader.account_id)
        return self


@dataclass(frozen=True)
class RegistryStack:
    """Everything the registry stack needs, and the file it came from."""

    settings: RegistryStackSettings
    source: Path

    @property
    def name(self) -> str:
        return REGISTRY_STACK

    @property
    def github_repository(self) -> str:
        return self.settings.github_repository


def load_registry_settings(*, root: Path | None = None) -> RegistryStack:
    """The registry stack's file, checked against the environments it serves.

    Every environment on AWS must be a reader and every reader an environment on AWS: an
    environment left out would deploy and then be refused every artifact; a reader with no
    environment would be granted in an account nothing of ours runs in. The repository CI trusts
    must be the one the environments reconcile from.
    """
    base = root if root is not None else environments_dir().parent
    path = base / REGISTRY_SETTINGS
    stack = RegistryStack(validate_file(RegistryStackSettings, read_yaml(path), path), path)
    # The registry serves prod: never without its TLS address and allow-list.
    require_ingress_allow_list(
        REGISTRY_STACK, stack.settings.registry_ingress, source=path, field="registry_ingress"
    )
    on_aws = {}
    for candidate in sorted(environments_dir(base).glob("*.yaml")):
        settings = load_settings(candidate.stem, root=base)
        if isinstance(settings.platform, AwsPlatformSettings):
            on_aws[settings.name] = settings
    readers = [reader.environment for reader in stack.settings.readers]
    for stray in sorted(set(readers) - set(on_aws)):
        raise InputError(f"{path}: field 'readers': {stray} is not an environment on AWS")
    for missing in sorted(set(on_aws) - set(readers)):
        raise InputError(f"{path}: field 'readers': environment {missing} runs on AWS and is not a reader")
    for settings in on_aws.values():
        if settings.github_repository != stack.github_repository:
            raise InputError(
                f"{path}: field 'github_repository': {stack.github_repository} is not "
                f"{settings.github_repository}, the repository {settings.name} reconciles from"
            )
    return stack


def load_stack_settings(stack: str, *, settings_file: str | None, root: Path) -> Settings | RegistryStack:
    """What `infra/__main__.py` loads: the registry stack's file when its Pulumi config names it,
    else the environment the stack is named after."""
    if settings_file is None:
        if stack == REGISTRY_STACK:
            raise InputError(
                f"stack {stack}: Pulumi.{stack}.yaml must name modelops:settings ({REGISTRY_SETTINGS})"
            )
        return load_settings(stack, root=root)
    if Path(settings_file) != REGISTRY_SETTINGS or stack != REGISTRY_STACK:
        raise InputError(
            f"stack {stack}: modelops:settings is {settings_file}; only stack {REGISTRY_STACK} "
            f"reads a settings file, {REGISTRY_SETTINGS}"
        )
    return load_registry_settings(root=root)


# --- the registry's ingress: people (and the environment clusters' jobs) reaching MLflow over TLS ---


def require_ingress_allow_list(
    environment_name: str,
    ingress: RegistryIngressSettings | None,
    *,
    source: Path | str,
    field: str = "platform.registry_ingress",
) -> RegistryIngressSettings | None:
    """The ingress a stack that serves the registry may build, or None: build no Gateway.

    In every stack but dev and local (an unknown name counts as prod) the section is required, so
    the registry is never exposed without the allow-list the section carries; `RegistryIngressSettings`
    itself refuses an empty or world-wide list. Raises InputError naming the file and field.
    """
    if ingress is None and environment_name not in _INGRESS_OPTIONAL:
        raise InputError(
            f"{source}: field '{field}': stack {environment_name or '(unnamed)'} serves the registry, "
            "so it needs hostname, issuer and allowed_cidrs (the networks that may reach it)"
        )
    return ingress
