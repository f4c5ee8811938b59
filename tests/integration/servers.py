"""Small inline aiohttp servers for integration tests, run on 127.0.0.1 in a thread of their own.

Each test describes the handler it needs; `serve` runs it on an ephemeral port for the duration of a `with` block,
and records what the server saw (paths, queries, the most requests in flight at once).
"""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclasses.dataclass
class Seen:
    """What the server saw."""

    requests: list[str] = dataclasses.field(default_factory=list)  # path?query, in arrival order
    times: list[float] = dataclasses.field(default_factory=list)  # time.monotonic() of each arrival
    in_flight: int = 0
    max_in_flight: int = 0


@contextmanager
def serve(handler: Handler, *, tls: ssl.SSLContext | None = None) -> Iterator[tuple[str, Seen]]:
    """Serves `handler` for every path and method; yields (base_url, what the server saw). With `tls` (a server
    context), over https."""
    seen = Seen()
    started = threading.Event()
    holder: dict[str, object] = {}

    async def counting(request: web.Request) -> web.StreamResponse:
        seen.requests.append(request.path_qs)
        seen.times.append(time.monotonic())
        seen.in_flight += 1
        seen.max_in_flight = max(seen.max_in_flight, seen.in_flight)
        try:
            return await handler(request)
        finally:
            seen.in_flight -= 1

    async def main(stop: asyncio.Event) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", counting)
        runner = web.AppRunner(app, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
        await site.start()
        port = runner.addresses[0][1]
        holder["url"] = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        started.set()
        await stop.wait()
        await runner.cleanup()
        # handlers still sleeping (stalls) are cancelled here, not destroyed pending with the loop
        pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

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


def rows(collection: str, count: int) -> list[dict[str, object]]:
    """Valid records of `collection` ("posts" or "users"), ids 1..count."""
    if collection == "users":
        return [
            {
                "id": i,
                "name": f"n{i}",
                "username": f"u{i}",
                "email": f"u{i}@example.com",
                "address": {"city": "c", "geo": {"lat": "0", "lng": "0"}},
                "phone": "1",
                "website": "w",
                "company": {"name": "co"},
            }
            for i in range(1, count + 1)
        ]
    return [{"id": i, "userId": (i - 1) // 10 + 1, "title": f"t{i}", "body": f"b{i}"} for i in range(1, count + 1)]


def paged(data: list[dict[str, Any]], *, total: bool = True, links: bool = True, delay: float = 0.0) -> Any:
    """A json-server-like handler over `data`."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if delay:
            await asyncio.sleep(delay)
        if "_page" not in request.query:
            return web.json_response(data)
        page, limit = int(request.query["_page"]), int(request.query["_limit"])
        body = data[(page - 1) * limit : page * limit]
        headers = {}
        if total:
            headers["X-Total-Count"] = str(len(data))
        if links and page * limit < len(data):
            headers["Link"] = f'<{request.url.with_query(_page=page + 1, _limit=limit)}>; rel="next"'
        elif links:
            headers["Link"] = f'<{request.url.with_query(_page=1, _limit=limit)}>; rel="first"'
        return web.json_response(body, headers=headers)

    return handler
