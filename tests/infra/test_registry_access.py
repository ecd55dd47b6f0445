"""Each environment's model reader reads registered models of the shared registry bucket, and nothing else;
no principal of an environment's account writes or deletes there; the registry's writers add, never delete.

What this reads: the stacks as `pulumi up` would declare them, under Pulumi's mocks (the session's
`registry_stack` and `stacks`, from environments/shared/registry.yaml and environments/*.yaml). The
identity side is each environment stack's model-reader role (its name and role policy, built from the
registry's bucket and key ARNs its StackReference returns) and, in the registry's account, its job
writer and CI's gate and retrain role policies. The resource side is the `BucketPolicy` and the KMS
`Key` policy the registry stack declares, naming the environments' accounts from its settings.

Requests are decided by `iam_evaluation.is_allowed`, AWS's rule: an explicit Deny anywhere wins,
and across accounts both the caller's policy and the bucket's (or key's) must allow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from modelops_infra.backends.aws_storage import registry_bucket_name
from modelops_infra.manifests.iam import model_reader_role_arn
from modelops_infra.settings import load_registry_settings
from tests.conftest import REPO_ROOT
from tests.infra.conftest import AWS_STACKS
from tests.infra.harness import ACCOUNT as MOCK_ACCOUNT
from tests.infra.harness import StackUnderTest
from tests.infra.iam_evaluation import Request, Resource, is_allowed

_REGISTRY = load_registry_settings(root=REPO_ROOT).settings
REGISTRY_ACCOUNT = _REGISTRY.account_id
REGION = _REGISTRY.aws.region
BUCKET = registry_bucket_name()
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
ENVIRONMENT_ACCOUNTS = {reader.environment: reader.account_id for reader in _REGISTRY.readers}
ELSEWHERE = "999900000000"  # an account the registry does not list
KEY_ARN = f"arn:aws:kms:{REGION}:{MOCK_ACCOUNT}:registry-artifacts"  # the mocks' ARN for the declared key

MODEL_KEY = "1/models/m-abc/artifacts/model.pkl"
RUN_KEY = "1/0123456789abcdef0123456789abcdef/artifacts/x"
OTHER_KEYS = (RUN_KEY, "payloads/dev/2026/12/07/part-0.json", "1/models/m-abc/meta.yaml", "model.pkl")
WRITES = (
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectAcl",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:BypassGovernanceRetention",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
)
ADMIN = json.dumps({"Statement": [{"Effect": "Allow", "Action": ["s3:*", "kms:*"], "Resource": "*"}]})


def _inputs(stack: StackUnderTest, type_: str, name: str) -> dict[str, Any]:
    (found,) = [d.inputs for d in stack.of_type(type_) if d.name == name]
    return found


@dataclass(frozen=True)
class Reader:
    environment: str
    arn: str  # from the role name the stack declares and the environment's account
    policy: str  # the role policy the stack declares


@pytest.fixture(scope="module")
def readers(stacks: dict[str, StackUnderTest]) -> dict[str, Reader]:
    found = {}
    for environment, account in ENVIRONMENT_ACCOUNTS.items():
        stack = stacks[environment]
        name = _inputs(stack, "aws:iam/role:Role", "artifacts-model-reader")["name"]
        policy = _inputs(stack, "aws:iam/rolePolicy:RolePolicy", "artifacts-model-reader")["policy"]
        found[environment] = Reader(environment, f"arn:aws:iam::{account}:role/{name}", policy)
    return found


@pytest.fixture(scope="module")
def registry_roles(registry_stack: StackUnderTest) -> dict[str, str]:
    """The registry account's writers and CI roles: role policy by name, as declared."""
    names = ("artifacts-job-writer", "ci-gate", "ci-retrain")
    return {name: _inputs(registry_stack, "aws:iam/rolePolicy:RolePolicy", name)["policy"] for name in names}


@pytest.fixture(scope="module")
def registry_side(registry_stack: StackUnderTest) -> tuple[Resource, Resource]:
    """The bucket and its key, with the policies the registry stack declares."""
    (bucket_policy,) = [
        d.inputs["policy"] for d in registry_stack.of_type("aws:s3/bucketPolicy:BucketPolicy")
    ]
    key_policy = _inputs(registry_stack, "aws:kms/key:Key", "registry-artifacts")["policy"]
    assert registry_stack.outputs["artifact_key_arn"] == KEY_ARN
    assert registry_stack.outputs["artifact_bucket_arn"] == BUCKET_ARN
    bucket = Resource(BUCKET_ARN, REGISTRY_ACCOUNT, bucket_policy)
    key = Resource(KEY_ARN, REGISTRY_ACCOUNT, key_policy, policy_required=True)
    return bucket, key


