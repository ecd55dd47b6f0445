"""Each environment's model reader reads registered models of the shared registry bucket, and nothing else;
its monitor job reads registered models and the runs' datasets, and nothing else; no principal of an
environment's account writes or deletes there; the registry's writers add, never delete.

What this reads: the stacks as `pulumi up` would declare them, under Pulumi's mocks (the session's
`registry_stack` and `stacks`, from environments/shared/registry.yaml and environments/*.yaml). The
identity side is each environment stack's model-reader and monitor roles (their names and role
policies, built from the registry's bucket and key ARNs its StackReference returns) and, in the
registry's account, its job writer and CI's gate and retrain role policies. The resource side is the
`BucketPolicy` and the KMS `Key` policy the registry stack declares, naming the environments'
accounts from its settings.

Requests are decided by `iam_evaluation.is_allowed`, AWS's rule: an explicit Deny anywhere wins,
and across accounts both the caller's policy and the bucket's (or key's) must allow.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from modelops.registry.register import DATASET_ARTIFACTS
from modelops_infra.backends.aws_storage import registry_bucket_name
from modelops_infra.manifests.iam import (
    artifact_bucket_policy,
    model_monitor_role_arn,
    model_reader_role_arn,
    registry_key_policy,
)
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


# --- The monitor jobs: registered models and the runs' datasets --------------------------------------
RUN = "0123456789abcdef0123456789abcdef"
# Where `modelops register` stores a version's data with its run (register.DATASET_ARTIFACTS).
DATASET_KEYS = tuple(f"1/{RUN}/artifacts/{path}" for path in DATASET_ARTIFACTS.values())
# The same run's other artifacts, and keys that only look like its datasets: none is the monitor's.
RUN_ARTIFACTS = (
    f"1/{RUN}/artifacts/model.pkl",
    f"1/{RUN}/artifacts/metrics.json",
    f"1/{RUN}/artifacts/datasets",
    f"1/{RUN}/artifacts/datasets-old/training.parquet",
    f"1/{RUN}/artifacts/other/datasets.parquet",
    f"1/{RUN}/datasets/training.parquet",
)
# What MLflow's S3 client lists with (`S3ArtifactRepository.list_artifacts`: always a trailing slash):
# the model's folder and a subfolder, the run's `datasets/`, and a dataset file, which a download
# first probes as a folder. test_the_monitor_is_allowed_every_request_mlflow_sends records them.
MONITOR_LISTINGS = (
    "1/models/m-abc/artifacts/",
    "1/models/m-abc/artifacts/metadata/",
    f"1/{RUN}/artifacts/datasets/",
    f"{DATASET_KEYS[0]}/",
)
FORBIDDEN_LISTINGS = (
    None,
    "",
    "1/",
    "1/models/",
    f"1/{RUN}/",
    f"1/{RUN}/artifacts",
    f"1/{RUN}/artifacts/",
    f"1/{RUN}/artifacts/datasets",  # would list `datasets-old/` too
    f"1/{RUN}/artifacts/model.pkl/",
    "payloads/",
)


@dataclass(frozen=True)
class Monitor:
    environment: str
    arn: str  # from the role name the stack declares and the environment's account
    policies: tuple[str, ...]  # every role policy the stack declares for it (registry's bucket, payloads)


@pytest.fixture(scope="module")
def monitors(stacks: dict[str, StackUnderTest]) -> dict[str, Monitor]:
    found = {}
    for environment, account in ENVIRONMENT_ACCOUNTS.items():
        stack = stacks[environment]
        name = _inputs(stack, "aws:iam/role:Role", "monitor-role")["name"]
        policies = tuple(
            _inputs(stack, "aws:iam/rolePolicy:RolePolicy", policy)["policy"]
            for policy in ("monitor-role", "monitor-payloads")
        )
        found[environment] = Monitor(environment, f"arn:aws:iam::{account}:role/{name}", policies)
    return found


@pytest.mark.parametrize("environment", AWS_STACKS)
def test_the_declared_monitor_is_the_role_the_registry_names_with_the_policies_read_here(
    stacks, monitors, environment
):
    assert monitors[environment].arn == model_monitor_role_arn(ENVIRONMENT_ACCOUNTS[environment], environment)
    # Every policy the stack attaches to the role is one the fixture reads (the mocks' id is
    # `<name>-id`): a third, unread here, would be unchecked.
    stack = stacks[environment]
    attached = [
        p.name
        for p in stack.of_type("aws:iam/rolePolicy:RolePolicy")
        if p.inputs["role"] == "monitor-role-id"
    ]
    assert sorted(attached) == ["monitor-payloads", "monitor-role"]
    managed = stack.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert not [a for a in managed if a.inputs["role"] == "monitor-role-id"]


@pytest.mark.parametrize("environment", AWS_STACKS)
def test_each_monitor_reads_a_registered_model_and_its_runs_datasets_through_s3_and_its_key(
    monitors, registry_side, environment
):
    bucket, key = registry_side
    monitor = monitors[environment]
    for object_key in (MODEL_KEY, *DATASET_KEYS):
        for action in ("s3:GetObject", "s3:GetObjectVersion"):
            request = _s3(monitor.arn, action, object_key)
            assert is_allowed(request, identity=list(monitor.policies), resource=bucket), object_key
    for prefix in MONITOR_LISTINGS:
        listing = _s3(monitor.arn, "s3:ListBucket", None, prefix=prefix)
        assert is_allowed(listing, identity=list(monitor.policies), resource=bucket), prefix
    assert is_allowed(_decrypt(monitor.arn), identity=list(monitor.policies), resource=key)


@pytest.mark.parametrize("environment", AWS_STACKS)
def test_each_monitor_reads_nothing_else(monitors, registry_side, environment):
    bucket, key = registry_side
    monitor = monitors[environment]
    for identity in (list(monitor.policies), [ADMIN]):
        for object_key in (*RUN_ARTIFACTS, *OTHER_KEYS):
            for action in ("s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAcl", "s3:GetObjectTagging"):
                request = _s3(monitor.arn, action, object_key)
                assert not is_allowed(request, identity=identity, resource=bucket), (object_key, action)
        for prefix in FORBIDDEN_LISTINGS:
            listing = _s3(monitor.arn, "s3:ListBucket", None, prefix=prefix)
            assert not is_allowed(listing, identity=identity, resource=bucket), prefix
        for action in ("s3:ListBucketVersions", "s3:GetBucketPolicy", "s3:GetBucketAcl"):
            assert not is_allowed(_s3(monitor.arn, action, None), identity=identity, resource=bucket), action
    plain = _s3(monitor.arn, "s3:GetObject", DATASET_KEYS[0], **{"aws:SecureTransport": "false"})
    assert not is_allowed(plain, identity=list(monitor.policies), resource=bucket)
    # The key: decrypt only, only through S3 in the bucket's region, even if its account grants kms:*.
    for identity in (list(monitor.policies), [ADMIN]):
        assert not is_allowed(_decrypt(monitor.arn, via=None), identity=identity, resource=key)
        elsewhere = _decrypt(monitor.arn, via="s3.us-east-1.amazonaws.com")
        assert not is_allowed(elsewhere, identity=identity, resource=key)
        for action in ("kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:PutKeyPolicy"):
            assert not is_allowed(_decrypt(monitor.arn, action), identity=identity, resource=key), action


@pytest.mark.parametrize("environment", AWS_STACKS)
def test_a_monitor_writes_and_deletes_nothing_whatever_its_own_account_grants(
    monitors, registry_side, environment
):
    bucket, _ = registry_side
    monitor = monitors[environment]
    for identity in (list(monitor.policies), [ADMIN]):
        for object_key in (MODEL_KEY, *DATASET_KEYS, *RUN_ARTIFACTS, *OTHER_KEYS):
            for action in WRITES:
                request = _s3(monitor.arn, action, object_key)
                assert not is_allowed(request, identity=identity, resource=bucket), (object_key, action)


def test_a_monitor_in_an_account_the_registry_does_not_list_gets_nothing(monitors, registry_side):
    bucket, key = registry_side
    for environment, monitor in monitors.items():
        impostor = model_monitor_role_arn(ELSEWHERE, environment)  # same name, unlisted account
        for identity in (list(monitor.policies), [ADMIN]):
            for object_key in (MODEL_KEY, *DATASET_KEYS):
                request = _s3(impostor, "s3:GetObject", object_key)
                assert not is_allowed(request, identity=identity, resource=bucket), object_key
            for prefix in MONITOR_LISTINGS:
                listing = _s3(impostor, "s3:ListBucket", None, prefix=prefix)
                assert not is_allowed(listing, identity=identity, resource=bucket), prefix
            assert not is_allowed(_decrypt(impostor), identity=identity, resource=key)


@pytest.mark.parametrize("environment", AWS_STACKS)
def test_model_readers_still_read_no_dataset(readers, registry_side, environment):
    """The monitors' grant is theirs alone: model pods read registered models and nothing more."""
    bucket, _ = registry_side
    reader = readers[environment]
    for identity in ([reader.policy], [ADMIN]):
        for object_key in DATASET_KEYS:
            for action in ("s3:GetObject", "s3:GetObjectVersion"):
                request = _s3(reader.arn, action, object_key)
                assert not is_allowed(request, identity=identity, resource=bucket), (object_key, action)
        for prefix in MONITOR_LISTINGS[2:]:
            listing = _s3(reader.arn, "s3:ListBucket", None, prefix=prefix)
            assert not is_allowed(listing, identity=identity, resource=bucket), prefix


