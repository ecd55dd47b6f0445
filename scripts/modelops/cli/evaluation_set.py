"""`modelops evaluation-set pin`: store a model's evaluation set in the registry and print its pin."""

from __future__ import annotations

from pathlib import Path

import typer

from modelops.cli.common import console, emit_json, input_errors, steps

app = typer.Typer(
    help="The evaluation set each model is judged on: chosen by the platform, pinned in its policy.",
    no_args_is_help=True,
)


@app.command("pin")
def pin(
    model: str = typer.Option(
        ..., help="Model name; its policy (policies/models/<model>.yaml) gives label and groups."
    ),
    data: Path = typer.Option(
        ..., help="The evaluation set (parquet or csv), label and sensitive columns included."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print model, sha256, run and rows as JSON."),
) -> None:
    """Store DATA's bytes in the registry (once: pinning the same file again reuses the stored copy)
    and print the lines to commit in the model's policy. Both models of every gate are scored on it.
    """
    from modelops.config import load_model_policy, policy_path, project_root
    from modelops.registry import configure
    from modelops.registry.evaluation_sets import pin_evaluation_set

    with input_errors(as_json=as_json), steps(enabled=not as_json) as step:
        root = project_root()
        policy = load_model_policy(model, root=root)
        uri = configure(root)
        step(f"pinning {data}")
        pinned = pin_evaluation_set(policy, data)
    if as_json:
        emit_json(
            {
                "model": pinned.model,
                "location": "registry",
                "sha256": pinned.sha256,
                "run_id": pinned.run_id,
                "rows": pinned.rows,
                "duplicated_rows": pinned.duplicated_rows,
                "created": pinned.created,
            }
        )
        return
    stored = "stored" if pinned.created else "already stored"
    console.print(
        f"{stored}: {pinned.rows} rows of {data.name} as {model}'s evaluation set in the registry at {uri} "
        f"(run {pinned.run_id}); {pinned.duplicated_rows} duplicated rows",
        highlight=False,
        soft_wrap=True,
    )
    console.print(f"commit in {policy_path(model, root)}:\n", highlight=False, soft_wrap=True)
    console.print(pinned.policy_lines(), highlight=False, markup=False, soft_wrap=True)
