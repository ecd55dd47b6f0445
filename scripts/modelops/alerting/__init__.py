"""From a firing alert to a pull request: Alertmanager's notifications as GitHub dispatch events.

`dispatch_relay` is also a standalone program (standard library only) that the platform runs
from a ConfigMap beside Alertmanager; see infra/modelops_infra/alert_routing.py.
"""

from modelops.alerting.dispatch_relay import (
    CANDIDATE_RELEASE,
    DRIFT_ALERT,
    ERROR_RATE_ALERT,
    RETRAIN_EVENT,
    ROLLBACK_EVENT,
    GitHub,
    GitHubRefused,
    PayloadError,
    Relay,
    dispatches,
    send,
)

__all__ = [
    "CANDIDATE_RELEASE",
    "DRIFT_ALERT",
    "ERROR_RATE_ALERT",
    "RETRAIN_EVENT",
    "ROLLBACK_EVENT",
    "GitHub",
    "GitHubRefused",
    "PayloadError",
    "Relay",
    "dispatches",
    "send",
]