@pytest.mark.parametrize("environment", AWS_STACKS)
def test_either_side_alone_keeps_a_monitor_to_models_and_datasets(monitors, registry_side, environment):
    bucket, _ = registry_side
    monitor = monitors[environment]
    everything = json.dumps(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": monitor.arn},
                    "Action": "s3:*",
                    "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"],
                }
            ]
        }
    )
    open_bucket = Resource(BUCKET_ARN, REGISTRY_ACCOUNT, everything)
    identity = list(monitor.policies)
    assert is_allowed(
        _s3(monitor.arn, "s3:GetObject", DATASET_KEYS[0]), identity=identity, resource=open_bucket
    )
    for object_key in RUN_ARTIFACTS:
        for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
            request = _s3(monitor.arn, action, object_key)
            assert not is_allowed(request, identity=identity, resource=open_bucket), (object_key, action)
    assert not is_allowed(
        _s3(monitor.arn, "s3:ListBucket", None, prefix=f"1/{RUN}/"), identity=identity, resource=open_bucket
    )
    # And the other way round: the registry's policy against a monitor granted everything at home.
    assert is_allowed(_s3(monitor.arn, "s3:GetObject", DATASET_KEYS[0]), identity=[ADMIN], resource=bucket)
    assert not is_allowed(
        _s3(monitor.arn, "s3:GetObject", RUN_ARTIFACTS[0]), identity=[ADMIN], resource=bucket
    )


