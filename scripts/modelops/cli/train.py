"""`modelops train`: fit a candidate with the model's training entrypoint, ready for `modelops register`."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer
from rich.markup import escape

from modelops.cli.common import console, emit_json, errors, input_errors, steps
from modelops.errors import EXIT_GATE_FAILED, PolicyRefusal


def train(
    model: str = typer.Argument(
        ..., help="Model name (policies/models/<model>.yaml names its training code)."
    ),
    out: Path = typer.Option(Path("candidate"), help="Folder for estimator.skops and training.parquet."),
    seed: int = typer.Option(0, help="Seed handed to the training code."),
    as_json: bool = typer.Option(False, "--json", help="Print the written paths as JSON."),
) -> None:
    """Train a candidate on data disjoint from the pinned evaluation set; write what `register` needs."""
    from modelops.config import load_model_policy, policy_path, project_root
    from modelops.registry import configure
    from modelops.registry.evaluation_sets import load_pinned_set
    from modelops.training import entrypoint, write_candidate
    from modelops.training import train as train_candidate

    with input_errors(as_json=as_json), steps(enabled=not as_json) as step:
        root = project_root()
        policy = load_model_policy(model, root=root)
        policy_file = policy_path(model, root)
        entrypoint(
            policy, policy_file=policy_file
        )  # a policy without training code fails before any download
        configure(root)
        step("fetching the pinned evaluation set")
        with tempfile.TemporaryDirectory(prefix="modelops-train-") as scratch:
            evaluation = load_pinned_set(policy, root=root, destination=Path(scratch)).frame
        step(f"training {model}")
        try:
            candidate = train_candidate(policy, seed=seed, evaluation=evaluation, policy_file=policy_file)
        except PolicyRefusal as refusal:
            if as_json:
                emit_json({"model": model, "refused": str(refusal)})
            errors.print(
                f"[bold red]refused:[/] {escape(str(refusal))}; nothing written",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(EXIT_GATE_FAILED) from None
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
