"""Pure gate decisions: data and policy in, a frozen `GateResult` out. No I/O here."""

from modelops.gates.drift import check_drift
from modelops.gates.evaluation import check_evaluation
from modelops.gates.fairness import check_fairness
from modelops.gates.integrity import check_integrity
from modelops.gates.latency import check_latency
from modelops.gates.leakage import check_leakage
from modelops.gates.result import GateResult

__all__ = [
    "GateResult",
    "check_drift",
    "check_evaluation",
    "check_fairness",
    "check_integrity",
    "check_latency",
    "check_leakage",
]
