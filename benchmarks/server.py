"""The playground as a separate process: started for a benchmark, read for its row counts, stopped after.

The contract: `python -m async_core.playground --host 127.0.0.1 --port 0 --scale N --latency-ms L --faults F
--seed S` prints one line `playground listening on http://127.0.0.1:PORT` and serves until terminated.
Its output is drained by a thread so that a chatty server never blocks on a full pipe.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import math
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from benchmarks.devtools import requests
from sources.jsonplaceholder import TABLES

ROOT = Path(__file__).resolve().parents[1]
LISTENING = re.compile(r"playground listening on (http://\S+)")
STOPPED = re.compile(r"playground stopped: (\d+) requests, faults: (.*)")
THROTTLED = re.compile(r"playground throttled: (\d+) requests answered 429")
START_TIMEOUT_SECONDS = 30.0


@dataclasses.dataclass
class Playground:
    """A running playground process."""

    url: str
    process: subprocess.Popen[str]
    output: collections.deque[str]  # its last lines, for error messages
    arguments: list[str]
    served: int | None = None  # after it stopped: the requests it served, from its exit line
    faults: dict[str, int] = dataclasses.field(default_factory=dict)  # after it stopped: the faults it injected
    throttled: int | None = None  # after it stopped, with --rate-limit: the 429s its token bucket sent

    def cpu_seconds(self) -> float | None:
        """User + system CPU seconds the server has used so far (Linux /proc; None elsewhere)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks  # utime and stime (fields 14 and 15 of stat)


def playground_command(*, scale: int, latency_ms: int, faults: str, seed: int, extra: Sequence[str] = ()) -> list[str]:
    return [
        sys.executable,
        "-m",
        "async_core.playground",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--scale",
        str(scale),
        "--latency-ms",
        str(latency_ms),
        "--faults",
        faults,
        "--seed",
        str(seed),
        *extra,
    ]


@contextlib.contextmanager
def running_playground(
    *,
    scale: int,
    latency_ms: int,
    faults: str = "none",
    seed: int = 1,
    extra: Sequence[str] = (),
    command: Sequence[str] | None = None,
) -> Iterator[Playground]:
    """Starts the playground, yields it once it listens, and stops it (terminate, then kill) on exit. `command`:
    another server that keeps the playground's contract (the box's, `benchmarks.box.server`)."""
    command = list(
        command or playground_command(scale=scale, latency_ms=latency_ms, faults=faults, seed=seed, extra=extra)
    )
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    output: collections.deque[str] = collections.deque(maxlen=50)
    found: dict[str, str] = {}
    listening = threading.Event()

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip())
            match = LISTENING.search(line)
            if match and not listening.is_set():
                found["url"] = match.group(1).rstrip("/")
                listening.set()
        listening.set()  # the process ended: stop waiting

    drainer = threading.Thread(target=drain, name="playground-output", daemon=True)
    drainer.start()
    try:
        if not listening.wait(START_TIMEOUT_SECONDS) or "url" not in found:
            raise RuntimeError(
                f"the playground did not start ({' '.join(command[1:])}); its output:\n" + "\n".join(output)
            )
        playground = Playground(url=found["url"], process=process, output=output, arguments=command[3:])
        yield playground
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        drainer.join(5)
    _read_exit_line(playground)


def _read_exit_line(playground: Playground) -> None:
    """`playground stopped: N requests, faults: reset 3, server_error 5` (or `faults: none`)."""
    for line in playground.output:
        throttled = THROTTLED.search(line)
        if throttled:
            playground.throttled = int(throttled.group(1))
        match = STOPPED.search(line)
        if match:
            playground.served = int(match.group(1))
            for part in match.group(2).split(","):
                name, _, count = part.strip().rpartition(" ")
                if name and count.isdigit():
                    playground.faults[name] = int(count)


def row_counts(base_url: str, tables: Sequence[str], *, attempts: int = 20) -> dict[str, int]:
    """Each table's row count, from the `X-Total-Count` of a one-row page (retried: the server may be flaky)."""
    counts: dict[str, int] = {}
    with requests.Session() as session:
        session.trust_env = False
        for name in tables:
            url = f"{base_url}{TABLES[name].path}?_page=1&_limit=1"
            for attempt in range(attempts):
                try:
                    response = session.get(url, timeout=10)
                    total = response.headers.get("X-Total-Count", "")
                    if response.status_code == 200 and total.isdigit():
                        counts[name] = int(total)
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.05 * (attempt + 1))
            else:
                raise RuntimeError(f"could not read the row count of {name} from {url}")
    return counts


def page_counts(rows: dict[str, int], page_size: int) -> dict[str, int]:
    """Requests each table takes: one per page (one per table when page_size is 0)."""
    return {name: (max(1, math.ceil(count / page_size)) if page_size else 1) for name, count in rows.items()}
