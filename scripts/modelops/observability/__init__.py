"""What the platform reads from Prometheus: the PromQL shared by dashboards, alerts and the scripts."""
