"""checkov over several folders for one start-up. Run by checkov's Python (`uvx --from checkov`).

Importing checkov takes ~3 s of CPU. This script imports it once, then reads folders from stdin,
one JSON line each ({"folder": path, "graph": bool}), until stdin closes, and forks one child per
folder as it arrives, at most JOBS at a time. Each child runs checkov's own command line
(`checkov.main.Checkov(argv).run()`, what the `checkov` script calls) with `-d <folder>` added to
the arguments given here: a fresh run in a fresh process, minus the import. It writes checkov's
JSON report to `<folder>.json`, its log to `<folder>.log`, and to `<folder>.count` how many
resources checkov read (its JSON report says 0 when no check applied to any of them). At the end,
stdout gets {folder: exit code}.

`"graph": false` says the folder holds no subject of any graph check (the caller knows the kinds
and checkov's graph checks: see checkov_input). checkov then skips building its Kubernetes graph,
which was over half of each run, and its graph checks, which would have reported nothing.

It starts before the folders exist, so the import overlaps the caller's own work. Where forking
a loaded interpreter is unsafe (macOS), each folder gets a new process running this script with
`--one`, which imports checkov for itself.

usage: python -I checkov_batch.py JOBS CHECKOV_ARGUMENT... < folders
       python -I checkov_batch.py --one FOLDER graph|no-graph CHECKOV_ARGUMENT...
"""

from __future__ import annotations

import gc
import json
import logging
import os
import subprocess
import sys
import time
import traceback
import warnings
from typing import Any

import yaml  # checkov's own PyYAML: this file runs in checkov's environment

_FORK = sys.platform == "linux"


def main() -> int:
    if sys.argv[1] == "--one":
        checkov = _load_checkov()
        return _scan(checkov, sys.argv[2], sys.argv[4:], graph=sys.argv[3] == "graph")
    jobs, arguments = int(sys.argv[1]), sys.argv[2:]
    checkov = _load_checkov() if _FORK else None
    # The children need nothing the parent's ~1,000 imported modules hold in garbage collection:
    # frozen, no child walks (and so copies) them in each collection: ~20% less CPU per child.
    gc.freeze()
    exit_codes: dict[str, int] = {}
    running: dict[int, str] = {}
    spawned: dict[int, subprocess.Popen[bytes]] = {}
    for line in sys.stdin:  # each folder as soon as its line arrives
        if not line.strip():
            continue
        order = json.loads(line)
        folder, graph = order["folder"], bool(order["graph"])
        if len(running) == jobs:
            _reap(running, spawned, exit_codes)
        if checkov is not None:
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                os._exit(_scan(checkov, folder, arguments, graph=graph))
        else:
            mode = "graph" if graph else "no-graph"
            process = subprocess.Popen([sys.executable, "-I", __file__, "--one", folder, mode, *arguments])
            pid = process.pid
            spawned[pid] = process
        running[pid] = folder
    while running:
        _reap(running, spawned, exit_codes)
    print(json.dumps(exit_codes))
    return 0


def _load_checkov() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=SyntaxWarning)  # as the `checkov` script does
        from checkov.main import Checkov
    _parse_yaml_with_libyaml()
    # checkov also keeps a DEBUG copy of its log in memory, for uploads to its platform, which
    # this offline scan never makes: ~10% of a run. What reaches stderr (LOG_LEVEL) is unchanged.
    logging.getLogger().setLevel(os.environ.get("LOG_LEVEL", "WARNING").upper())
    return Checkov


def _reap(
    running: dict[int, str], spawned: dict[int, subprocess.Popen[bytes]], exit_codes: dict[str, int]
) -> None:
    if not spawned:
        pid, status = os.wait()
        exit_codes[running.pop(pid)] = os.waitstatus_to_exitcode(status)
        return
    while True:
        for pid, process in spawned.items():
            if process.poll() is not None:
                exit_codes[running.pop(pid)] = spawned.pop(pid).returncode
                return
        time.sleep(0.05)


