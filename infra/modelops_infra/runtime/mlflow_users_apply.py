"""Runs in the `mlflow-users` Job: makes MLflow's basic-auth users and grants match the stack.

Shipped to the pod as a ConfigMap, not imported by the stack. Standard library only, so any image
with Python runs it. Reads MLFLOW_URL, MLFLOW_ADMIN_USERNAME, and two mounted files:
MLFLOW_ADMIN_PASSWORD_FILE and MLFLOW_USERS_FILE (JSON: [{"username", "password", "grants":
[{"resource_type", "resource_id", "permission"}]}]). Idempotent: creates missing users, resets
existing ones to the stack's password (so a rotated password reaches MLflow), and re-grants each
permission at the stated level.

Endpoints (MLflow >= 3.17 basic-auth): POST /api/2.0/mlflow/users/create,
PATCH /api/2.0/mlflow/users/update-password, GET /api/2.0/mlflow/users/get,
POST /api/3.0/mlflow/users/permissions/grant and .../revoke.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

USERS = "/api/2.0/mlflow/users"
PERMISSIONS = "/api/3.0/mlflow/users/permissions"


class Mlflow:
    def __init__(self, url: str, username: str, password: str) -> None:
        self.url = url.rstrip("/")
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, **query: str
    ) -> tuple[int, dict[str, Any]]:
        target = self.url + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(target, data=data, method=method, headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw)
            except ValueError:
                return error.code, {"message": raw.decode(errors="replace")[:200]}

    def wait_until_healthy(self, deadline_seconds: float) -> None:
        deadline = time.monotonic() + deadline_seconds
        while True:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"MLflow at {self.url} did not become healthy")
            time.sleep(5)


def _expect(what: str, status: int, body: dict[str, Any]) -> None:
    if status != 200:
        # Never echo the request: it carries a password.
        raise SystemExit(f"{what}: HTTP {status} {body.get('error_code', '')} {body.get('message', '')}")


def apply_user(mlflow: Mlflow, user: dict[str, Any]) -> None:
    name, password = user["username"], user["password"]
    status, body = mlflow.call("GET", f"{USERS}/get", username=name)
    if status == 200:
        status, body = mlflow.call(
            "PATCH", f"{USERS}/update-password", {"username": name, "password": password}
        )
        _expect(f"reset password of {name}", status, body)
    elif body.get("error_code") == "RESOURCE_DOES_NOT_EXIST":
        status, body = mlflow.call("POST", f"{USERS}/create", {"username": name, "password": password})
        _expect(f"create {name}", status, body)
    else:
        _expect(f"look up {name}", status, body)
    for grant in user["grants"]:
        request = {"username": name, **grant}
        status, body = mlflow.call("POST", f"{PERMISSIONS}/grant", request)
        if body.get("error_code") == "RESOURCE_ALREADY_EXISTS":
            # A grant exists, perhaps at another level: replace it with the stated one.
            target = {k: request[k] for k in ("username", "resource_type", "resource_id")}
            status, body = mlflow.call("POST", f"{PERMISSIONS}/revoke", target)
            _expect(f"revoke {grant['resource_type']} {grant['resource_id']} from {name}", status, body)
            status, body = mlflow.call("POST", f"{PERMISSIONS}/grant", request)
        _expect(f"grant {grant['permission']} on {grant['resource_type']} to {name}", status, body)
    granted = ", ".join(f"{g['permission']} {g['resource_type']}" for g in user["grants"])
    print(f"{name}: {granted or 'default permission only'}")


def _read(variable: str) -> str:
    with open(os.environ[variable], encoding="utf-8") as handle:
        return handle.read()


def main() -> int:
    admin_password = _read("MLFLOW_ADMIN_PASSWORD_FILE").strip()
    mlflow = Mlflow(os.environ["MLFLOW_URL"], os.environ["MLFLOW_ADMIN_USERNAME"], admin_password)
    users = json.loads(_read("MLFLOW_USERS_FILE"))
    mlflow.wait_until_healthy(float(os.environ.get("MLFLOW_WAIT_SECONDS", "300")))
    for user in users:
        apply_user(mlflow, user)
    return 0


if __name__ == "__main__":
    sys.exit(main())
