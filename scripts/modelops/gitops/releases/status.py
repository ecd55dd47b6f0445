"""What runs where, read from the working tree's overlays (and gate tags, when the registry answers)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from modelops.config.loader import repository_folder
from modelops.errors import InputError
from modelops.gitops.releases.transitions import OverlayState
from modelops.gitops.repository import layout
from modelops.gitops.repository.overlay_files import read_state


@dataclass(frozen=True)
class Row:
    model: str
    environment: str
    state: OverlayState


def ladder_order(requires: dict[str, str | None]) -> dict[str, int]:
    """Each environment's rung (0 for one that requires nothing), from `promotion.requires`."""

    def rung(name: str, seen: frozenset[str] = frozenset()) -> int:
        before = requires.get(name)
        return 0 if before is None or before in seen else 1 + rung(before, seen | {name})

    return {name: rung(name) for name in requires}


def overlay_rows(root: Path, model: str | None = None, order: dict[str, int] | None = None) -> list[Row]:
    """Every overlay's state, model by model, environments in ladder `order` (then by name)."""
    models_dir = repository_folder(root, layout.GITOPS / "models")
    models = sorted(p for p in models_dir.iterdir() if p.is_dir())
    if model is not None:
        if model not in {p.name for p in models}:
            known = ", ".join(p.name for p in models) or "none"
            raise InputError(f"no model '{model}' under {models_dir} (known: {known})")
        models = [p for p in models if p.name == model]
    rank = order or {}
    rows = []
    for model_path in models:
        if not (model_path / "overlays").is_dir():
            raise InputError(
                f"{model_path / 'overlays'}: no such folder; each model has one overlay per environment"
            )
        overlays = [p for p in (model_path / "overlays").iterdir() if p.is_dir()]
        for overlay in sorted(overlays, key=lambda p: (rank.get(p.name, len(rank)), p.name)):
            texts = {str(path.relative_to(root)): path.read_text() for path in overlay.glob("*.yaml")}
            rows.append(Row(model_path.name, overlay.name, read_state(texts, model_path.name, overlay.name)))
    return rows


def gate_results(rows: list[Row]) -> tuple[dict[tuple[str, str], str], str | None]:
    """gate.<env> of each stable release, or '?' where the registry cannot say; and its first error."""
    import mlflow

    from modelops.registry import tags

    client = mlflow.MlflowClient()
    versions: dict[tuple[str, str], dict[str, str] | None] = {}  # each version asked once
    results, first_error, unreachable = {}, None, False
    for row in rows:
        key = (row.model, row.state.stable.version)
        if key not in versions and not unreachable:
            try:
                versions[key] = dict(client.get_model_version(*key).tags)
            except Exception as error:  # status still shows what git says
                versions[key] = None
                detail = str(error).strip().splitlines()
                first_error = (
                    first_error or f"{key[0]} v{key[1]}: {detail[0] if detail else type(error).__name__}"
                )
                # An unknown version is one row's '?'; anything else (no answer) is every row's.
                unreachable = getattr(error, "error_code", "") != "RESOURCE_DOES_NOT_EXIST"
        version_tags = versions.get(key)
        results[(row.model, row.environment)] = (
            "?" if version_tags is None else version_tags.get(tags.gate(row.environment), "not gated")
        )
    return results, first_error
