"""The SLO alerts and the serving dashboard each stack declares, thresholds from its environment file."""

from __future__ import annotations

import json

import pytest

from modelops_infra.settings import load_settings


@pytest.mark.parametrize("name", ["local", "prod"])
def test_slo_alerts_take_their_thresholds_from_the_environment_file(stacks, repo_root, name):
    environment = load_settings(name, root=repo_root)
    (rule,) = [
        r
        for r in stacks[name].of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
        if r.inputs["metadata"]["name"] == "modelops-model-slos"
    ]
    alerts = {a["alert"]: a["expr"] for a in rule.inputs["spec"]["groups"][0]["rules"]}
    assert set(alerts) == {
        "ModelErrorRateHigh",
        "ModelLatencyP95High",
        "ModelDriftHigh",
        "ModelScrapeMissing",
    }
    assert alerts["ModelLatencyP95High"].endswith(
        f"> {environment.environment.promotion.latency.p95_ms / 1000}"
    )
    assert f"> {environment.environment.promotion.drift.distance_threshold})" in alerts["ModelDriftHigh"]
    assert alerts["ModelErrorRateHigh"].endswith(f"> {environment.platform.monitoring.slo.error_rate}")
    (dashboard,) = [
        c
        for c in stacks[name].of_type("kubernetes:core/v1:ConfigMap")
        if c.inputs["metadata"]["name"] == "modelops-serving-dashboard"
    ]
    panels = json.loads(dashboard.inputs["data"]["modelops-serving.json"])["panels"]
    exprs = " ".join(t["expr"] for p in panels for t in p["targets"])
    assert (
        "histogram_quantile(0.95" in exprs
        and "modelops_drift_score" in exprs
        and "by (model, release" in exprs
    )


def _monitoring_with_a_monitor_job(repo_root):
    """The Monitoring component of prod's settings, given a monitor job, declared under fresh mocks."""
    import pulumi

    from modelops_infra.components.monitoring import Monitoring, MonitoringArgs
    from modelops_infra.manifests.model_monitor import MonitorJob, MonitorNetwork, local_api_server_peers
    from modelops_infra.manifests.network_policies import local_backend_peers
    from tests.infra.harness import PROJECT, RecordingMocks

    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="prod", preview=False)
    settings = load_settings("prod", root=repo_root)
    job = MonitorJob(
        environment="prod",
        image="ghcr.io/example-org/modelops:v1",
        models=("credit-risk", "fraud-score"),
        payloads_uri="s3://modelops-prod-payloads",
        mlflow_uri="http://mlflow.mlflow.svc:5000",
        models_namespace="models-prod",
        network=MonitorNetwork(*local_api_server_peers(), local_backend_peers(), mlflow_in_cluster=True),
        policy_files=(("environments/prod.yaml", "name: prod\n"),),
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
                monitor=job,
            ),
        )
        return pulumi.Output.from_input(monitoring.urn)

    declare()
    return mocks.declared, job


def test_each_model_gets_an_hourly_monitor_cronjob_pushing_to_the_pushgateway(repo_root):
    declared, job = _monitoring_with_a_monitor_job(repo_root)
    cronjobs = {
        r.inputs["metadata"]["name"]: r.inputs for r in declared if r.type == "kubernetes:batch/v1:CronJob"
    }
    assert sorted(cronjobs) == ["monitor-credit-risk", "monitor-fraud-score"]
    spec = cronjobs["monitor-credit-risk"]["spec"]
    assert spec["schedule"] == "7 * * * *" and spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == job.image
    assert container["args"] == ["monitor", "credit-risk", "--env", "prod", "--window", "1h"]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    assert env["MODELOPS_PUSHGATEWAY"] == "http://pushgateway.monitoring.svc:9091"
    assert env["MODELOPS_PAYLOADS"] == "s3://modelops-prod-payloads"
    assert env["MODELOPS_MODELS_NAMESPACE"] == "models-prod"  # the releases come from the API server
    assert (
        container["securityContext"]["readOnlyRootFilesystem"]
        and pod["automountServiceAccountToken"] is False
    )
    # A run ends before the next is due, so the staleness alert's two periods are two missed runs.
    assert spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] < job.period_s


