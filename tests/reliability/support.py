"""Helpers of the reliability suite: in-process syncs held to a time bound and checked for leaks, and raw servers.

`checked_sync` runs `run_sync` on a worker thread and gives it a deadline computed from the configuration
(`time_bound`): a sync that overruns fails its test instead of hanging the suite (leaving the test's `with serve`
block stops the server, which ends a runaway sync). After the sync it checks that no thread is left behind and no
client socket to the servers' ports is still established.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from async_core import SyncResult, parse_settings, run_sync
from async_core.settings import Settings
from tests.e2e.project import run_debug
from tests.sinks import RecordingSink

# Bookkeeping that every bound includes: starting the loop thread and session, writing, joining.
SLACK_SECONDS = 3.0
# Starting `fivetran debug` before the connector runs (imports, pipreqs, schema), on a loaded 2-core machine.
START_SECONDS = 15.0


class ListLog:
    """A `Log` that keeps every line, with its level."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def _add(self, level: str, message: str) -> None:
        with self._lock:
            self.lines.append((level, message))

    def info(self, message: str) -> None:
        self._add("info", message)

    def warning(self, message: str) -> None:
        self._add("warning", message)

    def severe(self, message: str) -> None:
        self._add("severe", message)

    def text(self) -> str:
        return "\n".join(message for _, message in self.lines)


def client_connections(port: int) -> int:
    """Established TCP connections (IPv4 and IPv6) whose remote end is `port`: the client side of them."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port and fields[3] == "01":  # 01 = ESTABLISHED
                count += 1
    return count


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def time_bound(settings: Settings, *, requests: int, hint: float = 0.0, outage: float = 0.0) -> float:
    """The longest a sync of `requests` first attempts may take under `settings`, in seconds.

    One request at worst makes max_retries + 1 attempts of api_timeout_seconds each and sleeps max_retries times,
    each sleep the larger of max_delay and the longest server wait hint (`hint`). Requests run max_workers at a
    time; a table's first page comes before its other pages, so the rounds are ceil(requests / max_workers) + 1.
    An outage adds its length (the breaker waits it out), and SLACK_SECONDS covers starting and stopping:

        bound = (ceil(requests / max_workers) + 1) · ((R + 1) · T + R · max(max_delay, hint)) + outage + slack
    """
    retries = settings.max_retries
    per_request = (retries + 1) * settings.api_timeout_seconds + retries * max(settings.max_delay, hint)
    rounds = math.ceil(requests / settings.max_workers) + 1
    return rounds * per_request + outage + SLACK_SECONDS


@dataclasses.dataclass
class Checked:
    """A sync that ended within its bound, leaving nothing behind."""

    result: SyncResult
    sink: RecordingSink
    log: ListLog
    elapsed: float
    bound: float


def checked_sync(
    configuration: Mapping[str, str],
    state: Mapping[str, Any] | None = None,
    *,
    bound: float,
    ports: Iterable[int] = (),
    sink: RecordingSink | None = None,
    exclusive: bool = True,
) -> Checked:
    """Runs one sync on a worker thread; asserts that it ends within `bound` seconds, that no thread it started is
    still alive and that no client connection to `ports` is still established.

    `exclusive=False` when other syncs run at the same time: then only this sync's own event loop thread (named
    after its sync id) is looked for, since the others' threads come and go meanwhile.
    """
    sink = sink if sink is not None else RecordingSink()
    log = ListLog()
    outcome: dict[str, Any] = {}
    threads_before = set(threading.enumerate())

    def work() -> None:
        try:
            outcome["result"] = run_sync(configuration, state, sink=sink, log=log)
        except BaseException as exc:  # handed to the test thread
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="reliability-sync", daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(bound)
    elapsed = time.monotonic() - started
    assert not worker.is_alive(), f"the sync was still running after its bound of {bound:.1f} s"
    if "error" in outcome:
        raise outcome["error"]
    result: SyncResult = outcome["result"]
    if exclusive:
        left = {thread for thread in threading.enumerate() if thread not in threads_before}
    else:
        left = {thread for thread in threading.enumerate() if thread.name == f"sync-{result.sync_id}"}
    assert left == set(), f"threads left behind: {sorted(thread.name for thread in left)}"
    for port in ports:
        assert client_connections(port) == 0, f"a client connection to port {port} is still open"
    return Checked(result=result, sink=sink, log=log, elapsed=elapsed, bound=bound)


def settings_of(configuration: Mapping[str, str]) -> Settings:
    settings, _ = parse_settings(configuration)
    return settings


RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclasses.dataclass
class RawSeen:
    """What a raw server saw: one entry per connection, the bytes of its request head."""

    connections: list[bytes] = dataclasses.field(default_factory=list)


@contextmanager
def raw_serve(handler: RawHandler) -> Iterator[tuple[str, RawSeen]]:
    """A plain TCP server on 127.0.0.1 for faults that an HTTP server library will not produce (a status line
    that trickles in, ...). `handler` gets each connection after its request head was read."""
    seen = RawSeen()
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            seen.connections.append(head)
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away: that is what these tests provoke
        finally:
            writer.close()

    async def main(stop: asyncio.Event) -> None:
        server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
        holder["url"] = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        started.set()
        await stop.wait()
        server.close()
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(main(stop),), daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield str(holder["url"]), seen
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


def timed_debug(project: Path, *, bound: float) -> subprocess.CompletedProcess[str]:
    """`fivetran debug` in `project`; asserts that it ended within `bound` seconds (and kills it 30 s after)."""
    started = time.monotonic()
    result = run_debug(project, timeout=bound + 30)
    elapsed = time.monotonic() - started
    assert elapsed <= bound, f"fivetran debug took {elapsed:.1f} s, more than its bound of {bound:.1f} s"
    return result
