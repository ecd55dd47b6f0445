"""The AWS actions behind the deploy role's policies, by part of a stack: data, no decisions.

`deploy_policy.py` scopes them (by name, tag or permissions boundary). A component that gains a
resource type adds its reads to READS and its changes to the part's lists (EC2) or statement
(`deploy_policy`), and the tests evaluate the result.
"""

from __future__ import annotations

from enum import StrEnum


class Part(StrEnum):
    """What a stack creates, as far as its deploy role is concerned."""

    NETWORK = "network"  # VPC, subnets, gateways, NAT, endpoints, security groups
    CLUSTER = "cluster"  # EKS with add-ons, node groups, access entries, Pod Identity; KMS, logs, IRSA OIDC
    DATABASE = "database"  # RDS Postgres, its subnet group and security group
    BUCKETS = "buckets"  # S3 buckets named modelops-<env>-...
    CI_LOGINS = "ci-logins"  # Secrets Manager secrets with MLflow logins


# Environment stacks create their network, cluster and payload bucket; the registry stack also its
# database (MLflow's) and CI's MLflow logins.
ENVIRONMENT_PARTS: tuple[Part, ...] = (Part.NETWORK, Part.CLUSTER, Part.BUCKETS)
REGISTRY_PARTS: tuple[Part, ...] = tuple(Part)

# The only AWS managed policies the stacks attach (cluster.py's control-plane and node roles).
ATTACHABLE_POLICIES = tuple(
    f"arn:aws:iam::aws:policy/{name}"
    for name in (
        "AmazonEKSClusterPolicy",
        "AmazonEKSWorkerNodePolicy",
        "AmazonEKS_CNI_Policy",
        "AmazonEC2ContainerRegistryReadOnly",
    )
)
# Services a role of the stack is passed to: EKS (cluster and node roles), Pod Identity.
PASSED_TO = ("eks.amazonaws.com", "pods.eks.amazonaws.com")
# Service-linked roles AWS creates on first use of each service in the account.
LINKED_SERVICES = {
    Part.NETWORK: (),
    Part.CLUSTER: (
        "eks.amazonaws.com",
        "eks-nodegroup.amazonaws.com",
        "autoscaling.amazonaws.com",
        "elasticloadbalancing.amazonaws.com",
    ),
    Part.DATABASE: ("rds.amazonaws.com",),
    Part.BUCKETS: (),
    Part.CI_LOGINS: (),
}

# What changes IAM: denied by the boundary to every bounded role, and by the deploy policies on the
# deploy and preview roles and the customer-managed policies. Deny statements may use wildcards.
IAM_WRITES = (
    "iam:Add*",
    "iam:Attach*",
    "iam:Change*",
    "iam:CreateAccessKey",
    "iam:CreateGroup",
    "iam:CreateInstanceProfile",
    "iam:CreateLoginProfile",
    "iam:CreateOpenIDConnectProvider",
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:CreateRole",
    "iam:CreateSAMLProvider",
    "iam:CreateServiceSpecificCredential",
    "iam:CreateUser",
    "iam:CreateVirtualMFADevice",
    "iam:Deactivate*",
    "iam:Delete*",
    "iam:Detach*",
    "iam:Enable*",
    "iam:PassRole",
    "iam:Put*",
    "iam:Remove*",
    "iam:Reset*",
    "iam:Resync*",
    "iam:Set*",
    "iam:Tag*",
    "iam:Untag*",
    "iam:Update*",
    "iam:Upload*",
)