def test_prometheus_scrapes_the_pushgateway_keeping_the_jobs_labels(repo_root):
    declared, _ = _monitoring_with_a_monitor_job(repo_root)
    (monitor,) = [
        r
        for r in declared
        if r.type == "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
        and r.inputs["metadata"]["name"] == "pushgateway"
    ]
    assert all(endpoint["honorLabels"] for endpoint in monitor.inputs["spec"]["endpoints"])
    (gateway,) = [r for r in declared if r.type == "kubernetes:apps/v1:Deployment"]
    assert gateway.inputs["metadata"]["name"] == "pushgateway"
    assert any(
        a.startswith("--persistence.file=")
        for a in gateway.inputs["spec"]["template"]["spec"]["containers"][0]["args"]
    )


def test_the_monitor_falling_silent_for_two_periods_opens_a_ticket(repo_root):
    declared, job = _monitoring_with_a_monitor_job(repo_root)
    rules = {
        r.inputs["metadata"]["name"]: r.inputs["spec"]
        for r in declared
        if r.type == "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
    }
    (stale,) = rules["modelops-monitor-job"]["groups"][0]["rules"]
    assert stale["alert"] == "ModelMonitorStale" and stale["labels"]["severity"] == "ticket"
    assert f"> {2 * job.period_s}" in stale["expr"] and "absent(" in stale["expr"]


def test_only_the_monitor_pods_may_push_to_the_pushgateway(repo_root):
    declared, _ = _monitoring_with_a_monitor_job(repo_root)
    policies = {
        r.inputs["metadata"]["name"]: r.inputs["spec"]
        for r in declared
        if r.type == "kubernetes:networking.k8s.io/v1:NetworkPolicy"
    }
    (allowed,) = policies["pushgateway-from-monitor"]["ingress"]
    (source,) = allowed["from"]
    assert source["podSelector"]["matchLabels"] == {"app": "modelops-monitor"}
    assert source["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "modelops-jobs"}


def test_every_path_of_the_pushgateway_needs_the_login_its_pushers_and_scraper_hold(repo_root):
    declared, _ = _monitoring_with_a_monitor_job(repo_root)
    secrets = {
        (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): r.inputs["stringData"]
        for r in declared
        if r.type == "kubernetes:core/v1:Secret"
    }
    web = secrets[("monitoring", "pushgateway-web-config")]["web-config.yml"]
    assert web.startswith("basic_auth_users:\n  modelops-monitor: $2a$10$")  # the password's bcrypt hash
    scrape, push = (
        secrets[("monitoring", "pushgateway-login")],
        secrets[("modelops-jobs", "pushgateway-login")],
    )
    assert scrape == push and push["username"] == "modelops-monitor" and len(push["password"]) == 40

    (gateway,) = [r for r in declared if r.type == "kubernetes:apps/v1:Deployment"]
    pod = gateway.inputs["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert "--web.config.file=/etc/pushgateway/web-config.yml" in container["args"]
    assert {"name": "web-config", "secret": {"secretName": "pushgateway-web-config"}} in pod["volumes"]
    assert "httpGet" not in container["readinessProbe"] and "httpGet" not in container["livenessProbe"]

    (monitor,) = [
        r
        for r in declared
        if r.type == "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
        and r.inputs["metadata"]["name"] == "pushgateway"
    ]
    (endpoint,) = monitor.inputs["spec"]["endpoints"]
    assert endpoint["basicAuth"]["password"] == {"name": "pushgateway-login", "key": "password"}

    cronjobs = [r for r in declared if r.type == "kubernetes:batch/v1:CronJob"]
    assert cronjobs
    for cronjob in cronjobs:
        pod = cronjob.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["MODELOPS_PUSHGATEWAY_USERNAME"] == "modelops-monitor"
        mount = next(m for m in container["volumeMounts"] if m["name"] == "push-login")
        assert env["MODELOPS_PUSHGATEWAY_PASSWORD_FILE"] == f"{mount['mountPath']}/password"
        volume = next(v for v in pod["volumes"] if v["name"] == "push-login")
        assert volume["secret"]["secretName"] == "pushgateway-login"


def test_prometheus_scrapes_the_payload_sink_and_alerts_on_what_it_loses(repo_root):
    declared, _ = _monitoring_with_a_monitor_job(repo_root)
    monitors = {
        r.inputs["metadata"]["name"]: r.inputs["spec"]
        for r in declared
        if r.type == "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
    }
    assert monitors["payload-sink"]["namespaceSelector"] == {"matchNames": ["modelops-jobs"]}
    rules = {
        r.inputs["metadata"]["name"]: r.inputs["spec"]
        for r in declared
        if r.type == "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
    }
    alerts = {rule["alert"] for group in rules["modelops-payload-sink"]["groups"] for rule in group["rules"]}
    assert alerts == {"PayloadSinkWritesFailing", "PayloadSinkUnpairedEvents", "PayloadSinkDown"}
