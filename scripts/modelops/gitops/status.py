"""What runs where, read from the working tree's overlays (and gate tags, when the registry answers)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from modelops.gitops import layout
from modelops.gitops.overlay_files import read_state
from modelops.gitops.state import OverlayState


@dataclass(frozen=True)
class Row:
    model: str
    environment: str
    state: OverlayState


def overlay_rows(root: Path, model: str | None = None) -> list[Row]:
    rows = []
    models_dir = root / layout.GITOPS / "models"
    for model_path in sorted(
        p for p in models_dir.iterdir() if p.is_dir() and (model is None or p.name == model)
    ):
        for overlay in sorted((model_path / "overlays").iterdir()):
            texts = {str(path.relative_to(root)): path.read_text() for path in overlay.glob("*.yaml")}
            rows.append(Row(model_path.name, overlay.name, read_state(texts, model_path.name, overlay.name)))
    return rows


def gate_results(rows: list[Row]) -> dict[tuple[str, str], str]:
    """gate.<env> of each stable release, or '?' where the registry cannot say."""
    import mlflow

    from modelops.registry import tags

    client, results = mlflow.MlflowClient(), {}
    for row in rows:
        try:
            version = client.get_model_version(row.model, row.state.stable.version)
            results[(row.model, row.environment)] = version.tags.get(tags.gate(row.environment), "not gated")
        except Exception:  # unreachable or unknown version: status still shows what git says
            results[(row.model, row.environment)] = "?"
    return results