@pytest.mark.parametrize(
    "monitor",
    [
        f"arn:aws:iam::{ELSEWHERE}:root",
        f"arn:aws:iam::{ELSEWHERE}:role/modelops-*-model-monitor",
        f"arn:aws:iam::{ELSEWHERE}:user/modelops-dev-model-monitor",
        f"arn:aws:sts::{ELSEWHERE}:assumed-role/modelops-dev-model-monitor/session",
    ],
)
def test_a_monitor_that_is_not_exactly_one_role_is_refused(monitor):
    with pytest.raises(ValueError, match="exact ARN of one IAM role"):
        artifact_bucket_policy(BUCKET, monitors=[monitor])
    with pytest.raises(ValueError, match="exact ARN of one IAM role"):
        registry_key_policy(account_id=REGISTRY_ACCOUNT, readers=[], monitors=[monitor])


def test_a_role_named_both_model_reader_and_monitor_is_refused():
    role = model_reader_role_arn(ENVIRONMENT_ACCOUNTS["dev"], "dev")
    with pytest.raises(ValueError, match="model reader and monitor"):
        artifact_bucket_policy(BUCKET, readers=[role], monitors=[role])


def _as_requests(principal: str, recorded: list[dict[str, str]]) -> list[Request]:
    """The IAM requests S3 authorizes for what the client sent (path-style: /<bucket>/<key>)."""
    found = []
    for sent in recorded:
        bucket, _, key = sent["path"].lstrip("/").partition("/")
        query = parse_qs(sent["query"], keep_blank_values=True)
        assert bucket == BUCKET, sent
        if sent["method"] == "GET" and not key and query.get("list-type") == ["2"]:
            found.append(_s3(principal, "s3:ListBucket", None, prefix=query.get("prefix", [None])[0]))
        elif sent["method"] in ("GET", "HEAD") and key and set(query) <= {"versionId"}:
            action = "s3:GetObjectVersion" if "versionId" in query else "s3:GetObject"
            found.append(_s3(principal, action, key))
        else:
            pytest.fail(f"a request this test cannot map to an IAM action: {sent}")
    return found


