"""kube-prometheus-stack, the model-serving dashboard, the model SLO alerts and where they go.

Pages go to the environment's pager (alert_routing). With a dispatch target, Alertmanager also routes
drift and failing-candidate alerts to the relay that turns them into GitHub dispatch events.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from modelops_infra import layout as L
from modelops_infra.components.helm import release
from modelops_infra.manifests import promql
from modelops_infra.manifests.alert_routing import (
    AUTH_KEY,
    AUTH_SECRET,
    RELAY_SCRIPT,
    DispatchTarget,
    alertmanager_values,
    relay_manifests,
)
from modelops_infra.manifests.alert_rules import monitor_rules, sink_rules, sink_scrape, slo_rules
from modelops_infra.manifests.dashboards import dashboard_json
from modelops_infra.manifests.model_monitor import (
    PUSH_LOGIN_SECRET,
    PUSH_USERNAME,
    WEB_CONFIG_SECRET,
    MonitorJob,
    monitor_cronjob,
    monitor_network_policies,
    policies_configmap,
    pushgateway_manifests,
    pushgateway_network_policy,
    web_config,
)
from modelops_infra.manifests.rollout_job import RolloutJob, rollout_cronjob, rollout_network_policies
from modelops_infra.settings import PagingSettings
from modelops_infra.versions import KUBE_PROMETHEUS_STACK, PUSHGATEWAY_IMAGE


@dataclass(frozen=True)
class MonitoringArgs:
    models_namespace: str
    retention: str
    error_rate: float
    p95_ms: float
    drift_threshold: float
    paging: PagingSettings
    # None: no relay, and no alert is routed to one (the local stack, a laptop).
    dispatch: DispatchTarget | None = None
    # The monitor job's CronJobs, what they may reach and the alert on their silence; None when the
    # environment serves no model (the Pushgateway and the panels are there either way). Who the
    # monitor is (its ServiceAccount, RBAC, MLflow login, AWS role) is MonitorIdentity's.
    monitor: MonitorJob | None = None
    # The rollout CronJob (`modelops rollout advance`), for an environment whose canaries are analysed;
    # it logs in to MLflow as the monitor does. None: no canary analysis in-cluster.
    rollout: RolloutJob | None = None


class Monitoring(pulumi.ComponentResource):
    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelops:platform:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        admin = random.RandomPassword(f"{name}-grafana-admin", length=32, special=False, opts=child)
        admin_secret = k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata={"name": "grafana-admin", "namespace": L.MONITORING_NAMESPACE},
            string_data={"admin-user": "admin", "admin-password": admin.result},
            opts=child,
        )
        # The pager's Secret is the platform team's to create (infra/README.md); the relay's, ours.
        alertmanager = alertmanager_values(
            args.models_namespace, paging=args.paging, dispatch=args.dispatch is not None
        )
        before_stack: list[pulumi.Resource] = [admin_secret]
        if args.dispatch is not None:
            before_stack.append(self._relay(name, args.dispatch))
        stack = release(
            f"{name}-kube-prometheus-stack",
            KUBE_PROMETHEUS_STACK,
            release_name="kube-prometheus-stack",
            namespace=L.MONITORING_NAMESPACE,
            values={
                "alertmanager": alertmanager,
                "grafana": {
                    "admin": {
                        "existingSecret": "grafana-admin",
                        "userKey": "admin-user",
                        "passwordKey": "admin-password",
                    },
                    # Dashboards are ConfigMaps labelled grafana_dashboard, in any namespace.
                    "sidecar": {
                        "dashboards": {
                            "enabled": True,
                            "label": "grafana_dashboard",
                            "searchNamespace": "ALL",
                        }
                    },
                },
                "prometheus": {
                    "prometheusSpec": {
                        "retention": args.retention,
                        # Select every rule and monitor, not only those labelled for this release.
                        "ruleSelectorNilUsesHelmValues": False,
                        "podMonitorSelectorNilUsesHelmValues": False,
                        "serviceMonitorSelectorNilUsesHelmValues": False,
                    }
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=before_stack),
        )
        after_stack = pulumi.ResourceOptions(parent=self, depends_on=[stack])
        k8s.core.v1.ConfigMap(
            f"{name}-serving-dashboard",
            metadata={
                "name": "modelops-serving-dashboard",
                "namespace": L.MONITORING_NAMESPACE,
                "labels": {"grafana_dashboard": "1"},
            },
            data={
                "modelops-serving.json": dashboard_json(
                    p95_target_ms=args.p95_ms, drift_threshold=args.drift_threshold
                )
            },
            opts=child,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-model-slos",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata={"name": "modelops-model-slos", "namespace": L.MONITORING_NAMESPACE},
            spec=slo_rules(
                models_namespace=args.models_namespace,
                error_rate=args.error_rate,
                p95_ms=args.p95_ms,
                drift_threshold=args.drift_threshold,
            ),
            opts=after_stack,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-model-servers",
            api_version="monitoring.coreos.com/v1",
            kind="PodMonitor",
            metadata={"name": promql.POD_MONITOR, "namespace": L.MONITORING_NAMESPACE},
            spec={
                "namespaceSelector": {"matchNames": [args.models_namespace]},
                "selector": {"matchExpressions": [{"key": L.MODEL_LABEL, "operator": "Exists"}]},
                "podMetricsEndpoints": [
                    {
                        "portNumber": L.MODEL_METRICS_PORT,
                        "path": "/metrics",
                        "relabelings": [
                            _label_from_pod(L.MODEL_LABEL, "model"),
                            _label_from_pod(L.RELEASE_LABEL, "release"),
                        ],
                    }
                ],
            },
            opts=after_stack,
        )
        scrape = sink_scrape()
        k8s.apiextensions.CustomResource(
            f"{name}-payload-sink",
            api_version="monitoring.coreos.com/v1",
            kind="ServiceMonitor",
            metadata=scrape["metadata"],
            spec=scrape["spec"],
            opts=after_stack,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-payload-sink-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata={"name": "modelops-payload-sink", "namespace": L.MONITORING_NAMESPACE},
            spec=sink_rules(),
            opts=after_stack,
        )
        push_password = self._pushgateway(name, after_stack)
        if args.monitor is not None or args.rollout is not None:
            # The jobs that push (the monitor's, the rollout round's) read the login from here.
            login = self._push_login(f"{name}-jobs-push-login", L.JOBS_NAMESPACE, push_password, after_stack)
            with_login = pulumi.ResourceOptions.merge(after_stack, pulumi.ResourceOptions(depends_on=[login]))
            if args.monitor is not None:
                self._monitor_jobs(name, args, args.monitor, with_login)
            if args.rollout is not None:
                self._rollout_job(name, args.rollout, with_login)
        self.register_outputs({"release": stack.name})

    def _pushgateway(self, name: str, opts: pulumi.ResourceOptions) -> random.RandomPassword:
        """The Pushgateway behind its login; returns the login's password for the pushers' Secrets."""
        manifests = pushgateway_manifests(PUSHGATEWAY_IMAGE)
        password = random.RandomPassword(
            f"{name}-pushgateway-login", length=40, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        secrets = [
            k8s.core.v1.Secret(
                f"{name}-pushgateway-web-config",
                metadata={"name": WEB_CONFIG_SECRET, "namespace": L.MONITORING_NAMESPACE},
                string_data={"web-config.yml": password.bcrypt_hash.apply(web_config)},
                opts=opts,
            ),
            # What Prometheus' ServiceMonitor scrapes with (a secret of its own namespace).
            self._push_login(f"{name}-pushgateway-scrape-login", L.MONITORING_NAMESPACE, password, opts),
        ]
        k8s.apps.v1.Deployment(
            f"{name}-pushgateway",
            metadata=manifests["Deployment"]["metadata"],
            spec=manifests["Deployment"]["spec"],
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=secrets)),
        )
        k8s.core.v1.Service(
            f"{name}-pushgateway",
            metadata=manifests["Service"]["metadata"],
            spec=manifests["Service"]["spec"],
            opts=opts,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-pushgateway",
            api_version="monitoring.coreos.com/v1",
            kind="ServiceMonitor",
            metadata=manifests["ServiceMonitor"]["metadata"],
            spec=manifests["ServiceMonitor"]["spec"],
            opts=opts,
        )
        policy = pushgateway_network_policy()
        k8s.networking.v1.NetworkPolicy(
            f"{name}-{policy['metadata']['name']}",
            metadata=policy["metadata"],
            spec=policy["spec"],
            opts=opts,
        )
        return password

    @staticmethod
    def _push_login(
        resource: str, namespace: str, password: random.RandomPassword, opts: pulumi.ResourceOptions
    ) -> k8s.core.v1.Secret:
        return k8s.core.v1.Secret(
            resource,
            metadata={"name": PUSH_LOGIN_SECRET, "namespace": namespace},
            string_data={"username": PUSH_USERNAME, "password": password.result},
            opts=opts,
        )

    def _rollout_job(self, name: str, job: RolloutJob, opts: pulumi.ResourceOptions) -> None:
        cronjob = rollout_cronjob(job)
        k8s.batch.v1.CronJob(
            f"{name}-rollout-{job.environment}", metadata=cronjob["metadata"], spec=cronjob["spec"], opts=opts
        )
        for policy in rollout_network_policies(job):
            meta = policy["metadata"]
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{meta['namespace']}-{meta['name']}", metadata=meta, spec=policy["spec"], opts=opts
            )

    def _monitor_jobs(
        self, name: str, args: MonitoringArgs, job: MonitorJob, opts: pulumi.ResourceOptions
    ) -> None:
        configmap = policies_configmap(job)
        policies = k8s.core.v1.ConfigMap(
            f"{name}-monitor-policies", metadata=configmap["metadata"], data=configmap["data"], opts=opts
        )
        for model in job.models:
            cronjob = monitor_cronjob(model, job=job)
            k8s.batch.v1.CronJob(
                f"{name}-monitor-{model}",
                metadata=cronjob["metadata"],
                spec=cronjob["spec"],
                opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[policies])),
            )
        for policy in monitor_network_policies(job):
            meta = policy["metadata"]
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{meta['namespace']}-{meta['name']}", metadata=meta, spec=policy["spec"], opts=opts
            )
        k8s.apiextensions.CustomResource(
            f"{name}-monitor-job",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata={"name": "modelops-monitor-job", "namespace": L.MONITORING_NAMESPACE},
            spec=monitor_rules(models_namespace=args.models_namespace, period_s=job.period_s),
            opts=opts,
        )

    def _relay(self, name: str, target: DispatchTarget) -> k8s.core.v1.Secret:
        """The dispatch relay and the Secret Alertmanager presents to it (returned: Alertmanager
        mounts it, so it must exist first). The source is read from the repository at program time."""
        manifests = {m["kind"]: m for m in relay_manifests(target, script=RELAY_SCRIPT.read_text("utf-8"))}
        child = pulumi.ResourceOptions(parent=self)
        # A random value in Pulumi's state (a secret output, as Grafana's password): only this
        # stack's Alertmanager and relay ever hold it. Replacing the resource rotates it.
        token = random.RandomPassword(f"{name}-relay-auth", length=48, special=False, opts=child)
        auth = k8s.core.v1.Secret(
            f"{name}-relay-auth",
            metadata={
                "name": AUTH_SECRET,
                "namespace": manifests["Deployment"]["metadata"]["namespace"],
                "labels": manifests["Deployment"]["metadata"]["labels"],
            },
            string_data={AUTH_KEY: token.result},
            opts=child,
        )
        account = k8s.core.v1.ServiceAccount(
            f"{name}-relay",
            metadata=manifests["ServiceAccount"]["metadata"],
            automount_service_account_token=False,
            opts=child,
        )
        script = k8s.core.v1.ConfigMap(
            f"{name}-relay",
            metadata=manifests["ConfigMap"]["metadata"],
            data=manifests["ConfigMap"]["data"],
            opts=child,
        )
        for kind, resource in (
            ("Deployment", k8s.apps.v1.Deployment),
            ("Service", k8s.core.v1.Service),
            ("NetworkPolicy", k8s.networking.v1.NetworkPolicy),
        ):
            resource(
                f"{name}-relay",
                metadata=manifests[kind]["metadata"],
                spec=manifests[kind]["spec"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[account, script, auth]),
            )
        return auth


def _label_from_pod(pod_label: str, target: str) -> dict[str, str | list[str]]:
    sanitized = "".join(c if c.isalnum() else "_" for c in pod_label)
    return {
        "sourceLabels": [f"__meta_kubernetes_pod_label_{sanitized}"],
        "targetLabel": target,
        "action": "replace",
    }
