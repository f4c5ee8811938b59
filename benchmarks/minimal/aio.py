"""The minimal fan-out on asyncio, for two HTTP libraries: aiohttp (`bare`) and httpx's `AsyncClient`.

One event loop on a thread of its own (as async_core runs it), one task per page under an `asyncio.TaskGroup`, an
`asyncio.Semaphore(max_workers)` around each request. The library-specific part is a `get(url)` coroutine that
returns the response's headers and its decoded JSON; everything else is the same code for both libraries.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import aiohttp

from async_core.settings import Settings
from async_core.source.spec import TableSpec
from benchmarks.devtools import httpx
from benchmarks.minimal.common import HEADERS, Done, Failed, Writer, last_page, page_url, tables_of

Get = Callable[[str], Awaitable[tuple[Mapping[str, str], Any]]]
Take = Callable[[list[Any]], None]
Client = Callable[[Settings], contextlib.AbstractAsyncContextManager[Get]]


@contextlib.asynccontextmanager
async def aiohttp_client(settings: Settings) -> AsyncIterator[Get]:
    """aiohttp with the connector's session settings: `max_workers` pooled connections, no cookie jar."""
    connector = aiohttp.TCPConnector(limit=settings.max_workers, limit_per_host=settings.max_workers)
    timeout = aiohttp.ClientTimeout(total=settings.api_timeout_seconds)
    async with aiohttp.ClientSession(
        connector=connector, headers=HEADERS, cookie_jar=aiohttp.DummyCookieJar(), timeout=timeout
    ) as session:

        async def get(url: str) -> tuple[Mapping[str, str], Any]:
            async with session.get(url) as response:
                response.raise_for_status()
                return response.headers, json.loads(await response.read())

        yield get


@contextlib.asynccontextmanager
async def httpx_client(settings: Settings) -> AsyncIterator[Get]:
    """httpx's AsyncClient with the same pool size, timeout and headers as `httpx_threads`' Client."""
    module = httpx()
    limits = module.Limits(max_connections=settings.max_workers, max_keepalive_connections=settings.max_workers)
    async with module.AsyncClient(
        headers=HEADERS, limits=limits, timeout=settings.api_timeout_seconds, trust_env=False
    ) as client:

        async def get(url: str) -> tuple[Mapping[str, str], Any]:
            response = await client.get(url)
            response.raise_for_status()
            return response.headers, json.loads(response.content)

        yield get


async def fan_out(settings: Settings, writer: Writer, count: Callable[[], None], client: Client) -> None:
    """Every page of every table, `max_workers` requests at a time; each page put on the writer's queue. A child
    table (`parent`) lists its parent's pages first, then fans out every parent's pages the same way."""
    semaphore = asyncio.Semaphore(settings.max_workers)
    put = writer.queue.put
    rows = writer.rows_of

    async with client(settings) as get:

        async def fetch(url: str) -> tuple[Mapping[str, str], Any]:
            async with semaphore:
                count()
                return await get(url)

        async def pages(spec: TableSpec, path: str, group: asyncio.TaskGroup, take: Take) -> None:
            headers, records = await fetch(page_url(settings, path, 1))
            take(records)
            for number in range(2, last_page(settings, headers) + 1):
                group.create_task(page(path, number, take))

        async def page(path: str, number: int, take: Take) -> None:
            _headers, records = await fetch(page_url(settings, path, number))
            take(records)

        async def table(spec: TableSpec, group: asyncio.TaskGroup) -> None:
            if spec.parent is None:
                await pages(spec, spec.path, group, lambda records: put((spec.name, rows(spec, records, None))))
                return
            parents: list[Any] = []
            async with asyncio.TaskGroup() as listing:
                await pages(spec, settings.catalogue.table(spec.parent.table).path, listing, parents.extend)
            for record in parents:
                values = spec.parent_values(record)
                path = spec.path.format_map(values)

                def take(records: list[Any], values: dict[str, Any] = values) -> None:
                    put((spec.name, rows(spec, records, values)))

                group.create_task(pages(spec, path, group, take))

        async with asyncio.TaskGroup() as group:
            for spec in tables_of(settings):
                group.create_task(table(spec, group))


def start_on_loop_thread(client: Client) -> Callable[[Settings, Writer, Callable[[], None]], Callable[[], None]]:
    """The fetch side for `run_minimal`: `fan_out` on a new event loop in a thread; ends with `Done` or `Failed`."""

    def start(settings: Settings, writer: Writer, count: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                asyncio.run(fan_out(settings, writer, count, client))
            except BaseException as exc:
                writer.queue.put(Failed(exc))
            else:
                writer.queue.put(Done())

        thread = threading.Thread(target=run, name="minimal-loop", daemon=True)
        thread.start()
        return thread.join

    return start
