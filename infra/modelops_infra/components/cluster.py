"""EKS: KMS-encrypted secrets, control-plane logs, IMDSv2-only node groups, IRSA and Pod Identity.

NetworkPolicies are enforced by the VPC CNI only when its add-on says so (`enableNetworkPolicy`);
without it the cluster accepts every NetworkPolicy and enforces none. The add-on is therefore
managed here, with enforcement on, before any node joins.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from modelops_infra.manifests.iam import service_trust
from modelops_infra.settings import ClusterSettings, NodeGroupSettings
from modelops_infra.versions import VPC_CNI_ADDON_VERSION

_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
_NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly")


@dataclass(frozen=True)
class ClusterArgs:
    name: str
    cluster: ClusterSettings
    subnet_ids: list[pulumi.Output[str]]
    gpu_inference: bool


def cluster_name(environment: str) -> str:
    """Fixed per environment: Pod Identity trust policies pin it before the cluster exists."""
    return f"modelops-{environment}"


class Cluster(pulumi.ComponentResource):
    name: pulumi.Output[str]
    pod_identity_agent: aws.eks.Addon
    vpc_cni: aws.eks.Addon
    provider: k8s.Provider
    oidc_provider: aws.iam.OpenIdConnectProvider
    cluster_security_group_id: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelops:platform:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        eks_name = cluster_name(args.name)
        settings = args.cluster

        key = aws.kms.Key(
            f"{name}-secrets",
            description=f"Envelope encryption of {eks_name} Kubernetes secrets",
            enable_key_rotation=True,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-control-plane", assume_role_policy=service_trust("eks.amazonaws.com"), opts=child
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-control-plane",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            opts=child,
        )
        # Created first, with a retention, so EKS does not create a never-expiring one itself.
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/eks/{eks_name}/cluster",
            retention_in_days=settings.log_retention_days,
            opts=child,
        )
        cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=eks_name,
            version=settings.kubernetes_version,
            role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=args.subnet_ids,
                endpoint_private_access=True,
                # Set explicitly: AWS's default is a public endpoint.
                endpoint_public_access=settings.endpoint_public,
                public_access_cidrs=settings.public_access_cidrs if settings.endpoint_public else None,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn), resources=["secrets"]
            ),
            enabled_cluster_log_types=_LOG_TYPES,
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=True
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs]),
        )
        self.oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=cluster.identities.apply(_oidc_issuer),
            client_id_lists=["sts.amazonaws.com"],
            opts=child,
        )

        node_role = aws.iam.Role(
            f"{name}-nodes", assume_role_policy=service_trust("ec2.amazonaws.com"), opts=child
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-nodes-{policy}",
                role=node_role.name,
                policy_arn=f"arn:aws:iam::aws:policy/{policy}",
                opts=child,
            )
            for policy in _NODE_POLICIES
        ]
        groups: dict[str, tuple[NodeGroupSettings, str, list[aws.eks.NodeGroupTaintArgs]]] = {
            "cpu": (settings.cpu_nodes, "AL2023_x86_64_STANDARD", [])
        }
        if args.gpu_inference and settings.gpu_nodes is not None:
            taint = aws.eks.NodeGroupTaintArgs(key="nvidia.com/gpu", value="true", effect="NO_SCHEDULE")
            groups["gpu"] = (settings.gpu_nodes, "AL2023_x86_64_NVIDIA", [taint])
        self.vpc_cni = aws.eks.Addon(
            f"{name}-vpc-cni",
            # The literal name, not the cluster's output: the policy pack matches add-on to cluster
            # by name, and an output is unknown at the first preview of a new stack.
            cluster_name=eks_name,
            addon_name="vpc-cni",
            addon_version=VPC_CNI_ADDON_VERSION,
            configuration_values=vpc_cni_configuration(),
            # EKS installs a self-managed VPC CNI with every cluster; the managed add-on takes it over.
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster]),
        )
        # Nodes join after the add-on, so no pod ever starts on a node that does not enforce.
        node_groups = [
            self._node_group(
                f"{name}-{group}", cluster, node_role, sizes, ami_type, taints, [*attachments, self.vpc_cni]
            )
            for group, (sizes, ami_type, taints) in groups.items()
        ]
        # The agent (a DaemonSet on every node) hands pods the credentials of their Pod Identity
        # association at 169.254.170.23; it needs nodes to run on. The add-on's version is left to
        # EKS's default for the cluster version and does not move until changed here.
        self.pod_identity_agent = aws.eks.Addon(
            f"{name}-pod-identity-agent",
            cluster_name=cluster.name,
            addon_name="eks-pod-identity-agent",
            opts=pulumi.ResourceOptions(parent=self, depends_on=node_groups),
        )

        self.name = cluster.name
        self.cluster_security_group_id = cluster.vpc_config.cluster_security_group_id
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
                lambda values: _kubeconfig(*values)
            )
        )
        self.provider = k8s.Provider(f"{name}-k8s", kubeconfig=self.kubeconfig, opts=child)
        self.register_outputs({"cluster_name": cluster.name, "oidc_provider_arn": self.oidc_provider.arn})

    def _node_group(
        self,
        name: str,
        cluster: aws.eks.Cluster,
        role: aws.iam.Role,
        sizes: NodeGroupSettings,
        ami_type: str,
        taints: list[aws.eks.NodeGroupTaintArgs],
        after: list[pulumi.Resource],
    ) -> aws.eks.NodeGroup:
        child = pulumi.ResourceOptions(parent=self)
        # IMDSv2 only, one hop: a pod cannot reach the node's credentials; pods use IRSA or Pod Identity.
        template = aws.ec2.LaunchTemplate(
            name,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=100, volume_type="gp3", encrypted="true"
                    ),
                )
            ],
            update_default_version=True,
            opts=child,
        )
        return aws.eks.NodeGroup(
            name,
            cluster_name=cluster.name,
            node_role_arn=role.arn,
            subnet_ids=cluster.vpc_config.subnet_ids,
            ami_type=ami_type,
            instance_types=sizes.instance_types,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=sizes.min_size, desired_size=sizes.desired_size, max_size=sizes.max_size
            ),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                # The provider takes the version as a string; the template reports a number.
                id=template.id,
                version=template.latest_version.apply(str),
            ),
            taints=taints or None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )


def vpc_cni_configuration() -> str:
    """The add-on's configuration values: network policy enforcement on (a string, as its schema has it).

    Standard enforcement mode: a new pod is reachable for the moment before its policies load.
    Strict mode would close that window but also cut off every pod no policy allows yet, kube-system
    included; the namespaces' default-deny policies bound the exposure instead.
    """
    return json.dumps({"enableNetworkPolicy": "true"})


def _oidc_issuer(identities: Sequence[aws.eks.outputs.ClusterIdentity]) -> str:
    """EKS gives every cluster an OIDC issuer; IRSA cannot be trusted without one."""
    oidcs = identities[0].oidcs if identities else None
    issuer = oidcs[0].issuer if oidcs else None
    if not issuer:
        raise ValueError("the EKS cluster reports no OIDC issuer, so IRSA roles cannot trust it")
    return issuer


def _kubeconfig(name: str, endpoint: str, ca_data: str) -> str:
    """Credentials come from `aws eks get-token` at use time; nothing long-lived is stored."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
            ],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [
                {
                    "name": name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": ["eks", "get-token", "--cluster-name", name, "--output", "json"],
                        }
                    },
                }
            ],
        }
    )
