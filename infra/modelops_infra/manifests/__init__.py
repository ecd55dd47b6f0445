"""Pure builders of what the components declare: Kubernetes objects, IAM policy documents, alert
rules, dashboards and the PromQL they share.

No Pulumi here, so tests can hand exactly these objects to analyzers (network-config-analyzer,
amtool, promtool) and read them as data.
"""
