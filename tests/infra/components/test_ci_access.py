"""GitHub Actions roles: who may assume each, what each may do, and the MLflow logins they fetch."""

from __future__ import annotations

import json

import pytest

from modelops_infra import layout as L
from modelops_infra.components.ci_access import PULL_REQUEST_REF, trusted_jobs
from modelops_infra.manifests.deploy_actions import ENVIRONMENT_PARTS
from modelops_infra.manifests.deploy_policy import (
    DEPLOY_POLICY_PATH,
    TAG_KEY,
    boundary_policy_arn,
    deploy_policy_documents,
    read_policy_document,
)
from modelops_infra.settings import load_registry_settings, load_settings
from modelops_infra.versions import mlflow_server_image
from tests.conftest import REPO_ROOT
from tests.github.workflow_runner import load_workflow
from tests.infra.conftest import AWS_STACKS
from tests.infra.harness import ACCOUNT
from tests.infra.iam_evaluation import Request, decide

ISSUER = "token.actions.githubusercontent.com"
# The registry stack holds the roles that need the registry (gate, retrain); every stack its own
# preview and deploy roles (platform.REGISTRY_CI_ROLES, ENVIRONMENT_CI_ROLES).
CI_STACKS = ("registry", *AWS_STACKS)
BUCKET = "arn:aws:s3:::modelops-registry-mlflow-artifacts"  # the mocks' ARN for the artifact bucket
SCRIPT = REPO_ROOT / "infra" / "modelops_infra" / "runtime" / "mlflow_users_apply.py"


def _by_name(stack, type_):
    return {r.name: r.inputs for r in stack.of_type(type_)}


def _statements(role):
    return json.loads(role["assumeRolePolicy"])["Statement"]


def _repository(name, root):
    settings = load_registry_settings(root=root) if name == "registry" else load_settings(name, root=root)
    return settings.github_repository


def _sub(repository: str, context: str, file: str, ref: str = "refs/heads/main") -> str:
    """The subject GitHub issues once repository_settings customizes it (repo, context, job_workflow_ref)."""
    return f"repo:{repository}:{context}:job_workflow_ref:{repository}/.github/workflows/{file}@{ref}"


@pytest.mark.parametrize("name", CI_STACKS)
def test_each_ci_role_trusts_its_workflow_files_at_their_ref_and_nothing_else(every_stack, repo_root, name):
    repository = _repository(name, repo_root)
    roles = _by_name(every_stack[name], "aws:iam/role:Role")
    # Written out, not derived from ci_access: the table of its docstring, checked.
    expected = {
        # A pull request's own copy of infra-preview.yml runs: only once reviewed, in infra-preview.
        "ci-preview": [
            _sub(repository, "environment:infra-preview", "infra-preview.yml", "refs/pull/*/merge")
        ],
        "ci-deploy": [_sub(repository, f"environment:{name}", "infra.yml")],
    }
    if name == "registry":
        expected |= {
            # pull_request_target: the gate's file and ref are main's, whatever the pull request holds.
            "ci-gate": [_sub(repository, "pull_request", "promotion-gate.yml")],
            "ci-retrain": [
                _sub(repository, "environment:registry", file)
                for file in ("record.yml", "retrain.yml", "rollout.yml")
            ],
        }
    assert {n for n in roles if n.startswith("ci-")} == set(expected)
    federated = {
        s["Principal"].get("Federated")
        for n, r in roles.items()
        if n.startswith("ci-")
        for s in _statements(r)
    }
    assert len(federated) == 1  # one GitHub provider for every CI role
    (provider,) = federated
    assert provider is not None and "github" in provider
    for role, subjects in expected.items():
        (statement,) = _statements(roles[role])
        claim = subjects[0] if len(subjects) == 1 else subjects
        # Exact, except the pull request's number in the preview's ref: the one StringLike.
        conditions: dict = {"StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"}}
        if role == "ci-preview":
            conditions["StringLike"] = {f"{ISSUER}:sub": claim}
        else:
            conditions["StringEquals"][f"{ISSUER}:sub"] = claim
        assert statement == {
            "Effect": "Allow",
            "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": conditions,
        }, role
        # No condition on the job_workflow_ref key: AWS never reads it, so no token would match.
        assert f"{ISSUER}:job_workflow_ref" not in json.dumps(statement), role


