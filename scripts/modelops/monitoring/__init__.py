"""The monitor job: what the live releases of a model saw in a window of logged payloads, measured
with the promotion gate's own drift rules and published to Prometheus through the Pushgateway."""
