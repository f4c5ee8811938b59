"""The minimal fan-out on threads: a blocking `get(url)` (h11 over a socket per thread, or httpx's `Client`) in a
`ThreadPoolExecutor`.

The same plan, rows and hand-off as `aio.fan_out`; the pool's `max_workers` threads bound the requests in flight.
The calling thread never waits on a future: a page task submits nothing, a first-page task submits its table's
other pages, and the last task to finish puts `Done` (one wake-up for the whole sync, as the loop side's `Done`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from async_core.settings import Settings
from async_core.source.spec import TableSpec
from benchmarks.devtools import httpx
from benchmarks.minimal.common import HEADERS, Done, Failed, Writer, last_page, page_url, tables_of

SyncGet = Callable[[str], tuple[Mapping[str, str], Any]]
MakeGet = Callable[[Settings], tuple[SyncGet, Callable[[], None]]]


def httpx_get(settings: Settings) -> tuple[SyncGet, Callable[[], None]]:
    """httpx's `Client` (one, shared by the threads: it is thread-safe), and its `close`."""
    module = httpx()
    limits = module.Limits(max_connections=settings.max_workers, max_keepalive_connections=settings.max_workers)
    client = module.Client(headers=HEADERS, limits=limits, timeout=settings.api_timeout_seconds, trust_env=False)

    def get(url: str) -> tuple[Mapping[str, str], Any]:
        response = client.get(url)
        response.raise_for_status()
        return response.headers, json.loads(response.content)

    return get, client.close


def start_pool(make_get: MakeGet) -> Callable[[Settings, Writer, Callable[[], None]], Callable[[], None]]:
    """The fetch side for `run_minimal`, over `make_get`'s blocking `get`."""

    def start(settings: Settings, writer: Writer, count: Callable[[], None]) -> Callable[[], None]:
        return _start(settings, writer, count, *make_get(settings))

    return start


def _start(
    settings: Settings, writer: Writer, count: Callable[[], None], fetch: SyncGet, close: Callable[[], None]
) -> Callable[[], None]:
    pool = ThreadPoolExecutor(max_workers=settings.max_workers, thread_name_prefix="minimal")
    lock = threading.Lock()
    pending = [0]
    failed: list[BaseException] = []
    put = writer.queue.put

    def get(spec: TableSpec, number: int) -> Any:
        count()
        headers, records = fetch(page_url(settings, spec.path, number))
        put((spec.name, writer.rows_of(spec, records, None)))
        return headers

    def first(spec: TableSpec) -> None:
        for number in range(2, last_page(settings, get(spec, 1)) + 1):
            submit(get, spec, number)

    def task(function: Callable[..., Any], *args: Any) -> None:
        try:
            if not failed:
                function(*args)
        except BaseException as exc:
            with lock:
                if not failed:
                    failed.append(exc)
                    put(Failed(exc))
        finally:
            with lock:
                pending[0] -= 1
                last = pending[0] == 0
            if last and not failed:
                put(Done())

    def submit(function: Callable[..., Any], *args: Any) -> None:
        with lock:
            pending[0] += 1
        pool.submit(task, function, *args)

    specs = tables_of(settings)
    with lock:  # no task can see pending reach 0 before every first page is submitted
        for spec in specs:
            pending[0] += 1
            pool.submit(task, first, spec)

    def join() -> None:
        pool.shutdown(wait=True)
        close()

    return join
