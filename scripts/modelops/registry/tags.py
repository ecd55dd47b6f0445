"""Names of the model-version tags this project reads and writes."""

ARTIFACT_MANIFEST = "modelops.artifact_manifest"  # JSON {file: sha256}
ARTIFACT_DIGEST = "modelops.artifact_digest"  # sha256 of the manifest
LABEL = "modelops.label"
POSITIVE_CLASS = "modelops.positive_class"
SENSITIVE_FEATURES = "modelops.sensitive_features"
GIT_COMMIT = "modelops.git_commit"
TRAINING_DIGEST = "modelops.data.training.digest"
# The author's own holdout, when one was logged at registration: a record only. Every version is
# scored on the evaluation set the model's policy pins.
EVALUATION_DIGEST = "modelops.data.evaluation.digest"


def gate(environment: str) -> str:
    """`gate.<env>` = passed | failed: the audit trail of every promotion decision."""
    return f"gate.{environment}"


def gate_run(environment: str) -> str:
    return f"gate.{environment}.run_id"


def gate_failed(environment: str) -> str:
    """The gates that failed in the recorded verdict, comma-separated (empty when it passed)."""
    return f"gate.{environment}.failed_gates"


def gate_policy(environment: str) -> str:
    """The digest of the policies the recorded verdict was made under."""
    return f"gate.{environment}.policy_digest"


def model_card(environment: str) -> str:
    return f"model_card.{environment}"
