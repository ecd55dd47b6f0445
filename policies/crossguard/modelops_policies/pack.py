"""The policy list and its enforcement: mandatory in prod (and staging), advisory while iterating."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Policy, ResourceValidationPolicy, StackValidationPolicy

from modelops_policies import (
    artifact_rules,
    aws_rules,
    ci_trust_rules,
    kubernetes_rules,
    network_rules,
    registry_exposure_rules,
    runner_rules,
)

ADVISORY_STACKS = ("dev", "local")


def enforcement_for(stack: str) -> EnforcementLevel:
    # Fails closed: an unknown or missing stack name is treated like prod.
    return EnforcementLevel.ADVISORY if stack in ADVISORY_STACKS else EnforcementLevel.MANDATORY


_RULES = [
    (
        "rds-private-encrypted",
        "RDS instances are not public and are encrypted at rest.",
        aws_rules.rds_private_and_encrypted,
    ),
    (
        "rds-resilient-in-prod",
        "RDS instances in prod are multi-AZ with deletion protection.",
        aws_rules.rds_resilient_in_prod,
    ),
    (
        "s3-public-access-blocked",
        "S3 public access blocks set all four flags.",
        aws_rules.s3_public_access_blocked,
    ),
    ("s3-encrypted", "S3 encryption configurations name an algorithm.", aws_rules.s3_encrypted),
    ("eks-endpoint-private", "EKS API endpoints are private outside dev.", aws_rules.eks_endpoint_private),
    ("imdsv2-required", "Launch templates require IMDSv2 with hop limit 1.", aws_rules.imdsv2_required),
    (
        "no-admin-ports-open-to-world",
        "No security group opens an admin port to 0.0.0.0/0.",
        aws_rules.no_admin_ports_open_to_world,
    ),
    (
        "oidc-trust-no-wildcards",
        "OIDC trust policies pin sub and aud exactly.",
        aws_rules.oidc_trust_without_wildcards,
    ),
    (
        "github-trust-pins-main-workflow",
        "Roles GitHub Actions assumes on main pin sub to the environment and job_workflow_ref to main.",
        ci_trust_rules.github_trust_pins_main_workflow,
    ),
    (
        "roles-carry-permissions-boundary",
        "Every IAM role carries the stack's permissions boundary; only the deploy role goes without.",
        ci_trust_rules.roles_carry_permissions_boundary,
    ),
    (
        "trust-without-wildcards",
        "Role trust policies name principals, actions and condition values exactly.",
        aws_rules.trust_without_wildcards,
    ),
    (
        "pod-identity-trust-pinned",
        "Pod Identity roles trust one cluster, namespace and named service accounts.",
        aws_rules.pod_identity_trust_pinned,
    ),
    (
        "iam-policy-no-wildcard-actions",
        "IAM policies list the actions they allow, never a wildcard.",
        aws_rules.role_policy_without_wildcard_actions,
    ),
    (
        "helm-release-pinned",
        "Helm releases pin an exact chart version.",
        kubernetes_rules.helm_release_pinned,
    ),
    (
        "vpc-cni-enforces-network-policy",
        "The vpc-cni add-on enables network policy enforcement and pins its version.",
        network_rules.vpc_cni_enforces_network_policy,
    ),
    (
        "bucket-policy-tls-only",
        "Bucket policies deny every S3 action without TLS.",
        artifact_rules.bucket_policy_tls_only,
    ),
    (
        "bucket-policy-grants-registered-reads-only",
        "Bucket policies grant only reading and listing registered models (and run datasets, to monitors).",
        artifact_rules.bucket_policy_grants_registered_reads_only,
    ),
    (
        "security-policy-allow-list-narrow",
        "Envoy Gateway SecurityPolicies allow client networks, never 0.0.0.0/0 or a share of the internet.",
        registry_exposure_rules.security_policy_allow_list_narrow,
    ),
    (
        "ci-runners-unprivileged",
        "Self-hosted runner scale sets pin their chart and run no privileged or Docker-in-Docker container.",
        runner_rules.runner_scale_set_hardened,
    ),
]

# Rules about what a stack lacks: a resource alone cannot show a missing add-on or bucket policy.
_STACK_RULES = [
    (
        "eks-network-policy-enforced",
        "Every EKS cluster has a vpc-cni add-on that enforces NetworkPolicies.",
        network_rules.clusters_enforce_network_policy,
    ),
    (
        "artifact-buckets-immutable",
        "Buckets holding model artifacts are versioned, Object-Locked, TLS-only and deny deletes.",
        artifact_rules.artifact_buckets_immutable,
    ),
    (
        "artifact-buckets-in-registry-only",
        "Only the registry stack declares a bucket holding model artifacts; environments read it.",
        artifact_rules.artifact_buckets_in_the_registry_only,
    ),
    (
        "github-roles-not-administrators",
        "No role GitHub Actions assumes holds AdministratorAccess or a '*' grant.",
        ci_trust_rules.github_roles_not_administrators,
    ),
    (
        "boundaries-deny-iam-administration",
        "Roles' boundaries are the stack's, deny IAM administration and are never attached as grants.",
        ci_trust_rules.boundaries_are_the_stacks_and_deny_iam,
    ),
    (
        "mlflow-server-reads-only",
        "The MLflow server's role cannot write or delete objects.",
        artifact_rules.mlflow_server_reads_only,
    ),
    (
        "model-reader-never-writes",
        "Model readers' and monitors' roles cannot write or delete in S3.",
        artifact_rules.model_reader_never_writes,
    ),
    (
        "mlflow-routes-use-tls",
        "Routes to MLflow are HTTPRoutes on Gateway listeners that terminate TLS.",
        registry_exposure_rules.mlflow_routes_use_tls,
    ),
    (
        "mlflow-routes-allow-listed",
        "Routes to MLflow are guarded by SecurityPolicy allow-lists (default deny) and nothing looser.",
        registry_exposure_rules.mlflow_routes_allow_listed,
    ),
    (
        "mlflow-admin-not-public",
        "Routes to MLflow forward none of its user, role and grant administration.",
        registry_exposure_rules.mlflow_admin_not_public,
    ),
]

# Typed as PolicyPack takes them: a list of the base class.
POLICIES: list[Policy] = [
    ResourceValidationPolicy(name=name, description=text, validate=check) for name, text, check in _RULES
]
STACK_POLICIES: list[Policy] = [
    StackValidationPolicy(name=name, description=text, validate=check) for name, text, check in _STACK_RULES
]
# What the pack enforces: both kinds.
ALL_POLICIES: list[Policy] = [*POLICIES, *STACK_POLICIES]
