"""The rollout CronJob (`modelops rollout advance` in-cluster), declared by the Monitoring component
under Pulumi's mocks: what it runs, with which credentials, and whom it may reach."""

from __future__ import annotations

from modelops_infra.settings import load_settings


def _monitoring_with_a_rollout_job(repo_root):
    import pulumi

    from modelops_infra.components.monitoring import Monitoring, MonitoringArgs
    from modelops_infra.manifests.rollout_job import RolloutJob
    from tests.infra.harness import PROJECT, RecordingMocks

    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="prod", preview=False)
    settings = load_settings("prod", root=repo_root)
    job = RolloutJob(
        environment="prod",
        image="ghcr.io/example-org/modelops:v1",
        repo_url=settings.environment.gitops.repo_url,
        branch=settings.environment.gitops.target_revision,
        mlflow_uri="http://mlflow.mlflow.svc:5000",
        mlflow_in_cluster=True,
    )

    @pulumi.runtime.test
    def declare():
        monitoring = Monitoring(
            "monitoring",
            MonitoringArgs(
                models_namespace=settings.models_namespace,
                retention="1d",
                error_rate=0.01,
                p95_ms=40,
                drift_threshold=0.1,
                paging=settings.platform.alerting.page,
                rollout=job,
            ),
        )
        return pulumi.Output.from_input(monitoring.urn)

    declare()
    return mocks.declared, job


def test_the_rollout_cronjob_runs_the_workflows_round_every_15_minutes(repo_root):
    declared, job = _monitoring_with_a_rollout_job(repo_root)
    (cronjob,) = [r.inputs for r in declared if r.type == "kubernetes:batch/v1:CronJob"]
    assert cronjob["metadata"]["name"] == "rollout-prod"
    spec = cronjob["spec"]
    assert spec["schedule"] == "*/15 * * * *" and spec["concurrencyPolicy"] == "Forbid"
    # A round ends before the next begins, and a failed one is not retried on top of the next.
    template = spec["jobTemplate"]["spec"]
    assert template["activeDeadlineSeconds"] < 15 * 60 and template["backoffLimit"] == 0
    pod = template["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == job.image
    script = container["command"][-1]
    # The same script the scheduled workflow runs, from the branch Argo CD follows.
    assert 'exec bash .github/scripts/rollout-advance.sh "$ENVIRONMENT"' in script
    assert "prod" not in script and job.repo_url not in script  # values come through env, not the text
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["ENVIRONMENT"] == "prod" and env["REPO_URL"] == job.repo_url and env["BRANCH"] == "main"
    assert env["MODELOPS_PROMETHEUS_URL"] == "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"
    assert env["MODELOPS_PUSHGATEWAY"] == "http://pushgateway.monitoring.svc:9091"
    secrets = {
        e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e
    }
    assert secrets == {
        "GH_TOKEN": "rollout-github",
        "MLFLOW_TRACKING_USERNAME": "model-monitor-mlflow",
        "MLFLOW_TRACKING_PASSWORD": "model-monitor-mlflow",
    }
    assert (
        container["securityContext"]["readOnlyRootFilesystem"]
        and pod["automountServiceAccountToken"] is False
    )


def test_the_rollout_pods_reach_prometheus_the_pushgateway_mlflow_and_https_only(repo_root):
    declared, _ = _monitoring_with_a_rollout_job(repo_root)
    policies = {
        r.inputs["metadata"]["name"]: r.inputs["spec"]
        for r in declared
        if r.type == "kubernetes:networking.k8s.io/v1:NetworkPolicy"
    }
    egress = policies["rollout-egress"]["egress"]
    assert sorted(port["port"] for rule in egress for port in rule["ports"]) == [443, 5000, 9090, 9091]
    rollout_pods = {"app": "modelops-rollout"}
    for name in ("prometheus-from-rollout", "pushgateway-from-rollout", "mlflow-from-rollout"):
        (allowed,) = policies[name]["ingress"]
        (source,) = allowed["from"]
        assert source["podSelector"]["matchLabels"] == rollout_pods, name
    # The monitor's own Pushgateway policy is untouched: each policy admits one kind of pod.
    (monitor_only,) = policies["pushgateway-from-monitor"]["ingress"][0]["from"]
    assert monitor_only["podSelector"]["matchLabels"] == {"app": "modelops-monitor"}


def test_on_aws_the_rollout_round_reaches_the_registry_over_https_and_no_policy_names_mlflows_pods():
    from modelops_infra import layout as L
    from modelops_infra.manifests.rollout_job import RolloutJob, rollout_network_policies

    job = RolloutJob(
        "prod",
        "image",
        "https://github.com/o/r.git",
        "main",
        "https://mlflow.example.org",
        mlflow_in_cluster=False,
    )
    policies = {p["metadata"]["name"]: p for p in rollout_network_policies(job)}
    # The environment's cluster has no mlflow namespace: a policy there would not even apply.
    assert set(policies) == {"rollout-egress", "prometheus-from-rollout", "pushgateway-from-rollout"}
    egress = policies["rollout-egress"]["spec"]["egress"]
    assert sorted(port["port"] for rule in egress for port in rule["ports"]) == [443, 9090, 9091]
    named = {
        peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
        for rule in egress
        for peer in rule["to"]
    }
    assert L.MLFLOW_NAMESPACE not in named


def test_prod_runs_its_rounds_from_the_workflow_unless_its_policy_asks_for_the_cronjob(repo_root):
    analysis = load_settings("prod", root=repo_root).environment.gitops.rollout.analysis
    assert analysis is not None and analysis.cronjob is False


def test_the_rollout_objects_are_valid_kubernetes_and_pass_checkov(tmp_path):
    import kubernetes_validate
    from ruamel.yaml import YAML

    from modelops.gitops.validation import checkov_tool
    from modelops_infra.manifests.rollout_job import RolloutJob, rollout_cronjob, rollout_network_policies
    from tests.conftest import REPO_ROOT
    from tests.tools import require_command

    require_command("uvx")
    job = RolloutJob(
        "prod",
        "ghcr.io/example-org/modelops:v1",
        "https://github.com/o/r.git",
        "main",
        "http://m",
        mlflow_in_cluster=True,
    )
    objects = [{"apiVersion": "batch/v1", "kind": "CronJob", **rollout_cronjob(job)}]
    objects += [
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", **p}
        for p in rollout_network_policies(job)
    ]
    yaml = YAML(typ="safe")
    for index, obj in enumerate(objects):
        kubernetes_validate.validate(obj, "1.33.0", strict=True)
        with (tmp_path / f"{index:02d}.yaml").open("w") as handle:
            yaml.dump(obj, handle)
    outcomes = checkov_tool.scan(tmp_path, root=REPO_ROOT, platform_rules=False)
    assert any(o.passed for o in outcomes)
    assert [f"{o.check_id} {o.resource}" for o in outcomes if not o.passed] == []
