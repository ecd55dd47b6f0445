"""A real Prometheus holding a chosen history: series written as OpenMetrics, backfilled by promtool.

The rollout analysis and rightsizing read weeks of series. Scraping cannot make weeks of
history in a test, so the history is written as OpenMetrics text, turned into TSDB blocks by
`promtool tsdb create-blocks-from openmetrics`, and served by a Prometheus started on those
blocks on a free loopback port. The benchmarks and the tests share this module.

OpenMetrics asks that a metric family's samples come together and that each series' samples
come in time order; `OpenMetricsWriter` writes one family at a time, one series at a time, so
both hold by construction.
"""

from __future__ import annotations

import math
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Literal

MetricType = Literal["counter", "gauge", "histogram", "unknown"]

# Prometheus drops blocks older than its retention when it opens them: keep every backfilled week.
RETENTION = "400d"
MAX_BLOCK = "240h"


class HistoryError(RuntimeError):
    """promtool or Prometheus refused the history, or did not start."""


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    quoted = (
        f'{key}="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for key, value in labels.items()
    )
    return "{" + ",".join(quoted) + "}"


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


class OpenMetricsWriter:
    """Writes families one after another; each `series` call writes one series' points in time order."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._family: str | None = None
        self._closed = False

    def family(self, name: str, kind: MetricType, help_text: str) -> None:
        """Start a metric family. A counter's samples are `<name>_total`; pass `name` without it."""
        self._family = name
        self._out.write(f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n")

    def series(
        self,
        labels: Mapping[str, str],
        points: Iterable[tuple[float, float]],
        *,
        suffix: str = "",
    ) -> None:
        """`points` are (unix seconds, value) in increasing time; `suffix` e.g. `_total` or `_bucket`."""
        if self._family is None:
            raise ValueError("call family() before series()")
        head = f"{self._family}{suffix}{_labels(labels)} "
        self._out.writelines(f"{head}{_number(value)} {timestamp:.3f}\n" for timestamp, value in points)

    def close(self) -> None:
        if not self._closed:
            self._out.write("# EOF\n")
            self._closed = True


def create_blocks(openmetrics: Path, data_dir: Path, *, promtool: str = "promtool") -> None:
    """Turn an OpenMetrics file into TSDB blocks under `data_dir` (promtool's own backfill)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            promtool,
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            # Prometheus' storage docs name this flag; with the 2 h default, 30 days is 361 blocks
            # and 17 s of per-block overhead, with 10 days it is 4 blocks in 0.1 s.
            f"--max-block-duration={MAX_BLOCK}",
            "--quiet",
            str(openmetrics),
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise HistoryError(f"promtool refused {openmetrics}: {(done.stderr or done.stdout).strip()[-2000:]}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_ready(base: str, process: subprocess.Popen[bytes], log: Path, *, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while True:
        if process.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
            raise HistoryError(f"prometheus exited with {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:  # refused or 503 while it replays the blocks
            pass
        if time.monotonic() > deadline:
            raise HistoryError(f"prometheus not ready within {within_s:g} s (log: {log})")
        time.sleep(0.1)


@contextmanager
def serving(
    data_dir: Path,
    workdir: Path,
    *,
    config: Path | None = None,
    binary: str = "prometheus",
    ready_within_s: float = 60,
) -> Iterator[str]:
    """Run Prometheus over `data_dir` on a free loopback port until the block ends; yields its base URL.

    With no `config` it scrapes nothing: it only answers queries over the backfilled history.
    """
    if shutil.which(binary) is None and not Path(binary).exists():
        raise HistoryError(f"{binary} is not installed (Debian package `prometheus`)")
    workdir.mkdir(parents=True, exist_ok=True)
    if config is None:
        config = workdir / "prometheus.yml"
        config.write_text("global: {scrape_interval: 15s}\n")
    port = _free_port()
    log_path = workdir / "prometheus.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={data_dir}",
                f"--storage.tsdb.retention.time={RETENTION}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base, process, log_path, within_s=ready_within_s)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def history(
    write: Callable[[OpenMetricsWriter], None],
    workdir: Path,
    *,
    promtool: str = "promtool",
    binary: str = "prometheus",
) -> Iterator[str]:
    """A Prometheus answering queries over the history `write` produces; yields its base URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    openmetrics = workdir / "history.om"
    with openmetrics.open("w") as out:
        writer = OpenMetricsWriter(out)
        write(writer)
        writer.close()
    create_blocks(openmetrics, workdir / "data", promtool=promtool)
    openmetrics.unlink()  # the blocks hold it now; the text can be hundreds of MB
    with serving(workdir / "data", workdir, binary=binary) as base:
        yield base
