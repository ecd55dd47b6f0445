"""Registered model artifacts stay as the gate saw them: nothing deletes them, nothing reads them in clear.

What a bucket holding model artifacts must have (stack level, because the pieces are separate
resources): versioning, Object Lock with a default retention, and a bucket policy that is TLS-only
and denies object deletion to every principal. A bucket is exempt only when tagged
`modelops.io/model-artifacts: "false"`, an explicit claim a reviewer sees; an untagged bucket is
held to the rule (fails closed). Every bucket policy is TLS-only (resource level), and the MLflow
server, which serves no artifacts (`--no-serve-artifacts`), may not write or delete objects.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

BUCKET = "aws:s3/bucket:Bucket"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
EXEMPT_TAG = "modelops.io/model-artifacts"
LOCK_MODES = ("GOVERNANCE", "COMPLIANCE")
# What removes or unlocks a stored version, or hides it behind a delete marker.
DELETE_ACTIONS = ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention")
# What the MLflow server must not be allowed: any of these changes the bytes a release pins.
OBJECT_WRITE_ACTIONS = (
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:BypassGovernanceRetention",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:RestoreObject",
)
# The MLflow server's identity (infra: layout.MLFLOW_NAMESPACE, backends.backend.SERVICE_ACCOUNT).
MLFLOW_NAMESPACE = "mlflow"
MLFLOW_SERVICE_ACCOUNT = "mlflow"


def _statements(policy: Any) -> list[dict[str, Any]]:
    try:
        document = json.loads(policy) if isinstance(policy, str) else policy or {}
    except ValueError:
        return []
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _covers(patterns: Any, action: str) -> bool:
    """An IAM action list (wildcards allowed, case-insensitive) that includes `action`."""
    return any(fnmatchcase(action.lower(), str(p).lower()) for p in _as_list(patterns) if p is not None)


def _everyone(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    return principal == "*" or (isinstance(principal, dict) and _as_list(principal.get("AWS")) == ["*"])


def _on_objects(statement: dict[str, Any]) -> bool:
    return any(str(r).endswith("/*") for r in _as_list(statement.get("Resource")))


def _on_bucket(statement: dict[str, Any]) -> bool:
    return any(not str(r).endswith("/*") for r in _as_list(statement.get("Resource")))


def _every_object(resource: Any) -> bool:
    """`arn:aws:s3:::bucket/*` (or `*`): a deny on a prefix leaves the rest of the bucket deletable."""
    return str(resource) == "*" or (str(resource).endswith("/*") and str(resource).count("/") == 1)


def denies_insecure_transport(policy: Any) -> bool:
    """A Deny of every S3 action to everyone, on the bucket and its objects, when TLS is not used."""
    for statement in _statements(policy):
        condition = (statement.get("Condition") or {}).get("Bool") or {}
        if (
            statement.get("Effect") == "Deny"
            and _everyone(statement)
            and _covers(statement.get("Action"), "s3:GetObject")
            and _covers(statement.get("Action"), "s3:PutObject")
            and _covers(statement.get("Action"), "s3:ListBucket")
            and _on_bucket(statement)
            and _on_objects(statement)
            and set(statement.get("Condition") or {}) == {"Bool"}
            and str(condition.get("aws:SecureTransport")).lower() == "false"
        ):
            return True
    return False


def denies_deletes(policy: Any) -> bool:
    """An unconditional Deny of every delete action to everyone, on all objects of the bucket."""
    for statement in _statements(policy):
        if (
            statement.get("Effect") == "Deny"
            and _everyone(statement)
            and not statement.get("Condition")
            and all(_covers(statement.get("Action"), action) for action in DELETE_ACTIONS)
            and any(_every_object(r) for r in _as_list(statement.get("Resource")))
        ):
            return True
    return False


def bucket_policy_tls_only(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != BUCKET_POLICY:
        return
    if not denies_insecure_transport(args.props.get("policy")):
        report(
            "Bucket policy must deny every S3 action to everyone when aws:SecureTransport is false "
            "(on the bucket and on its objects).",
            None,
        )


def _points_at(resource: PolicyResource, prop: str, target: PolicyResource, target_prop: str) -> bool:
    """`resource.prop` names `target`: by the engine's dependency record, or by the literal value."""
    if any(dep.urn == target.urn for dep in resource.property_dependencies.get(prop, [])):
        return True
    value = target.props.get(target_prop)
    return value is not None and resource.props.get(prop) == value