# The repository variable each role's ARN is given to workflows in, and the GitHub environment
# (the `sub` it trusts) of every job that assumes it.
ROLE_VARIABLES = {
    "deploy": ("DEPLOY_ROLE_ARN", None),  # None: the stack's own environment
    "retrain": ("RETRAIN_ROLE_ARN", "registry"),
    "gate": ("GATE_ROLE_ARN", None),
    "preview": ("PREVIEW_ROLE_ARNS", "infra-preview"),
}


def _workflow(file: str) -> dict:
    return load_workflow(REPO_ROOT / ".github" / "workflows" / file)


def _jobs_assuming(variable: str) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for path in sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml")):
        for job in load_workflow(path)["jobs"].values():
            if f"vars.{variable}" in json.dumps(job.get("steps", [])):
                found.setdefault(path.name, []).append(job)
    return found


def test_the_workflows_that_assume_a_role_are_exactly_the_ones_it_trusts():
    # A workflow that starts assuming a role without being added to its trust would fail at run
    # time; one that stopped using it but is still trusted is a door left open.
    for kind, (variable, environment) in ROLE_VARIABLES.items():
        jobs_of = trusted_jobs(kind, "prod")
        users = _jobs_assuming(variable)
        assert sorted(users) == sorted(jobs_of.workflows), kind
        for file, jobs in users.items():
            triggers = _workflow(file)["on"]
            if jobs_of.ref == PULL_REQUEST_REF:
                # preview runs the pull request's own file at its merge ref: in the reviewed
                # environment only, which its trust names.
                assert "pull_request" in triggers and jobs_of.context == f"environment:{environment}"
                assert all(job.get("environment") == environment for job in jobs), (kind, file)
                continue
            if jobs_of.context == "pull_request":
                # The gate: main's file (pull_request_target), in no environment.
                assert "pull_request_target" in triggers, (kind, file)
                assert all("environment" not in job for job in jobs), (kind, file)
                continue
            on_pull_requests = "pull_request" in triggers or "pull_request_target" in triggers
            for job in jobs:  # never on a pull request (the trust's main ref would refuse it anyway)
                assert not on_pull_requests or "github.event_name == 'push'" in job["if"], (kind, file)
                assert job.get("environment") == environment or (
                    environment is None and job.get("environment") in CI_STACKS
                ), (kind, file)


# The trusted files that may be started by hand: rollout advances a canary on demand, with no inputs.
DISPATCHED_BY_HAND = {"rollout.yml"}


def test_no_trusted_workflow_hands_its_subject_to_a_caller_or_takes_inputs_from_a_dispatcher():
    """A called workflow's `sub` names the called file: `workflow_call` would give any workflow that
    calls it (a pull request's, a branch's) the role it trusts. `workflow_dispatch` runs a file at the
    ref its dispatcher picks (the trust refuses any ref but main's) with inputs the dispatcher writes."""
    files = {file for kind in ROLE_VARIABLES for file in trusted_jobs(kind, "prod").workflows}
    assert files == {
        "infra-preview.yml", "infra.yml", "promotion-gate.yml", "record.yml", "retrain.yml", "rollout.yml",
    }  # fmt: skip
    for file in sorted(files):
        triggers = _workflow(file)["on"]
        assert "workflow_call" not in triggers, file
        if "workflow_dispatch" in triggers:
            assert file in DISPATCHED_BY_HAND, file
            assert not (triggers["workflow_dispatch"] or {}).get("inputs"), file


