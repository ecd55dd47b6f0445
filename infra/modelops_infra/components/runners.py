"""Self-hosted CI runners in this stack's cluster: the ARC controller and one runner scale set.

The GitHub App's credentials are read from a Secret created by hand before the first `pulumi up`
(manifests/runners.py, GITHUB_APP_SECRET); Pulumi only names it, so the key never enters the state.
Until it exists the scale set's listener cannot start; nothing else depends on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from modelops_infra.components.helm import release
from modelops_infra.manifests import runners as R
from modelops_infra.versions import ARC_CONTROLLER, ARC_RUNNER_SCALE_SET, ci_runner_image


@dataclass(frozen=True)
class RunnersArgs:
    stack: str
    repository: str  # ORG/REPO the runners serve
    min_runners: int
    max_runners: int
    # In-cluster services the runners' jobs call, each admitting them.
    in_cluster: tuple[R.InClusterService, ...] = R.CLUSTER_SERVICES


class Runners(pulumi.ComponentResource):
    scale_set_name: str

    def __init__(self, name: str, args: RunnersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelops:platform:Runners", name, None, opts)
        self.scale_set_name = R.scale_set_name(args.stack)
        child = pulumi.ResourceOptions(parent=self)
        spaces = {
            manifest["metadata"]["name"]: k8s.core.v1.Namespace(
                f"{name}-ns-{manifest['metadata']['name']}", metadata=manifest["metadata"], opts=child
            )
            for manifest in R.namespaces()
        }
        for policy in R.network_policies(args.in_cluster):
            meta = policy["metadata"]
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{meta['namespace']}-{meta['name']}",
                metadata=meta,
                spec=policy["spec"],
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[spaces[meta["namespace"]]] if meta["namespace"] in spaces else []
                ),
            )
        account = R.runner_service_account()
        service_account = k8s.core.v1.ServiceAccount(
            f"{name}-runner-sa",
            metadata=account["metadata"],
            automount_service_account_token=account["automountServiceAccountToken"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[spaces[R.RUNNER_NAMESPACE]]),
        )
        controller = release(
            f"{name}-controller",
            ARC_CONTROLLER,
            release_name=R.CONTROLLER_RELEASE,
            namespace=R.CONTROLLER_NAMESPACE,
            values=R.controller_values(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[spaces[R.CONTROLLER_NAMESPACE]]),
        )
        release(
            f"{name}-scale-set",
            ARC_RUNNER_SCALE_SET,
            release_name=self.scale_set_name,
            namespace=R.RUNNER_NAMESPACE,
            values=R.scale_set_values(
                stack=args.stack,
                repository=args.repository,
                min_runners=args.min_runners,
                max_runners=args.max_runners,
                image=ci_runner_image(args.repository),  # GitHub's image lacks the jobs' tools
            ),
            # The chart binds the controller's service account, so the controller comes first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[controller, service_account]),
        )
        self.register_outputs({"scale_set": self.scale_set_name})