def _scan(checkov: Any, folder: str, arguments: list[str], *, graph: bool) -> int:
    """checkov's command line over `folder`, its outputs in files beside it; returns its exit code."""
    with open(f"{folder}.json", "w") as report, open(f"{folder}.log", "w") as log:
        os.dup2(report.fileno(), 1)
        os.dup2(log.fileno(), 2)
    code = 2
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=SyntaxWarning)
            run = checkov([*arguments, "-d", folder])
            kubernetes = None if graph else _without_graph(run)
            code = run.run() or 0
        if kubernetes is not None:
            resources = _resources_read(kubernetes)
        else:
            reports = getattr(run, "scan_reports", None) or []
            resources = sum(len(r.resources) for r in reports if r.check_type == "kubernetes")
        with open(f"{folder}.count", "w") as count:
            json.dump({"resources": resources}, count)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    except BaseException:
        traceback.print_exc()
    finally:
        # Reap what checkov's own parallel runner forked: os._exit skips the atexit hook that would.
        import multiprocessing

        multiprocessing.active_children()
        sys.stdout.flush()
        sys.stderr.flush()
    return code


def _without_graph(run: Any) -> Any:
    """The run's Kubernetes runner, set to build no graph; None (graph kept) on an unknown checkov.

    checkov's Kubernetes runner builds its graph, and runs the graph checks over it, only when it
    has a graph manager (`if self.graph_manager:` in `Runner.run`, 3.3.30). Its resource checks
    read the parsed definitions and are unaffected.
    """
    from checkov.kubernetes.runner import Runner

    runners = [r for r in getattr(run, "runners", ()) if type(r) is Runner]
    if len(runners) != 1 or getattr(runners[0], "graph_manager", None) is None:
        return None
    runners[0].graph_manager = None
    return runners[0]


def _resources_read(runner: Any) -> int:
    """What the report would count without a graph: the graph's vertices, by checkov's own rules.

    Each definition with an apiVersion, a kind, a metadata mapping and a name is one vertex, named
    by file and `get_resource_id` (local_graph._create_vertices). Without a workload, which a
    folder without graph subjects cannot hold, there are no nested Pod vertices.
    """
    from checkov.kubernetes.kubernetes_utils import get_resource_id, is_invalid_k8_definition

    return len(
        {
            f"{path}:{get_resource_id(definition)}"
            for path, definitions in runner.definitions.items()
            for definition in definitions
            if not is_invalid_k8_definition(definition) and definition["metadata"].get("name")
        }
    )


def _parse_yaml_with_libyaml() -> None:
    """checkov's Kubernetes YAML loader, on libyaml: the same objects and line numbers, ~9x faster.

    checkov reads Kubernetes YAML with `k8_yaml.SafeLineLoader`: PyYAML's pure-Python SafeLoader
    plus a hook adding each mapping's first and last line. That parse was two thirds of checkov's
    time on the rendered tree. `yaml.CSafeLoader` is PyYAML's drop-in libyaml build of the same
    loader (SafeConstructor, the same resolver); the hook below is checkov's, copied. Only that
    exact shape is replaced: on any other checkov, or without libyaml, checkov's own loader stays.
    tests/policies/test_checkov.py checks both loaders give equal objects on the committed tree.
    """
    from checkov.kubernetes.parser import k8_yaml

    libyaml = getattr(yaml, "CSafeLoader", None)
    loader = getattr(k8_yaml, "SafeLineLoader", None)
    if libyaml is None or loader is None or loader.__bases__ != (yaml.SafeLoader,):
        return

    class CSafeLineLoader(libyaml):  # type: ignore[misc,valid-type]
        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            mapping = super().construct_mapping(node, deep=deep)
            # Add 1 so line numbering starts at 1 (checkov's hook, as it is in k8_yaml)
            mapping["__startline__"] = node.start_mark.line + 1
            mapping["__endline__"] = node.end_mark.line + 1
            return mapping

    k8_yaml.SafeLineLoader = CSafeLineLoader


if __name__ == "__main__":
    sys.exit(main())