def test_the_registry_names_every_environment_stack_on_aws():
    assert set(ENVIRONMENT_ACCOUNTS) == set(AWS_STACKS)


def _s3(
    principal: str, action: str, key: str | None, *, prefix: str | None = None, **context: str
) -> Request:
    resource = BUCKET_ARN if key is None else f"{BUCKET_ARN}/{key}"
    prefixed = {"s3:prefix": prefix} if prefix is not None else {}
    return Request(action, resource, {**prefixed, **context}, principal=principal)


def _decrypt(principal: str, action: str = "kms:Decrypt", *, via: str | None = f"s3.{REGION}.amazonaws.com"):
    return Request(action, KEY_ARN, {"kms:ViaService": via} if via else {}, principal=principal)


@pytest.mark.parametrize("environment", AWS_STACKS)
def test_the_declared_reader_is_the_role_the_registry_names(readers, environment):
    assert readers[environment].arn == model_reader_role_arn(ENVIRONMENT_ACCOUNTS[environment], environment)


@pytest.mark.parametrize("environment", AWS_STACKS)
def test_each_reader_reads_a_registered_model_through_s3_and_its_key(readers, registry_side, environment):
    bucket, key = registry_side
    reader = readers[environment]
    for action in ("s3:GetObject", "s3:GetObjectVersion"):
        assert is_allowed(_s3(reader.arn, action, MODEL_KEY), identity=[reader.policy], resource=bucket)
    # What KServe's storage initializer lists (the pinned URI, no trailing slash), and MLflow's way.
    for prefix in ("1/models/m-abc/artifacts", "1/models/m-abc/artifacts/"):
        listing = _s3(reader.arn, "s3:ListBucket", None, prefix=prefix)
        assert is_allowed(listing, identity=[reader.policy], resource=bucket)
    assert is_allowed(_decrypt(reader.arn), identity=[reader.policy], resource=key)


@pytest.mark.parametrize("environment", AWS_STACKS)
def test_each_reader_reads_nothing_else(readers, registry_side, environment):
    bucket, key = registry_side
    reader = readers[environment]
    for object_key in OTHER_KEYS:
        for action in ("s3:GetObject", "s3:GetObjectVersion"):
            assert not is_allowed(
                _s3(reader.arn, action, object_key), identity=[reader.policy], resource=bucket
            )
    for prefix in (None, "", "1/", "1/models/", "1/0123456789abcdef0123456789abcdef/artifacts", "payloads/"):
        listing = _s3(reader.arn, "s3:ListBucket", None, prefix=prefix)
        assert not is_allowed(listing, identity=[reader.policy], resource=bucket), prefix
    plain = _s3(reader.arn, "s3:GetObject", MODEL_KEY, **{"aws:SecureTransport": "false"})
    assert not is_allowed(plain, identity=[reader.policy], resource=bucket)
    # The key: decrypt only, only through S3 in the bucket's region.
    assert not is_allowed(_decrypt(reader.arn, via=None), identity=[reader.policy], resource=key)
    assert not is_allowed(
        _decrypt(reader.arn, via="s3.us-east-1.amazonaws.com"), identity=[reader.policy], resource=key
    )
    for action in ("kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:PutKeyPolicy"):
        assert not is_allowed(_decrypt(reader.arn, action), identity=[reader.policy], resource=key)


@pytest.mark.parametrize("environment", AWS_STACKS)
def test_no_principal_of_an_environment_writes_or_deletes_whatever_its_own_account_grants(
    readers, registry_side, environment
):
    bucket, _ = registry_side
    account = ENVIRONMENT_ACCOUNTS[environment]
    principals = (readers[environment].arn, f"arn:aws:iam::{account}:role/modelops-{environment}-deploy")
    for principal in principals:
        for identity in ([readers[environment].policy], [ADMIN]):
            for object_key in (MODEL_KEY, *OTHER_KEYS):
                for action in WRITES:
                    request = _s3(principal, action, object_key)
                    assert not is_allowed(request, identity=identity, resource=bucket), (principal, action)
            # Granting itself everything does not widen the reader's read either.
            assert not is_allowed(_s3(principal, "s3:GetObject", RUN_KEY), identity=identity, resource=bucket)
    # Only the named reader role reads; another role of the same account gets nothing.
    deploy = principals[1]
    assert not is_allowed(_s3(deploy, "s3:GetObject", MODEL_KEY), identity=[ADMIN], resource=bucket)