def test_the_monitor_is_allowed_every_request_mlflow_sends_and_a_model_reader_its_datasets_none(
    recording_s3, german_credit, monkeypatch, tmp_path: Path, monitors, readers, registry_side
):
    """The monitor's own code (`load_reference`: fetch_version, then load_run_dataset) against an S3
    API on loopback that records every request; each is then decided under the declared policies."""
    import boto3
    import mlflow

    from modelops.config import load_model_policy
    from modelops.monitoring.reference import load_reference
    from tests.conftest import register_demo_model

    endpoint, recorded = recording_s3
    for variable, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "MLFLOW_S3_ENDPOINT_URL": endpoint,
    }.items():
        monkeypatch.setenv(variable, value)
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    # The experiment's artifact root as the registry's server sets it, `s3://<bucket>/<experiment id>`.
    name = f"monitor-reads-{uuid.uuid4().hex[:8]}"
    mlflow.MlflowClient().create_experiment(f"modelops/{name}", artifact_location=f"s3://{BUCKET}/41")
    version = register_demo_model("champion", german_credit, name=name)
    recorded.clear()

    policy = load_model_policy("credit-risk", root=REPO_ROOT)
    assert policy.data.reference == "run:training"  # so the monitor reads the run's training data
    reference = load_reference(name, version, policy=policy, root=REPO_ROOT, scratch=tmp_path)
    assert len(reference.features) == len(german_credit.training)

    bucket, _ = registry_side
    for environment, monitor in monitors.items():
        requests = _as_requests(monitor.arn, recorded)
        keys = {r.resource.removeprefix(f"{BUCKET_ARN}/") for r in requests if r.action == "s3:GetObject"}
        # Not vacuous: the model's files and the training data were read, and both were listed.
        assert any(k.startswith("41/models/m-") and k.endswith("/MLmodel") for k in keys), keys
        assert any(k.endswith(f"/artifacts/{DATASET_ARTIFACTS['training']}") for k in keys), keys
        prefixes = {r.context.get("s3:prefix") for r in requests if r.action == "s3:ListBucket"}
        assert any(p and p.endswith("/artifacts/datasets/") for p in prefixes), prefixes
        for request in requests:
            assert is_allowed(request, identity=list(monitor.policies), resource=bucket), (
                environment,
                request,
            )
        # A model pod's role, sending the same: the dataset requests are refused.
        reader = readers[environment]
        for request in _as_requests(reader.arn, recorded):
            allowed = is_allowed(request, identity=[reader.policy], resource=bucket)
            about_datasets = "/artifacts/datasets" in request.resource + request.context.get("s3:prefix", "")
            assert allowed is not about_datasets, request