_EC2_DESCRIBE_NETWORK = (
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAddresses",
    "ec2:DescribeAddressesAttribute",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeNatGateways",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribePrefixLists",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeTags",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeVpcEndpointServices",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeVpcs",
)
# Read actions, by part; Describe/List calls take no resource ARN (Resource "*"), none reads data.
READS: dict[Part, tuple[str, ...]] = {
    Part.NETWORK: _EC2_DESCRIBE_NETWORK,
    Part.CLUSTER: (
        "ec2:DescribeInstanceTypes",
        "ec2:DescribeLaunchTemplateVersions",
        "ec2:DescribeLaunchTemplates",
        "eks:DescribeAccessEntry",
        "eks:DescribeAddon",
        "eks:DescribeAddonConfiguration",
        "eks:DescribeAddonVersions",
        "eks:DescribeCluster",
        "eks:DescribeNodegroup",
        "eks:DescribePodIdentityAssociation",
        "eks:DescribeUpdate",
        "eks:ListAccessEntries",
        "eks:ListAddons",
        "eks:ListAssociatedAccessPolicies",
        "eks:ListClusters",
        "eks:ListNodegroups",
        "eks:ListPodIdentityAssociations",
        "eks:ListTagsForResource",
        "eks:ListUpdates",
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:GetKeyRotationStatus",
        "kms:ListAliases",
        "kms:ListResourceTags",
        "logs:DescribeLogGroups",
        "logs:ListTagsForResource",
        "logs:ListTagsLogGroup",
    ),
    Part.DATABASE: (
        "ec2:DescribeSecurityGroups",
        "rds:DescribeDBInstances",
        "rds:DescribeDBSnapshots",
        "rds:DescribeDBSubnetGroups",
        "rds:ListTagsForResource",
    ),
    Part.BUCKETS: ("s3:ListAllMyBuckets",),
    Part.CI_LOGINS: ("secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy"),
}
IAM_READS = (
    "iam:GetOpenIDConnectProvider",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListOpenIDConnectProviders",
    "iam:ListPolicyTags",
    "iam:ListPolicyVersions",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
    "sts:GetCallerIdentity",
)
# Bucket-level reads the provider makes on refresh; on the stack's buckets only (never objects).
BUCKET_READS = (
    "s3:GetAccelerateConfiguration",
    "s3:GetBucketAcl",
    "s3:GetBucketCORS",
    "s3:GetBucketLocation",
    "s3:GetBucketLogging",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetBucketOwnershipControls",
    "s3:GetBucketPolicy",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketRequestPayment",
    "s3:GetBucketTagging",
    "s3:GetBucketVersioning",
    "s3:GetBucketWebsite",
    "s3:GetEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:GetReplicationConfiguration",
    "s3:ListBucket",
)

# EC2 resources by part: what each creates (tagged on create) and the actions that change them.
EC2_CREATES: dict[Part, dict[str, str]] = {
    Part.NETWORK: {
        "ec2:CreateVpc": "vpc",
        "ec2:CreateSubnet": "subnet",
        "ec2:CreateInternetGateway": "internet-gateway",
        "ec2:CreateRouteTable": "route-table",
        "ec2:AllocateAddress": "elastic-ip",
        "ec2:CreateNatGateway": "natgateway",
        "ec2:CreateSecurityGroup": "security-group",
        "ec2:CreateVpcEndpoint": "vpc-endpoint",
    },
    Part.CLUSTER: {"ec2:CreateLaunchTemplate": "launch-template"},
    Part.DATABASE: {"ec2:CreateSecurityGroup": "security-group"},
    Part.BUCKETS: {},
    Part.CI_LOGINS: {},
}
EC2_CHANGES: dict[Part, tuple[str, ...]] = {
    Part.NETWORK: (
        "ec2:AssociateRouteTable",
        "ec2:AttachInternetGateway",
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:CreateRoute",
        "ec2:DeleteInternetGateway",
        "ec2:DeleteNatGateway",
        "ec2:DeleteRoute",
        "ec2:DeleteRouteTable",
        "ec2:DeleteSecurityGroup",
        "ec2:DeleteSubnet",
        "ec2:DeleteVpc",
        "ec2:DeleteVpcEndpoints",
        "ec2:DetachInternetGateway",
        "ec2:DisassociateAddress",
        "ec2:DisassociateRouteTable",
        "ec2:ModifySecurityGroupRules",
        "ec2:ModifySubnetAttribute",
        "ec2:ModifyVpcAttribute",
        "ec2:ModifyVpcEndpoint",
        "ec2:ReleaseAddress",
        "ec2:ReplaceRoute",
        "ec2:ReplaceRouteTableAssociation",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
        "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
    ),
    Part.CLUSTER: (
        "ec2:CreateLaunchTemplateVersion",
        "ec2:DeleteLaunchTemplate",
        "ec2:DeleteLaunchTemplateVersions",
        "ec2:ModifyLaunchTemplate",
    ),
    Part.DATABASE: (
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:DeleteSecurityGroup",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress",
    ),
    Part.BUCKETS: (),
    Part.CI_LOGINS: (),
}
