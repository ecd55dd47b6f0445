"""`modelops train`: fit a candidate with the model's training entrypoint, ready for `modelops register`."""

from __future__ import annotations

from pathlib import Path

import typer

from modelops.cli.common import console, emit_json, input_errors, steps
from modelops.config import load_model_policy, project_root
from modelops.training import train as train_candidate
from modelops.training import write_candidate


def train(
    model: str = typer.Argument(
        ..., help="Model name (policies/models/<model>.yaml names its training code)."
    ),
    out: Path = typer.Option(
        Path("candidate"), help="Folder for estimator.skops, training/evaluation.parquet."
    ),
    seed: int = typer.Option(0, help="Seed handed to the training code."),
    as_json: bool = typer.Option(False, "--json", help="Print the written paths as JSON."),
) -> None:
    """Train a candidate with the model's own training code; write what `modelops register` needs."""
    with input_errors(as_json=as_json), steps(enabled=not as_json) as step:
        root = project_root()
        policy = load_model_policy(model, root=root)
        step(f"training {model}")
        candidate = train_candidate(
            policy, seed=seed, policy_file=root / "policies" / "models" / f"{model}.yaml"
        )
        step("writing the candidate")
        paths = write_candidate(candidate, out)
    if as_json:
        emit_json(
            {"model": model, "description": candidate.description, **{k: str(v) for k, v in paths.items()}}
        )
        return
    console.print(f"trained {model}: {candidate.description}")
    for key, path in paths.items():
        console.print(f"  {key}: {path}", highlight=False)