def test_a_reader_in_an_account_the_registry_does_not_list_gets_nothing(readers, registry_side):
    bucket, key = registry_side
    for environment, reader in readers.items():
        impostor = model_reader_role_arn(ELSEWHERE, environment)  # same name, unlisted account
        for identity in ([reader.policy], [ADMIN]):
            assert not is_allowed(
                _s3(impostor, "s3:GetObject", MODEL_KEY), identity=identity, resource=bucket
            )
            listing = _s3(impostor, "s3:ListBucket", None, prefix="1/models/m-abc/artifacts")
            assert not is_allowed(listing, identity=identity, resource=bucket)
            assert not is_allowed(_decrypt(impostor), identity=identity, resource=key)


def test_the_registrys_writers_add_and_never_delete_and_the_gate_only_reads(registry_roles, registry_side):
    bucket, key = registry_side
    for name in ("artifacts-job-writer", "ci-retrain"):
        writer = f"arn:aws:iam::{REGISTRY_ACCOUNT}:role/{name}"
        policy = [registry_roles[name]]
        assert is_allowed(_s3(writer, "s3:PutObject", MODEL_KEY), identity=policy, resource=bucket), name
        assert is_allowed(_s3(writer, "s3:PutObject", RUN_KEY), identity=policy, resource=bucket), name
        assert is_allowed(_decrypt(writer, "kms:GenerateDataKey"), identity=policy, resource=key), name
        for action in ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"):
            assert not is_allowed(_s3(writer, action, MODEL_KEY), identity=policy, resource=bucket), name
    gate = f"arn:aws:iam::{REGISTRY_ACCOUNT}:role/ci-gate"
    assert is_allowed(
        _s3(gate, "s3:GetObject", MODEL_KEY), identity=[registry_roles["ci-gate"]], resource=bucket
    )
    for action in ("s3:PutObject", "s3:DeleteObject"):
        assert not is_allowed(
            _s3(gate, action, MODEL_KEY), identity=[registry_roles["ci-gate"]], resource=bucket
        )
    # Even the registry account's administrators cannot delete: the bucket policy's deny binds them.
    admin = f"arn:aws:iam::{REGISTRY_ACCOUNT}:role/ci-deploy"
    assert not is_allowed(_s3(admin, "s3:DeleteObject", MODEL_KEY), identity=[ADMIN], resource=bucket)


@pytest.mark.parametrize("environment", AWS_STACKS)
def test_either_side_alone_keeps_a_reader_to_registered_models(readers, registry_side, environment):
    """Should one side be widened by mistake (the bucket policy to every key, or the environment's
    role policy to everything), the other still holds: each limits the reader on its own."""
    bucket, _ = registry_side
    reader = readers[environment]
    everything_for_the_reader = json.dumps(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": reader.arn},
                    "Action": "s3:*",
                    "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"],
                }
            ]
        }
    )
    open_bucket = Resource(BUCKET_ARN, REGISTRY_ACCOUNT, everything_for_the_reader)
    assert is_allowed(
        _s3(reader.arn, "s3:GetObject", MODEL_KEY), identity=[reader.policy], resource=open_bucket
    )
    for object_key in OTHER_KEYS:
        for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
            request = _s3(reader.arn, action, object_key)
            assert not is_allowed(request, identity=[reader.policy], resource=open_bucket)
    assert not is_allowed(
        _s3(reader.arn, "s3:PutObject", MODEL_KEY), identity=[reader.policy], resource=open_bucket
    )
    assert not is_allowed(
        _s3(reader.arn, "s3:ListBucket", None, prefix="1/"), identity=[reader.policy], resource=open_bucket
    )
    # And the other way round: the registry's policy against a reader granted everything at home.
    assert is_allowed(_s3(reader.arn, "s3:GetObject", MODEL_KEY), identity=[ADMIN], resource=bucket)
    assert not is_allowed(_s3(reader.arn, "s3:GetObject", RUN_KEY), identity=[ADMIN], resource=bucket)
    assert not is_allowed(
        _s3(reader.arn, "s3:ListBucket", None, prefix="1/"), identity=[ADMIN], resource=bucket
    )
