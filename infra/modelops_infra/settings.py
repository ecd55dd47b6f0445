"""Typed model of the `platform:` section of `environments/<env>.yaml`, loaded once per stack.

The promotion gate reads the same files (`promotion:`, `gitops:`); this module adds the
section only the Pulumi stacks read, strictly, so a typo is an error naming file and field.
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


_AWS_SECTIONS = ("aws", "network", "cluster", "ci")


class _PlatformCommon(_Strict):
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    monitoring: MonitoringSettings
    alerting: AlertingSettings  # no default: whether pages reach anyone is each file's decision
    serving: ServingSettings = Field(default_factory=ServingSettings)


class AwsPlatformSettings(_PlatformCommon):
    """`target: aws`: the stack creates the VPC, EKS, RDS and S3, and the CI roles."""

    target: Literal["aws"]
    aws: AwsSettings
    network: NetworkSettings
    cluster: ClusterSettings
    ci: CiSettings

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
