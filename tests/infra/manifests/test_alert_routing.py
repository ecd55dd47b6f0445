"""Alertmanager pages people and routes drift and failing candidates to the dispatch relay; the
relay runs locked down.

The Monitoring component is declared under Pulumi's mocks with prod's settings and the dispatch
target platform.py gives an AWS stack; amtool (Alertmanager's own routing code) checks each
environment's configuration and answers where each alert of alert_rules.py goes in it.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pulumi
import pytest
from ruamel.yaml import YAML

from modelops.gitops.validation import checkov_tool
from modelops_infra.components.monitoring import Monitoring, MonitoringArgs
from modelops_infra.gitops_models import model_accounts
from modelops_infra.manifests import alert_routing as routing
from modelops_infra.runtime import dispatch_relay as relay
from modelops_infra.settings import PagingSettings, load_settings
from tests.alerting.alertmanager_config import alertmanager_version, effective_config
from tests.alerting.notifications import labels as rule_labels
from tests.alerting.notifications import rules
from tests.conftest import REPO_ROOT
from tests.infra.harness import PROJECT, RecordingMocks, StackUnderTest
from tests.infra.workload_pods import workload_pod
from tests.tools import require, require_command

try:
    from nca.nca_cli import nca_main
except ImportError:  # pragma: no cover - the infra dependency group is missing
    nca_main = None

K8S_VERSION = "1.33.0"
RELEASES = ("stable", "candidate")
STACKS = ("local", "dev", "staging", "prod")


def _declare(repo_root: Path, *, dispatch: bool) -> StackUnderTest:
    settings = load_settings("prod", root=repo_root)
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="prod", preview=False)
    served = tuple(m.model for m in model_accounts(repo_root / "gitops" / "models", settings.name))
    target = routing.DispatchTarget(settings.github_repository, settings.name, served) if dispatch else None

    @pulumi.runtime.test
    def declare() -> pulumi.Output[Any]:
        component = Monitoring(
            "monitoring",
            MonitoringArgs(
                models_namespace=settings.models_namespace,
                retention=settings.platform.monitoring.retention,
                error_rate=settings.platform.monitoring.slo.error_rate,
                p95_ms=settings.environment.promotion.latency.p95_ms,
                drift_threshold=settings.environment.promotion.drift.distance_threshold,
                paging=settings.platform.alerting.page,
                dispatch=target,
            ),
        )
        return component.urn

    declare()
    return StackUnderTest("prod", mocks.declared)


@pytest.fixture(scope="module")
def monitoring(repo_root) -> StackUnderTest:
    return _declare(repo_root, dispatch=True)


@pytest.fixture(scope="module")
def models_namespace(repo_root) -> str:
    return load_settings("prod", root=repo_root).models_namespace


def _object(stack: StackUnderTest, kind: str, name: str = routing.RELAY_APP) -> dict[str, Any]:
    (found,) = [o for o in stack.kubernetes_objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def _relay_objects(stack: StackUnderTest) -> list[dict[str, Any]]:
    names = {routing.RELAY_APP, routing.AUTH_SECRET}
    return [o for o in stack.kubernetes_objects() if o["metadata"]["name"] in names]


def _alertmanager_values(stack: StackUnderTest) -> dict[str, Any]:
    (chart,) = stack.of_type("kubernetes:helm.sh/v3:Release")
    return chart.inputs["values"].get("alertmanager", {})


# Routing.


def test_only_drift_and_failing_candidates_of_this_environment_reach_the_relay(monitoring, models_namespace):
    config = _alertmanager_values(monitoring)["config"]
    route = config["route"]
    assert route["receiver"] == "null"
    to_relay = [r for r in route["routes"] if r["receiver"] == routing.RECEIVER]
    assert [set(r["matchers"]) for r in to_relay] == [
        {f'alertname="{relay.DRIFT_ALERT}"', f'namespace="{models_namespace}"'},
        {f'alertname="{relay.ERROR_RATE_ALERT}"', 'release="candidate"', f'namespace="{models_namespace}"'},
    ]
    assert all(r["continue"] is True for r in to_relay)  # the page route after them still sees them
    # The chart's own route and receiver are restated, since Helm replaces lists.
    assert route["routes"][0] == {"receiver": "null", "matchers": ['alertname="Watchdog"']}
    (webhook,) = [r for r in config["receivers"] if r["name"] == routing.RECEIVER]
    (hook,) = webhook["webhook_configs"]
    assert {k: v for k, v in hook.items() if k != "http_config"} == {
        "url": routing.relay_url(),
        "send_resolved": False,
        "max_alerts": 10,
    }
    assert {"name": "null"} in config["receivers"]


def test_one_dispatch_per_model_and_no_retrain_storm(monitoring):
    routes = _alertmanager_values(monitoring)["config"]["route"]["routes"]
    drift, candidate = [r for r in routes if r["receiver"] == routing.RECEIVER]
    assert drift["group_by"] == ["alertname", "namespace", "model"]
    assert candidate["group_by"] == ["alertname", "namespace", "model", "release"]
    hours = {key: int(drift[key].removesuffix("h")) for key in ("group_interval", "repeat_interval")}
    # A column that joins a drifting model's group asks for nothing new; reminders come after days,
    # yet within Alertmanager's 120h notification log, past which it would forget it had notified.
    assert 24 <= hours["group_interval"] <= hours["repeat_interval"] < 120


# Paging: every page reaches the receiver the environment's file names.


def _paging(repo_root: Path, environment: str):
    return load_settings(environment, root=repo_root).platform.alerting.page


def test_prod_pages_through_pagerduty_with_the_routing_key_read_from_the_pager_secret(monitoring, repo_root):
    values = _alertmanager_values(monitoring)
    paging = _paging(repo_root, "prod")
    assert (paging.receiver, paging.secret) == ("pagerduty", "alertmanager-pager")
    (page,) = [r for r in values["config"]["route"]["routes"] if r["receiver"] == routing.PAGE_RECEIVER]
    assert page["matchers"] == ['severity="page"']
    assert "continue" not in page
    (pager,) = [r for r in values["config"]["receivers"] if r["name"] == routing.PAGE_RECEIVER]
    assert pager == {
        "name": "page",
        "pagerduty_configs": [
            {
                "routing_key_file": "/etc/alertmanager/secrets/alertmanager-pager/routing-key",
                "send_resolved": True,
            }
        ],
    }
    assert "alertmanager-pager" in values["alertmanagerSpec"]["secrets"]
    # Out of band, like GitHub's token: the key never enters Pulumi's state.
    secrets = [o["metadata"]["name"] for o in monitoring.kubernetes_objects() if o["kind"] == "Secret"]
    assert "alertmanager-pager" not in secrets


@pytest.mark.parametrize("environment", STACKS)
def test_pages_reach_someone_unless_the_environment_file_itself_says_null(repo_root, environment):
    raw = YAML(typ="safe").load((repo_root / "environments" / f"{environment}.yaml").read_text())
    written = raw["platform"]["alerting"]["page"]
    assert "receiver" in written  # never a default: each file decides
    config = effective_config("models-x", paging=_paging(repo_root, environment))
    (page,) = [r for r in config["route"]["routes"] if r.get("matchers") == ['severity="page"']]
    assert page["receiver"] == ("null" if written["receiver"] is None else routing.PAGE_RECEIVER)
    assert (written["receiver"] is None) == (environment == "local")  # only a laptop pages no one


@pytest.mark.parametrize(
    ("receiver", "field", "key"),
    [
        ("pagerduty", "routing_key_file", "routing-key"),
        ("slack", "api_url_file", "api-url"),
        ("webhook", "url_file", "url"),
    ],
)
def test_each_pager_kind_reads_its_url_or_key_from_a_file_of_the_secret(receiver, field, key):
    paging = PagingSettings(receiver=receiver, secret="team-pager")
    (config,) = next(v for k, v in routing.pager_receiver(paging).items() if k.endswith("_configs"))
    assert config == {field: f"/etc/alertmanager/secrets/team-pager/{key}", "send_resolved": True}
    values = routing.alertmanager_values("models-x", paging=paging, dispatch=False)
    assert values["alertmanagerSpec"] == {"secrets": ["team-pager"]}


def test_without_a_pager_or_a_relay_alertmanager_mounts_no_secret():
    values = routing.alertmanager_values("models-x", paging=PagingSettings(receiver=None), dispatch=False)
    assert "alertmanagerSpec" not in values


# amtool: each environment's configuration as the chart renders it.


@pytest.fixture(scope="module")
def amtool_configs(tmp_path_factory, repo_root) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("alertmanager")
    configs = {}
    for environment in STACKS:
        settings = load_settings(environment, root=repo_root)
        config = effective_config(
            settings.models_namespace, paging=settings.platform.alerting.page, dispatch=settings.on_aws
        )
        configs[environment] = folder / f"{environment}.yml"
        configs[environment].write_text(json.dumps(config))
    return configs


@pytest.mark.parametrize("environment", STACKS)
def test_the_config_the_chart_renders_passes_amtool(amtool_configs, environment):
    amtool = require_command("amtool")
    checked = subprocess.run(
        [amtool, "check-config", str(amtool_configs[environment])], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_webhook_pager_passes_amtool_where_alertmanager_reads_url_file(tmp_path):
    amtool = require_command("amtool")
    if alertmanager_version(amtool) < (0, 26, 0):
        pytest.skip("webhook url_file needs Alertmanager 0.26 (the chart runs 0.28); this amtool is older")
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        json.dumps(effective_config("models-x", paging=PagingSettings(receiver="webhook", secret="p")))
    )
    checked = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _receivers(amtool: str, config: Path, labels: dict[str, str]) -> str:
    pairs = [f"{k}={v}" for k, v in labels.items()]
    routed = subprocess.run(
        [amtool, "config", "routes", "test", f"--config.file={config}", *pairs],
        capture_output=True,
        text=True,
        check=True,
    )
    return routed.stdout.strip()


@pytest.mark.parametrize("environment", STACKS)
@pytest.mark.parametrize("name", sorted(rules()))
@pytest.mark.parametrize("release", RELEASES)
def test_amtool_routes_each_platform_alert_as_intended(amtool_configs, repo_root, environment, name, release):
    """The relay where the environment has one; the pager for every page; nothing else."""
    amtool = require_command("amtool")
    settings = load_settings(environment, root=repo_root)
    labels = {
        **rule_labels(name, model="credit-risk", release=release),
        "namespace": settings.models_namespace,
    }
    acts = name == relay.DRIFT_ALERT or (name == relay.ERROR_RATE_ALERT and release == "candidate")
    expected = [routing.RECEIVER] if acts and settings.on_aws else []
    if labels["severity"] == "page":
        expected.append(routing.PAGE_RECEIVER if settings.on_aws else "null")
    assert _receivers(amtool, amtool_configs[environment], labels) == (",".join(expected) or "null")


@pytest.mark.parametrize("environment", STACKS)
def test_amtool_pages_for_any_page_of_the_cluster(amtool_configs, environment):
    labels = {"alertname": "EtcdNoLeader", "namespace": "kube-system", "severity": "page"}
    expected = "null" if environment == "local" else routing.PAGE_RECEIVER
    assert _receivers(require_command("amtool"), amtool_configs[environment], labels) == expected


@pytest.mark.parametrize(
    "labels",
    [
        {"alertname": relay.DRIFT_ALERT, "namespace": "models-dev", "model": "credit-risk"},
        {"alertname": relay.ERROR_RATE_ALERT, "namespace": "kube-system", "release": "candidate"},
        {"alertname": "Watchdog"},
        {"alertname": "KubePodCrashLooping", "namespace": "monitoring", "severity": "warning"},
    ],
)
def test_amtool_keeps_everything_else_on_the_charts_null_receiver(amtool_configs, labels):
    assert _receivers(require_command("amtool"), amtool_configs["prod"], labels) == "null"


def test_without_a_dispatch_target_no_relay_runs_and_none_is_routed_to(repo_root):
    plain = _declare(repo_root, dispatch=False)
    values = _alertmanager_values(plain)
    assert routing.RECEIVER not in {r["receiver"] for r in values["config"]["route"]["routes"]}
    assert routing.RECEIVER not in {r["name"] for r in values["config"]["receivers"]}
    assert values["alertmanagerSpec"]["secrets"] == ["alertmanager-pager"]  # pages still go out
    assert _relay_objects(plain) == []


def test_every_stack_gives_alertmanager_its_environments_routing(stacks, repo_root):
    for environment, stack in stacks.items():
        settings = load_settings(environment, root=repo_root)
        charts = stack.of_type("kubernetes:helm.sh/v3:Release")
        (chart,) = [c for c in charts if c.name == "monitoring-kube-prometheus-stack"]
        expected = routing.alertmanager_values(
            settings.models_namespace, paging=settings.platform.alerting.page, dispatch=settings.on_aws
        )
        assert chart.inputs["values"]["alertmanager"] == expected, environment


# The relay's workload.


def test_the_webhook_reaches_the_relay_service(monitoring):
    service = _object(monitoring, "Service")
    deployment = _object(monitoring, "Deployment")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["selector"] == deployment["spec"]["template"]["metadata"]["labels"]
    (port,) = service["spec"]["ports"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert port["targetPort"] == container["ports"][0]["containerPort"]
    meta = service["metadata"]
    assert routing.relay_url() == f"http://{meta['name']}.{meta['namespace']}.svc:{port['port']}/alerts"


def test_the_relay_runs_restricted_on_a_read_only_root_filesystem(monitoring):
    spec = _object(monitoring, "Deployment")["spec"]["template"]["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = spec["containers"]
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["runAsNonRoot"] is True and context["runAsUser"] >= 10000
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": routing.RELAY_PORT}
    assert all(mount["readOnly"] for mount in container["volumeMounts"])


def test_the_relay_runs_the_official_python_image_at_an_exact_release(monitoring):
    (container,) = _object(monitoring, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert re.fullmatch(r"docker\.io/library/python:3\.12\.\d+-slim-bookworm", container["image"])
    assert container["imagePullPolicy"] == "Always"
    assert container["command"] == ["python", "/app/dispatch_relay.py"]


def test_the_configmap_holds_the_relay_file_and_the_models_prod_serves(monitoring, repo_root):
    source = (repo_root / "infra" / "modelops_infra" / "runtime" / "dispatch_relay.py").read_text("utf-8")
    served = sorted(p.parent.parent.name for p in (repo_root / "gitops" / "models").glob("*/overlays/prod"))
    assert served  # the relay would otherwise dispatch for nothing
    models = "".join(f"{m}\n" for m in served)
    assert _object(monitoring, "ConfigMap")["data"] == {"dispatch_relay.py": source, "models": models}
    template = _object(monitoring, "Deployment")["spec"]["template"]
    (container,) = template["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["RELAY_MODELS_FILE"] == "/app/models"
    # A changed script or model list rolls the pods: the relay reads both at start.
    annotations = template["metadata"]["annotations"]
    assert annotations["modelops.io/relay-sha256"] == hashlib.sha256(source.encode()).hexdigest()
    assert annotations["modelops.io/models-sha256"] == hashlib.sha256(models.encode()).hexdigest()


def test_alertmanager_presents_the_token_the_relay_expects_from_one_secret_the_stack_creates(monitoring):
    values = _alertmanager_values(monitoring)
    (secret,) = [o for o in monitoring.kubernetes_objects() if o["metadata"]["name"] == routing.AUTH_SECRET]
    assert secret["kind"] == "Secret" and secret["metadata"]["namespace"] == "monitoring"
    assert set(secret["stringData"]) == {routing.AUTH_KEY}
    assert len(secret["stringData"][routing.AUTH_KEY]) >= 32
    # Alertmanager mounts it (prometheus-operator: /etc/alertmanager/secrets/<name>/) and reads it there.
    assert routing.AUTH_SECRET in values["alertmanagerSpec"]["secrets"]
    (webhook,) = [r for r in values["config"]["receivers"] if r["name"] == routing.RECEIVER]
    (hook,) = webhook["webhook_configs"]
    assert hook["http_config"] == {
        "authorization": {
            "type": "Bearer",
            "credentials_file": f"/etc/alertmanager/secrets/{routing.AUTH_SECRET}/{routing.AUTH_KEY}",
        }
    }
    # The relay mounts the same Secret and reads its expected token from there.
    spec = _object(monitoring, "Deployment")["spec"]["template"]["spec"]
    (auth,) = [v for v in spec["volumes"] if v.get("secret", {}).get("secretName") == routing.AUTH_SECRET]
    (container,) = spec["containers"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == auth["name"]]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["RELAY_AUTH_TOKEN_FILE"] == f"{mount['mountPath']}/{routing.AUTH_KEY}"


def test_a_stopping_relay_has_time_to_answer_the_longest_request(monitoring):
    spec = _object(monitoring, "Deployment")["spec"]["template"]["spec"]
    assert spec["terminationGracePeriodSeconds"] > relay.LONGEST_REQUEST_S


def test_a_real_notification_asks_for_fewer_dispatches_than_the_relay_sends_for_one(monitoring):
    routes = _alertmanager_values(monitoring)["config"]["route"]["routes"]
    to_relay = [r for r in routes if r["receiver"] == routing.RECEIVER]
    # Grouped by alert and model: one notification, one (event, model), one dispatch.
    assert all({"alertname", relay.MODEL_LABEL} <= set(r["group_by"]) for r in to_relay)
    assert relay.MAX_DISPATCHES >= 1
    # The relay's memory of what it sent lapses well before Alertmanager's first reminder.
    shortest = min(int(r["repeat_interval"].removesuffix("h")) for r in to_relay)
    assert shortest * 3600 > relay.REPEAT_WINDOW_S


def test_the_token_comes_from_the_secret_the_platform_team_creates(monitoring):
    spec = _object(monitoring, "Deployment")["spec"]["template"]["spec"]
    (token,) = [v for v in spec["volumes"] if v.get("secret", {}).get("secretName") == routing.TOKEN_SECRET]
    (container,) = spec["containers"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == token["name"]]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["GITHUB_TOKEN_FILE"] == f"{mount['mountPath']}/{routing.TOKEN_KEY}"
    assert "GITHUB_TOKEN" not in env
    assert env["MODELOPS_ENVIRONMENT"] == "prod" and env["GITHUB_REPOSITORY"].count("/") == 1
    # Out of band: the token's value never enters Pulumi's state.
    secrets = [s["metadata"]["name"] for s in monitoring.kubernetes_objects() if s["kind"] == "Secret"]
    assert routing.TOKEN_SECRET not in secrets


def test_the_relay_network_policy_admits_alertmanager_and_lets_out_dns_and_https_only(monitoring):
    policy = _object(monitoring, "NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"] == {"app": routing.RELAY_APP}
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    (ingress,) = policy["ingress"]
    assert ingress["from"] == [{"podSelector": {"matchLabels": routing.ALERTMANAGER_PODS}}]
    assert ingress["ports"] == [{"protocol": "TCP", "port": routing.RELAY_PORT}]
    ports = sorted((p["protocol"], p["port"]) for rule in policy["egress"] for p in rule["ports"])
    assert ports == [("TCP", 53), ("TCP", 443), ("UDP", 53)]


def test_the_relay_objects_validate_against_kubernetes_schemas(monitoring):
    objects = _relay_objects(monitoring)
    assert sorted(o["kind"] for o in objects) == [
        "ConfigMap",
        "Deployment",
        "NetworkPolicy",
        "Secret",
        "Service",
        "ServiceAccount",
    ]
    for obj in objects:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_checkov_finds_nothing_in_the_relay_objects(monitoring, tmp_path):
    require_command("uvx")
    yaml = YAML(typ="safe")
    for obj in _relay_objects(monitoring):
        with (tmp_path / f"{obj['kind'].lower()}.yaml").open("w") as handle:
            yaml.dump(obj, handle)
    outcomes = checkov_tool.scan(tmp_path, root=REPO_ROOT, platform_rules=False)
    assert any(o.passed for o in outcomes)
    assert [o.check_id for o in outcomes if not o.passed] == []


# Who may reach the relay, with the platform's whole network policy in force.


@pytest.fixture(scope="module")
def relay_reach(stacks, monitoring, tmp_path_factory):
    require(nca_main is not None, "network-config-analyzer (nca)")
    folder = tmp_path_factory.mktemp("nca-relay")
    objects = stacks["prod"].kubernetes_objects()
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"] + [_object(monitoring, "NetworkPolicy")]
    kube_system = {"kubernetes.io/metadata.name": "kube-system"}
    namespaces = [o for o in objects if o["kind"] == "Namespace"]
    namespaces.append(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system", "labels": kube_system}}
    )
    pods = [
        workload_pod("monitoring", "alertmanager", routing.ALERTMANAGER_PODS, 9093),
        workload_pod("monitoring", "relay", {"app": routing.RELAY_APP}, routing.RELAY_PORT),
        workload_pod("monitoring", "grafana", {"app.kubernetes.io/name": "grafana"}, 3000),
        workload_pod("mlflow", "mlflow", {"app": "mlflow"}, 5000),
        workload_pod("kube-system", "coredns", {"k8s-app": "kube-dns"}, 53),
    ]
    yaml = YAML(typ="safe")
    with (folder / "policies.yaml").open("w") as handle:
        yaml.dump_all(policies, handle)
    with (folder / "namespaces.yaml").open("w") as handle:
        yaml.dump({"apiVersion": "v1", "kind": "NamespaceList", "items": namespaces}, handle)
    with (folder / "pods.yaml").open("w") as handle:
        yaml.dump({"apiVersion": "v1", "kind": "PodList", "items": pods}, handle)
    out = folder / "connectivity.txt"
    nca_main(
        [
            *("--connectivity", str(folder / "policies.yaml"), "--pod_list", str(folder / "pods.yaml")),
            *("--ns_list", str(folder / "namespaces.yaml"), "--output_format", "txt_no_fw_rules"),
            *("--file_out", str(out)),
        ]
    )
    pairs = {}
    for line in out.read_text().splitlines():
        if match := re.match(r"^(\S+?)(?:\[Pod\])? => (\S+?)(?:\[Pod\])? : (.+)$", line.strip()):
            pairs[(match[1], match[2])] = match[3]

    def may(src: str, dst: str, port: int) -> bool:
        connection = pairs.get((src, dst))
        if connection is None:
            return False
        if connection == "All connections":
            return True
        ports = re.search(r"dst_ports:([\d,\-]+)", connection)
        return (
            ports is not None
            and "TCP" in connection
            and any(
                int(low) <= port <= int(high or low)
                for low, _, high in (part.partition("-") for part in ports[1].split(","))
            )
        )

    return may


def test_nca_alertmanager_reaches_the_relay_and_the_relay_reaches_dns_and_github(relay_reach):
    assert relay_reach("monitoring/alertmanager", "monitoring/relay", routing.RELAY_PORT)
    assert relay_reach("monitoring/relay", "kube-system/coredns", 53)
    assert relay_reach("monitoring/relay", "0.0.0.0-255.255.255.255", 443)  # nca's name for anywhere


def test_nca_nothing_else_reaches_the_relay_and_the_relay_reaches_nothing_else(relay_reach):
    world = "0.0.0.0-255.255.255.255"
    assert not relay_reach("monitoring/alertmanager", "monitoring/relay", 9093)  # its port only
    assert not relay_reach("monitoring/grafana", "monitoring/relay", routing.RELAY_PORT)
    assert not relay_reach(world, "monitoring/relay", 9443)
    assert not relay_reach("monitoring/relay", "mlflow/mlflow", 5000)
    assert not relay_reach("monitoring/relay", "monitoring/grafana", 3000)
    assert not relay_reach("monitoring/relay", world, 80)
