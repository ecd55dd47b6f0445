"""What one gate run decided, and about what."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelops.config import ModelPolicy, PromotionPolicy
from modelops.gates.result import GateResult, to_jsonable


@dataclass(frozen=True)
class VersionFacts:
    name: str
    version: str
    run_id: str
    artifact_digest: str
    git_commit: str
    training_digest: str
    evaluation_digest: str


@dataclass(frozen=True)
class DataFacts:
    source: str  # where the rows were read: a run's artifact, a URI, a path
    rows: int
    # For the evaluation set, the sha256 of its file (what the policy pins); for the drift
    # reference, MLflow's dataset digest of the frame.
    digest: str
    location: str = ""  # the evaluation set's pinned location (`registry` or its URI); "" otherwise


@dataclass(frozen=True)
class GateOutcome:
    environment: str
    candidate: VersionFacts
    champion: VersionFacts | None
    model_policy: ModelPolicy
    policy: PromotionPolicy
    results: tuple[GateResult, ...]
    evaluation_data: DataFacts
    reference_data: DataFacts
    gate_commit: str
    drift_html: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    no_champion: str = "first release"  # why no champion was compared, when there is none
    policy_digest: str = ""  # the policies this verdict was made under (gates.precedent)

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(result.passed for result in self.results)

    @property
    def reasons(self) -> list[str]:
        return [f"{r.gate}: {reason}" for r in self.results for reason in r.reasons]

    def result(self, gate: str) -> GateResult | None:
        return next((r for r in self.results if r.gate == gate), None)

    def verdict(self) -> dict[str, Any]:
        return to_jsonable(
            {
                "passed": self.passed,
                "model": self.candidate.name,
                "candidate_version": self.candidate.version,
                "champion_version": self.champion.version if self.champion else None,
                **({} if self.champion else {"no_champion": self.no_champion}),
                "environment": self.environment,
                "artifact_digest": self.candidate.artifact_digest,
                "evaluation_set": {
                    "location": self.evaluation_data.location,
                    "sha256": self.evaluation_data.digest,
                    "rows": self.evaluation_data.rows,
                },
                "reasons": self.reasons,
                "gates": {r.gate: r.to_dict() for r in self.results},
                **self.extra,
            }
        )