def _exempt(bucket: PolicyResource) -> bool:
    return str((bucket.props.get("tags") or {}).get(EXEMPT_TAG, "")).lower() == "false"


def _versioned(bucket: PolicyResource, resources: list[PolicyResource]) -> bool:
    return any(
        r.resource_type == VERSIONING
        and _points_at(r, "bucket", bucket, "bucket")
        and (r.props.get("versioningConfiguration") or {}).get("status") == "Enabled"
        for r in resources
    )


def _locked(bucket: PolicyResource, resources: list[PolicyResource]) -> bool:
    for r in resources:
        if r.resource_type != OBJECT_LOCK or not _points_at(r, "bucket", bucket, "bucket"):
            continue
        retention = (r.props.get("rule") or {}).get("defaultRetention") or {}
        period = int(retention.get("days") or 0) + int(retention.get("years") or 0)
        if r.props.get("objectLockEnabled", "Enabled") == "Enabled" and (
            retention.get("mode") in LOCK_MODES and period > 0
        ):
            return True
    return False


def artifact_buckets_immutable(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    for bucket in (r for r in resources if r.resource_type == BUCKET and not _exempt(r)):
        label = bucket.props.get("bucket", bucket.name)
        if not _versioned(bucket, resources):
            report(f"Bucket '{label}' holds model artifacts and must be versioned.", bucket.urn)
        if not _locked(bucket, resources):
            report(
                f"Bucket '{label}' holds model artifacts and must have Object Lock with a default "
                "retention (GOVERNANCE or COMPLIANCE, a period above zero).",
                bucket.urn,
            )
        policies = [
            r
            for r in resources
            if r.resource_type == BUCKET_POLICY and _points_at(r, "bucket", bucket, "bucket")
        ]
        if not any(denies_insecure_transport(p.props.get("policy")) for p in policies):
            report(f"Bucket '{label}' must have a TLS-only bucket policy.", bucket.urn)
        if not any(denies_deletes(p.props.get("policy")) for p in policies):
            report(
                f"Bucket '{label}' must have a bucket policy denying "
                f"{', '.join(DELETE_ACTIONS)} to everyone.",
                bucket.urn,
            )


# The one stack whose bucket holds model artifacts on AWS (infra: settings.REGISTRY_STACK).
REGISTRY_STACK = "registry"


def artifact_buckets_in_the_registry_only(args: StackValidationArgs, report: ReportViolation) -> None:
    """Model artifacts live in the registry stack's bucket alone: an environment's stack that declared
    one of its own would let its overlays pin bytes no other rung can read, and a promotion would no
    longer move the same artifact up the ladder. Buckets tagged as holding none (payloads) are fine."""
    stack = str(args.get_config().get("stack") or os.environ.get("PULUMI_STACK", ""))
    if stack == REGISTRY_STACK:
        return
    for bucket in (r for r in args.resources if r.resource_type == BUCKET and not _exempt(r)):
        label = bucket.props.get("bucket", bucket.name)
        report(
            f"Bucket '{label}' would hold model artifacts in stack {stack or '(unnamed)'}: they live in "
            f"the {REGISTRY_STACK} stack's bucket, which every environment reads.",
            bucket.urn,
        )


def _is_mlflow_server_trust(policy: Any) -> bool:
    for statement in _statements(policy):
        for pairs in (statement.get("Condition") or {}).values():
            if not isinstance(pairs, dict):
                continue
            subjects = [v for key, value in pairs.items() if key.endswith(":sub") for v in _as_list(value)]
            if f"system:serviceaccount:{MLFLOW_NAMESPACE}:{MLFLOW_SERVICE_ACCOUNT}" in subjects:
                return True
            namespaces = _as_list(pairs.get("aws:RequestTag/kubernetes-namespace"))
            accounts = _as_list(pairs.get("aws:RequestTag/kubernetes-service-account"))
            if MLFLOW_NAMESPACE in namespaces and MLFLOW_SERVICE_ACCOUNT in accounts:
                return True
    return False


def _role_documents(role: PolicyResource, resources: list[PolicyResource]) -> list[Any]:
    """The policy documents a role holds: its inline policies and the RolePolicies attached to it."""
    documents = [p.get("policy") for p in role.props.get("inlinePolicies") or [] if isinstance(p, dict)]
    documents += [
        r.props.get("policy")
        for r in resources
        if r.resource_type == ROLE_POLICY and _points_at(r, "role", role, "name")
    ]
    return documents


def _writes(policy: Any, actions: Sequence[str] = OBJECT_WRITE_ACTIONS) -> list[str]:
    """Which of `actions` an Allow of `policy` grants (a NotAction Allow counts as granting them)."""
    found = []
    for statement in _statements(policy):
        if statement.get("Effect", "Allow") != "Allow":
            continue
        if "NotAction" in statement:
            found.append("NotAction")
        found += [a for a in actions if _covers(statement.get("Action"), a)]
    return found


def mlflow_server_reads_only(args: StackValidationArgs, report: ReportViolation) -> None:
    """The MLflow server's role (trusted by its service account) gets no S3 object write or delete.

    Managed policy attachments are refused outright: what they allow is not in the stack to check.
    """
    resources = list(args.resources)
    for role in (r for r in resources if r.resource_type == ROLE):
        if not _is_mlflow_server_trust(role.props.get("assumeRolePolicy")):
            continue
        for document in _role_documents(role, resources):
            if found := _writes(document):
                report(
                    f"The MLflow server's role must not write or delete objects; it allows {found}.", role.urn
                )
        attached = [
            r for r in resources if r.resource_type == ATTACHMENT and _points_at(r, "role", role, "name")
        ]
        if attached or role.props.get("managedPolicyArns"):
            report(
                "The MLflow server's role must carry no managed policies (their rights are unchecked).",
                role.urn,
            )


# --- Cross-account reads of the registry bucket -------------------------------------------------
# MLflow 3's logged-model layout, `<experiment>/models/<model id>/artifacts/...` (infra:
# manifests/iam.py REGISTERED_MODEL_PREFIX; tests/infra/test_policies.py holds the two equal).
REGISTERED_MODEL_PREFIX = "*/models/m-*/artifacts"
REGISTERED_MODEL_LIST_PREFIXES = (REGISTERED_MODEL_PREFIX, f"{REGISTERED_MODEL_PREFIX}/*")
MODEL_READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")
LIST_ACTION = "s3:ListBucket"
# The runs' datasets (infra: iam.RUN_DATASET_PREFIX), which only the environments' monitor jobs
# read: their reference for drift. Their listing prefixes are MLflow's, always with a slash.
RUN_DATASET_PREFIX = "*/*/artifacts/datasets"
MONITOR_OBJECT_PREFIXES = (REGISTERED_MODEL_PREFIX, RUN_DATASET_PREFIX)
MONITOR_LIST_PREFIXES = tuple(f"{prefix}/*" for prefix in MONITOR_OBJECT_PREFIXES)
# The model readers' and monitors' role names (infra: iam.model_reader_role_name,
# iam.model_monitor_role_name): what the registry's bucket and key policies name, so the roles that
# can read across accounts.
READER_ROLE_NAME = re.compile(r"modelops-.+-model-reader")
MONITOR_ROLE_NAME = re.compile(r"modelops-.+-model-monitor")
_ROLE_ARN = re.compile(r"arn:aws:iam::\d{12}:role/(.+)")
# What a reader must never be allowed; a wildcard that covers any of them counts.
S3_WRITE_ACTIONS = (
    *OBJECT_WRITE_ACTIONS,
    "s3:PutObjectAcl",
    "s3:PutObjectVersionAcl",
    "s3:PutObjectTagging",
    "s3:DeleteObjectTagging",
    "s3:DeleteObjectVersionTagging",
    "s3:AbortMultipartUpload",
    "s3:ReplicateObject",
    "s3:ReplicateDelete",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:DeleteBucket",
    "s3:PutBucketVersioning",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutLifecycleConfiguration",
)


def _exact(value: Any) -> bool:
    return isinstance(value, str) and "*" not in value and "?" not in value


def _monitors_only(statement: dict[str, Any]) -> bool:
    """The statement's grantees are all monitor roles, each named by one exact ARN: by the
    `aws:PrincipalArn` it is narrowed to (`StringEquals`), else by its Principal."""
    narrowed = ((statement.get("Condition") or {}).get("StringEquals") or {}).get("aws:PrincipalArn")
    grantees = _as_list(narrowed if narrowed is not None else (statement.get("Principal") or {}).get("AWS"))
    return bool(grantees) and all(
        _exact(g) and (match := _ROLE_ARN.fullmatch(g)) is not None and MONITOR_ROLE_NAME.fullmatch(match[1])
        for g in grantees
    )


def _grant_problems(statement: dict[str, Any]) -> list[str]:
    """What an Allow in a bucket policy grants beyond Get/List on registered model prefixes, or, for
    monitor roles alone, on registered model prefixes and the runs' datasets."""
    for element in ("NotAction", "NotResource", "NotPrincipal"):
        if element in statement:
            return [f"it allows through {element}"]
    principal = statement.get("Principal")
    if not isinstance(principal, dict) or set(principal) != {"AWS"} or "*" in _as_list(principal["AWS"]):
        return [f"its principal {principal!r} is not a list of AWS accounts or roles"]
    monitors = _monitors_only(statement)
    objects = MONITOR_OBJECT_PREFIXES if monitors else (REGISTERED_MODEL_PREFIX,)
    list_prefixes = MONITOR_LIST_PREFIXES if monitors else REGISTERED_MODEL_LIST_PREFIXES
    actions = _as_list(statement.get("Action"))
    problems = [f"it allows {a!r}" for a in actions if a not in (*MODEL_READ_ACTIONS, LIST_ACTION)]
    resources = [str(r) for r in _as_list(statement.get("Resource"))]
    if any(a in MODEL_READ_ACTIONS for a in actions):
        allowed = [f"{prefix}/*" for prefix in objects]
        wide = [r for r in resources if r.partition("/")[2] not in allowed]
        problems += [f"it reads {r!r}, not {' or '.join(allowed)}" for r in wide]
    if LIST_ACTION in actions:
        problems += [f"it lists on {r!r}, not the bucket" for r in resources if "/" in r or not _exact(r)]
        conditions = statement.get("Condition") or {}
        prefixes = [
            v
            for operator in ("StringLike", "StringEquals")
            for v in _as_list((conditions.get(operator) or {}).get("s3:prefix", []))
        ]
        if not prefixes or any(p not in list_prefixes for p in prefixes):
            limit = ", ".join(list_prefixes)
            problems.append(f"it lists without an s3:prefix condition (StringLike) limited to {limit}")
    return problems


def bucket_policy_grants_registered_reads_only(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A bucket policy may grant only Get/GetVersion on registered model prefixes and listing under them;
    to the environments' monitor roles alone (each named by its exact ARN), the runs' datasets too.

    Held for every Allow, whoever it names: a bucket policy is how principals of other accounts get
    in (the environments' model readers), the owning account's roles need none (their own IAM
    policies suffice), and at preview the rule cannot tell the bucket's account from another.
    """
    if args.resource_type != BUCKET_POLICY:
        return
    for statement in _statements(args.props.get("policy")):
        if statement.get("Effect") != "Allow":
            continue
        for problem in _grant_problems(statement):
            report(
                f"Bucket policy statement {statement.get('Sid', '(no Sid)')} grants more than reading "
                f"registered models: {problem}.",
                None,
            )


def model_reader_never_writes(args: StackValidationArgs, report: ReportViolation) -> None:
    """A model reader's or monitor's role (named as the registry's policies name them) allows no S3
    write or delete, on any bucket: neither writes anything (the monitor pushes its results to the
    Pushgateway, and the payloads it reads are the sink's).

    Managed policy attachments are refused: what they allow is not in the stack to check.
    """
    resources = list(args.resources)
    for role in (r for r in resources if r.resource_type == ROLE):
        name = str(role.props.get("name") or "")
        if not (READER_ROLE_NAME.fullmatch(name) or MONITOR_ROLE_NAME.fullmatch(name)):
            continue
        for document in _role_documents(role, resources):
            if found := _writes(document, S3_WRITE_ACTIONS):
                report(
                    f"Role {name} reads models and must not write or delete in S3; it allows {found}.",
                    role.urn,
                )
        attached = [
            r for r in resources if r.resource_type == ATTACHMENT and _points_at(r, "role", role, "name")
        ]
        if attached or role.props.get("managedPolicyArns"):
            report(
                f"Role {name} reads models and must carry no managed policies (their rights are unchecked).",
                role.urn,
            )
