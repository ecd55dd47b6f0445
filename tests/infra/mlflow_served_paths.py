"""The paths the pinned MLflow serves behind `--app-name basic-auth`, as MLflow itself registers them.

- `tracking`: every Flask rule of MLflow's tracking server (`mlflow.server.app.url_map`): the REST and
  UI APIs, the artifact and static routes, the UI.
- `auth`: every path MLflow's basic-auth app adds: the route constants of `mlflow/server/auth/routes.py`
  that its `create_app` and its `_RBAC_ROUTES` table name, read from MLflow's own source (the module
  cannot be imported here: it requires Flask-WTF, which the server image has and this environment
  does not need).

Run in a subprocess (`python -m tests.infra.mlflow_served_paths`): importing `mlflow.server` builds
MLflow's Flask app as a module global, which the test session's own MLflow must not share.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from types import ModuleType

from tests.conftest import REPO_ROOT


def _auth_routes(auth_dir: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("mlflow_basic_auth_routes", auth_dir / "routes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _registered_names(source: str) -> set[str]:
    """Names used in `create_app` and in the `_RBAC_ROUTES` table: the routes the auth app adds."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name == "create_app":
            names |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == "_RBAC_ROUTES" for t in targets):
            names |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    return names


def main() -> None:
    os.environ["MLFLOW_BACKEND_STORE_URI"] = f"sqlite:///{tempfile.mkdtemp()}/mlflow.db"
    spec = importlib.util.find_spec("mlflow.server")
    assert spec is not None and spec.submodule_search_locations
    auth_dir = Path(next(iter(spec.submodule_search_locations))) / "auth"
    routes = _auth_routes(auth_dir)
    names = _registered_names((auth_dir / "__init__.py").read_text())
    auth = {getattr(routes, n) for n in names if n.isupper() and isinstance(getattr(routes, n, None), str)}
    from mlflow.server import app

    tracking = {rule.rule for rule in app.url_map.iter_rules()}
    json.dump({"auth": sorted(auth), "tracking": sorted(tracking)}, sys.stdout)


@cache
def served_paths() -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.infra.mlflow_served_paths"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    return json.loads(done.stdout)


if __name__ == "__main__":
    main()