@pytest.mark.parametrize("name", ["registry"])
def test_the_gate_reads_artifacts_and_its_login_and_retrain_also_adds_artifacts(every_stack, name):
    policies = {
        n: json.loads(p["policy"])
        for n, p in _by_name(every_stack[name], "aws:iam/rolePolicy:RolePolicy").items()
    }
    key = "arn:aws:kms:eu-west-1:123456789012:registry-artifacts"  # the mocks' ARN for the bucket's key
    listing = {"Sid": "ListArtifacts", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": BUCKET}

    def login(kind):
        return {
            "Sid": "ReadMlflowCredentials",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [f"arn:aws:secretsmanager:eu-west-1:123456789012:ci-{kind}"],
        }

    assert policies["ci-gate"]["Statement"] == [
        listing,
        {"Sid": "ReadArtifacts", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"{BUCKET}/*"},
        {"Sid": "UseArtifactKey", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key},
        login("gate"),
    ]
    assert policies["ci-retrain"]["Statement"] == [
        listing,
        {
            "Sid": "WriteArtifacts",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": f"{BUCKET}/*",
        },
        {
            "Sid": "UseArtifactKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": key,
        },
        login("retrain"),
    ]
    attachments = _by_name(every_stack[name], "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    managed = {n: a["policyArn"] for n, a in attachments.items() if n.startswith("ci-")}
    # preview and deploy get the stack's own policies (test_deploy_access.py), no AWS managed one.
    assert managed == {
        "ci-preview": f"arn:aws:iam::{ACCOUNT}:ci-preview-policy",
        **{f"ci-deploy-{i}": f"arn:aws:iam::{ACCOUNT}:ci-deploy-policy-{i}" for i in range(len(managed) - 1)},
    }


@pytest.mark.parametrize("name", ["registry"])
def test_the_ci_logins_in_secrets_manager_are_the_users_mlflow_is_given(every_stack, name):
    stack = every_stack[name]
    versions = _by_name(stack, "aws:secretsmanager/secretVersion:SecretVersion")
    logins = {n: json.loads(v["secretString"]) for n, v in versions.items()}
    assert {n: v["username"] for n, v in logins.items()} == {"ci-gate": "ci-gate", "ci-retrain": "ci-retrain"}
    assert all(set(v) == {"username", "password"} for v in logins.values())
    (users,) = [
        s.inputs
        for s in stack.of_type("kubernetes:core/v1:Secret")
        if s.inputs["metadata"]["name"] == "mlflow-service-users"
    ]
    given = {u["username"]: u for u in json.loads(users["stringData"]["users.json"])}
    for login in logins.values():
        assert given[login["username"]]["password"] == login["password"]
    # The gate only reads; retrain edits (logs runs, registers versions) but never manages or deletes.
    grants = {u: {(g["resource_type"], g["permission"]) for g in given[u]["grants"]} for u in given}
    assert grants == {
        "ci-gate": {("registered_model", "READ"), ("experiment", "READ")},
        "ci-retrain": {("registered_model", "EDIT"), ("experiment", "EDIT")},
        # The monitor CronJob's own login (test_monitor_identity.py), never CI's.
        "modelops-monitor": {("registered_model", "READ"), ("experiment", "READ")},
    }
    assert {g["resource_id"] for u in given.values() for g in u["grants"]} == {"*"}


@pytest.mark.parametrize("name", ["registry"])
def test_a_job_creates_the_users_through_mlflows_api_at_deploy_time(every_stack, repo_root, name):
    stack = every_stack[name]
    (job,) = [
        j.inputs
        for j in stack.of_type("kubernetes:batch/v1:Job")
        if j.inputs["metadata"]["name"] == "mlflow-users"
    ]
    assert job["metadata"]["namespace"] == L.MLFLOW_NAMESPACE
    template = job["spec"]["template"]
    assert template["metadata"]["labels"] == {"app": L.MLFLOW_USERS_APP}
    assert template["metadata"]["annotations"]["modelops.io/users-revision"]  # re-runs on change
    (container,) = template["spec"]["containers"]
    assert container["image"] == mlflow_server_image(_repository(name, repo_root))
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["MLFLOW_URL"] == "http://mlflow.mlflow.svc.cluster.local:5000"
    assert not [e for e in container["env"] if "valueFrom" in e]  # secrets come as files
    (script,) = [
        c.inputs
        for c in stack.of_type("kubernetes:core/v1:ConfigMap")
        if c.inputs["metadata"]["name"] == "mlflow-users-script"
    ]
    assert script["data"]["apply.py"] == SCRIPT.read_text(encoding="utf-8")
    # MLflow's auth API: users under /api/2.0, per-user grants under /api/3.0 (MLflow >= 3.17).
    assert 'USERS = "/api/2.0/mlflow/users"' in script["data"]["apply.py"]
    assert 'PERMISSIONS = "/api/3.0/mlflow/users/permissions"' in script["data"]["apply.py"]


def test_the_local_stack_has_no_ci_users(stacks):
    (users,) = [
        s.inputs
        for s in stacks["local"].of_type("kubernetes:core/v1:Secret")
        if s.inputs["metadata"]["name"] == "mlflow-service-users"
    ]
    # The monitor's login only: the local stack has no CI roles to fetch CI's with.
    assert [u["username"] for u in json.loads(users["stringData"]["users.json"])] == ["modelops-monitor"]


# Where MLflow runs: an environment's cluster on AWS has no mlflow namespace (test_cluster_namespaces.py).
@pytest.mark.parametrize("name", ["local", "registry"])
def test_only_the_users_job_may_call_mlflow_from_inside_its_namespace(every_stack, name):
    policies = {
        p.inputs["metadata"]["name"]: p.inputs["spec"]
        for p in every_stack[name].of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if p.inputs["metadata"]["namespace"] == L.MLFLOW_NAMESPACE
    }
    peers = policies["allow-clients"]["ingress"][0]["from"]
    assert [p for p in peers if "namespaceSelector" not in p] == [
        {"podSelector": {"matchLabels": {"app": L.MLFLOW_USERS_APP}}}
    ]
    assert policies["allow-users-job"]["podSelector"] == {"matchLabels": {"app": L.MLFLOW_USERS_APP}}
    assert policies["allow-users-job"]["egress"][0]["ports"] == [{"protocol": "TCP", "port": L.MLFLOW_PORT}]


@pytest.mark.parametrize("name", CI_STACKS)
def test_ci_roles_trust_this_repository_its_pull_requests_and_protected_environments_only(
    every_stack, repo_root, name
):
    repository = _repository(name, repo_root)
    trusts = [
        json.loads(r.inputs["assumeRolePolicy"]) for r in every_stack[name].of_type("aws:iam/role:Role")
    ]
    github = [
        s for t in trusts for s in t["Statement"] if "token.actions" in json.dumps(s.get("Condition", {}))
    ]
    contexts = sorted(
        {
            value.split(":job_workflow_ref:")[0]
            for s in github
            for pairs in s["Condition"].values()
            for value in (lambda v: v if isinstance(v, list) else [v])(pairs.get(f"{ISSUER}:sub", []))
        }
    )
    # preview in the reviewed infra-preview; deploy in the stack's environment; in the registry stack,
    # the gate on pull requests (main's file) and retrain in `registry`.
    expected = {f"repo:{repository}:environment:infra-preview", f"repo:{repository}:environment:{name}"}
    if name == "registry":
        expected |= {f"repo:{repository}:pull_request", f"repo:{repository}:environment:registry"}
    assert contexts == sorted(expected)


# --- least privilege: the deploy and preview roles (manifests/deploy_policy.py) --------------------

ADMIN_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")


def _policy_documents(stack, prefix):
    return {
        p.name: p.inputs["policy"]
        for p in stack.of_type("aws:iam/policy:Policy")
        if p.name.startswith(prefix)
    }


@pytest.mark.parametrize("name", ["local", *AWS_STACKS])
def test_no_role_of_any_stack_holds_an_administrator_policy(stacks, name):
    stack = stacks[name]
    attached = [
        a.inputs["policyArn"] for a in stack.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    ]
    attached += [
        arn for r in stack.of_type("aws:iam/role:Role") for arn in r.inputs.get("managedPolicyArns") or []
    ]
    assert not [arn for arn in attached if arn.rsplit("/", 1)[-1] in ADMIN_POLICIES]
    # Nor an inline or customer policy that allows everything.
    documents = [p.inputs["policy"] for p in stack.of_type("aws:iam/rolePolicy:RolePolicy")]
    documents += list(_policy_documents(stack, "").values())
    for document in documents:
        for statement in json.loads(document)["Statement"]:
            if statement["Effect"] == "Allow":
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                assert "*" not in actions and "*:*" not in actions and "iam:*" not in actions


@pytest.mark.parametrize("name", AWS_STACKS)
def test_deploy_and_preview_get_the_policies_built_for_the_stacks_parts(stacks, name):
    stack = stacks[name]
    roles = {r.name: r for r in stack.of_type("aws:iam/role:Role")}
    protected = [f"arn:aws:iam::{ACCOUNT}:ci-deploy", f"arn:aws:iam::{ACCOUNT}:ci-preview"]
    expected = deploy_policy_documents(name, ENVIRONMENT_PARTS, protected_roles=protected)
    declared = _policy_documents(stack, "ci-deploy-policy-")
    assert [declared[f"ci-deploy-policy-{i}"] for i in range(len(expected))] == expected
    assert len(declared) == len(expected)
    (read,) = _policy_documents(stack, "ci-preview-policy").values()
    assert read == read_policy_document(name, ENVIRONMENT_PARTS)
    paths = {p.inputs["path"] for p in stack.of_type("aws:iam/policy:Policy") if p.name.startswith("ci-")}
    assert paths == {DEPLOY_POLICY_PATH}
    # deploy creates the bounded roles, so it alone is unbounded; preview is bounded like the rest.
    assert "permissionsBoundary" not in roles["ci-deploy"].inputs
    assert roles["ci-preview"].inputs["permissionsBoundary"] == boundary_policy_arn(ACCOUNT, name)


@pytest.mark.parametrize("name", AWS_STACKS)
def test_the_deploy_role_may_create_each_role_the_stack_declares_and_nothing_stronger(stacks, name):
    """Evaluated: iam:CreateRole for each role as declared (boundary, tags) and each managed policy
    it attaches. (Where AWS also authorizes the tags through iam:TagRole, creating a role is an
    administrator's run: manifests/deploy_policy.py, "No adoption".)"""
    stack = stacks[name]
    deploy = list(_policy_documents(stack, "ci-deploy-policy-").values())
    context = {"aws:PrincipalAccount": ACCOUNT}
    roles = {r.name: r.inputs for r in stack.of_type("aws:iam/role:Role")}
    admin_owned = {"ci-deploy", "ci-preview"}  # bootstrap: created by an administrator
    for role_name, role in roles.items():
        arn = f"arn:aws:iam::{ACCOUNT}:role/{role_name}-1234567"
        request_tags = {f"aws:RequestTag/{k}": v for k, v in (role.get("tags") or {}).items()}
        declared = (
            {"iam:PermissionsBoundary": role["permissionsBoundary"]} if "permissionsBoundary" in role else {}
        )
        create = Request("iam:CreateRole", arn, {**context, **request_tags, **declared})
        expected = "implicit-deny" if role_name == "ci-deploy" else "allow"
        if role_name not in admin_owned:
            assert decide(create, identity=deploy) == expected, role_name
        # The same role without its boundary, or with AdministratorAccess: refused.
        bare = Request("iam:CreateRole", arn, {**context, **request_tags})
        assert decide(bare, identity=deploy) != "allow", role_name
    for attachment in stack.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        role_name = attachment.inputs["role"]
        if role_name in admin_owned:
            continue
        arn = f"arn:aws:iam::{ACCOUNT}:role/{role_name}-1234567"
        bounded = {
            **context,
            "iam:PermissionsBoundary": roles[role_name]["permissionsBoundary"],
            f"aws:ResourceTag/{TAG_KEY}": name,
        }
        policy = {"iam:PolicyARN": attachment.inputs["policyArn"]}
        assert decide(Request("iam:AttachRolePolicy", arn, {**bounded, **policy}), identity=deploy) == "allow"
        admin = {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}
        assert decide(Request("iam:AttachRolePolicy", arn, {**bounded, **admin}), identity=deploy) != "allow"
