"""Start the platform's MLServer on this machine exactly as KServe starts it in a predictor pod.

The serving runtime is its own locked environment (infra/images/mlserver: MLServer needs
Python < 3.13 and pins that conflict with the project's). The process gets the environment KServe
would give the model container of a rendered InferenceService: the ClusterServingRuntime's
variables, then the predictor's own `env`, then what KServe's defaulting webhook adds when absent
(`MLSERVER_MODEL_NAME` = the InferenceService's name, `MLSERVER_MODEL_URI` = /mnt/models), with
the ports and the models folder moved to free loopback ports and a local folder. The artifact
folder is laid out as the storage initializer leaves /mnt/models: the storageUri's files.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelops.errors import InputError
from modelops.serving import contract

RUNTIME_PROJECT = Path("infra/images/mlserver")
START_TIMEOUT_S = 180.0  # a cold start loads mlflow and scikit-learn in the server and each worker
STOP_TIMEOUT_S = 20.0


class ModelServerError(Exception):
    """MLServer did not come up with the model: the artifact would not serve."""


@dataclass(frozen=True)
class Ports:
    http: int
    grpc: int
    metrics: int

    @classmethod
    def free(cls) -> Ports:
        """Three loopback ports nobody listens on now, none handed out before by this process: the
        sockets are held open together so the OS cannot give one twice, and servers started side by
        side (a canary's two releases) never get the same one."""
        with _PORTS_LOCK:
            while True:
                with contextlib.ExitStack() as held:
                    sockets = [held.enter_context(socket.socket()) for _ in range(3)]
                    for probe in sockets:
                        probe.bind(("127.0.0.1", 0))
                    ports = [int(probe.getsockname()[1]) for probe in sockets]
                if not _HANDED_OUT.intersection(ports):
                    _HANDED_OUT.update(ports)
                    return cls(*ports)


@dataclass(frozen=True)
class RunningServer:
    model_name: str  # what the server answers to on /v2/models/<name>/
    url: str  # http://127.0.0.1:<port>
    metrics_url: str
    log: Path


_PORTS_LOCK = threading.Lock()
_HANDED_OUT: set[int] = set()
# Another process may still take a port between our probe and MLServer's bind: then it is tried again.
PORT_ATTEMPTS = 3
_PORT_TAKEN = "address already in use"


def runtime_project() -> Path:
    """The runtime's uv project: MODELOPS_SERVING_RUNTIME if set, else infra/images/mlserver of the
    repository this package runs from (the policies may live elsewhere: MODELOPS_ROOT)."""
    configured = os.environ.get("MODELOPS_SERVING_RUNTIME")
    return Path(configured) if configured else Path(__file__).resolve().parents[3] / RUNTIME_PROJECT


def runtime_bin(project: Path | None = None) -> Path:
    """The locked runtime's `mlserver`; `uv sync --locked --project infra/images/mlserver` makes it."""
    path = (project or runtime_project()) / ".venv" / "bin" / "mlserver"
    if not path.exists():
        raise InputError(
            f"{RUNTIME_PROJECT}: the serving runtime is not installed "
            f"(run `uv sync --locked --project {RUNTIME_PROJECT}`)"
        )
    return path


def sync_runtime(project: Path | None = None, *, uv: str = "uv", timeout_s: float = 900.0) -> Path:
    """Install the locked runtime (a no-op when it is current) and return its `mlserver`."""
    project = project or runtime_project()
    try:
        subprocess.run(
            [uv, "sync", "--locked", "--quiet", "--project", str(project)],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except FileNotFoundError:
        raise InputError(f"{RUNTIME_PROJECT}: uv is needed to install the serving runtime") from None
    except subprocess.CalledProcessError as error:
        last = (error.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise InputError(f"{RUNTIME_PROJECT}: installing the serving runtime failed: {last[0]}") from None
    return runtime_bin(project)


def _env_list(items: Any) -> list[Mapping[str, Any]]:
    return [item for item in items or [] if isinstance(item, Mapping)]


def kserve_environment(
    inference_service: Mapping[str, Any], *, model_dir: Path, ports: Ports
) -> dict[str, str]:
    """The model container's environment for `inference_service` on the platform's runtime, with the
    ports and the models folder local. A variable set through `valueFrom` has no value here: refused."""
    name = str(inference_service.get("metadata", {}).get("name", ""))
    model = inference_service.get("spec", {}).get("predictor", {}).get("model", {})
    environment = dict(contract.RUNTIME_ENV)
    for variable in _env_list(model.get("env")):
        if "value" not in variable:
            raise InputError(f"InferenceService {name}: env {variable.get('name')} has no literal value")
        environment[str(variable["name"])] = str(variable["value"])
    # KServe's defaulter (SetMlServerDefaults) appends these only when the predictor does not set them.
    environment.setdefault(contract.MODEL_NAME_ENV, name)
    environment.setdefault(contract.MODEL_URI_ENV, contract.MODELS_DIR)
    local = {
        "MLSERVER_HTTP_PORT": str(ports.http),
        "MLSERVER_GRPC_PORT": str(ports.grpc),
        "MLSERVER_METRICS_PORT": str(ports.metrics),
        "MLSERVER_HOST": "127.0.0.1",
    }
    return {
        key: str(model_dir) if value == contract.MODELS_DIR else local.get(key, value)
        for key, value in {**environment, **local}.items()
    }


def _get_status(url: str, *, timeout_s: float) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, OSError):
        return None


def _tail(log: Path, lines: int = 5) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return " | ".join(text.strip().splitlines()[-lines:])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_S)


@contextlib.contextmanager
def running(
    inference_service: Mapping[str, Any],
    *,
    artifact_dir: Path,
    log: Path,
    runtime: Path | None = None,
    start_timeout_s: float = START_TIMEOUT_S,
) -> Iterator[RunningServer]:
    """MLServer serving `artifact_dir` as KServe would for `inference_service`; stopped on exit."""
    # MLServer keeps its Prometheus counters in files under `./.metrics` of its working folder: a pod
    # has its own; two servers started from one folder here would share them, and each would report
    # both servers' requests. Each server runs in a folder of its own, beside its log.
    workdir = log.parent / f"{log.stem}-server"
    workdir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + start_timeout_s
    process: subprocess.Popen[bytes] | None = None
    try:
        for attempt in range(1, PORT_ATTEMPTS + 1):
            ports = Ports.free()
            environment = kserve_environment(inference_service, model_dir=artifact_dir, ports=ports)
            server = RunningServer(
                model_name=environment[contract.MODEL_NAME_ENV],
                url=f"http://127.0.0.1:{ports.http}",
                metrics_url=f"http://127.0.0.1:{ports.metrics}/metrics",
                log=log,
            )
            process = _launch(environment, artifact=artifact_dir, workdir=workdir, log=log, runtime=runtime)
            if _ready(process, server, deadline=deadline, timeout_s=start_timeout_s):
                break
            _stop(process)
            if attempt == PORT_ATTEMPTS:
                raise ModelServerError(f"MLServer's ports were taken {attempt} times: {_tail(log)}")
        yield server
    finally:
        if process is not None:
            _stop(process)


# What the server takes of this process's environment: what any program needs to run, nothing more.
# The pod KServe starts holds none of the gate's credentials (the registry login, the AWS role's keys,
# GitHub's token), and neither does the server here: the model it loads is the one under judgment.
INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ")


def _launch(
    environment: Mapping[str, str], *, artifact: Path, workdir: Path, log: Path, runtime: Path | None
) -> subprocess.Popen[bytes]:
    inherited = {name: os.environ[name] for name in INHERITED_ENV if name in os.environ}
    with log.open("wb") as output:
        # Its own process group: MLServer forks inference workers, and all of them must stop.
        return subprocess.Popen(
            [str(runtime_bin(runtime)), "start", str(artifact)],
            cwd=workdir,
            env={**inherited, **environment, "MLSERVER_METRICS_DIR": str(workdir / ".metrics")},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _ready(
    process: subprocess.Popen[bytes], server: RunningServer, *, deadline: float, timeout_s: float
) -> bool:
    """True once the model answers ready; False if another process took one of its ports."""
    ready = f"{server.url}/v2/models/{server.model_name}/ready"
    while _get_status(ready, timeout_s=2.0) != 200:
        if _PORT_TAKEN in server.log.read_text(errors="replace"):
            return False
        if process.poll() is not None:
            raise ModelServerError(f"MLServer exited with {process.returncode}: {_tail(server.log)}")
        if time.monotonic() > deadline:
            raise ModelServerError(f"MLServer not ready after {timeout_s:.0f} s: {_tail(server.log)}")
        time.sleep(0.5)
    return True


def infer(url: str, payload: Mapping[str, Any], *, timeout_s: float = 10.0) -> tuple[int, dict[str, Any]]:
    """POST a V2 inference request; (status, JSON body)."""
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read() or b"{}")
