"""`modelops register`: register a fitted scikit-learn model saved with skops."""

from __future__ import annotations

from pathlib import Path

import typer

from modelops.cli.common import console, emit_json, input_errors, steps
from modelops.errors import InputError


def register(
    model: str = typer.Option(
        ..., help="Model name; its policy (policies/models/<model>.yaml) gives label and groups."
    ),
    estimator: Path = typer.Option(..., help="Fitted estimator saved with skops.io.dump (.skops)."),
    training: Path = typer.Option(..., help="Training data (parquet or csv), label included."),
    evaluation: Path = typer.Option(
        None,
        help="Optional: your own holdout, logged with the run as a record. The gate never reads it; "
        "it scores every version on the set the model's policy pins.",
    ),
    description: str = typer.Option("", help="Free text stored on the model version."),
    as_json: bool = typer.Option(False, "--json", help="Print name, version, run and digest as JSON."),
) -> None:
    """Log the model with signature, datasets and a sha256 manifest; print the new version."""
    import skops.io

    from modelops.config import load_model_policy, project_root
    from modelops.data import read_frame
    from modelops.registry import configure, register_model

    with input_errors(as_json=as_json), steps(enabled=not as_json) as step:
        step(f"registering {model}")
        root = project_root()
        policy = load_model_policy(model, root=root)
        if not estimator.is_file():
            raise InputError(f"{estimator}: file not found")
        untrusted = set(skops.io.get_untrusted_types(file=estimator))
        if refused := sorted(untrusted - set(policy.trusted_types)):
            raise InputError(
                f"{estimator}: needs types outside the policy's trusted list: {', '.join(refused)}"
            )
        fitted = skops.io.load(estimator, trusted=sorted(untrusted))
        configure(root)
        registered = register_model(
            fitted,
            name=model,
            training=read_frame(training),
            evaluation=read_frame(evaluation) if evaluation is not None else None,
            label=policy.label,
            sensitive_features=policy.sensitive_columns,
            positive_class=policy.positive_class,
            trusted_types=policy.trusted_types,
            description=description,
        )
    if as_json:
        emit_json(
            {
                "name": registered.name,
                "version": registered.version,
                "run_id": registered.run_id,
                "artifact_digest": registered.artifact_digest,
            }
        )
        return
    console.print(
        f"registered [bold]{registered.name}[/] version [bold]{registered.version}[/] "
        f"(run {registered.run_id}, {registered.artifact_digest})"
    )
