"""The box's API server: a separate process, outside the box, json-server paging over generated rows.

    python -m benchmarks.box.server --items 200000 --row-bytes 2000 --parents 100000 --latency-ms 0

Prints `playground listening on http://127.0.0.1:PORT` (the contract of `benchmarks.server`) and serves until
terminated; then `playground stopped: N requests, faults: none`. Rows are made on request (nothing is held): item
i is `{"id": i, "payload": <row-bytes characters>}`, parent i `{"id": i, "name": "parent i"}`, and parent i has
`children_of(i)` children with ids unique across parents.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web


def children_of(parent: int) -> int:
    """1 to 3 child rows per parent."""
    return 1 + parent % 3


def window(request: web.Request, total: int) -> range:
    """The ids (1-based) of the page `_page` of `_limit` rows; no `_limit`: every row."""
    limit = int(request.query.get("_limit", "0") or 0)
    if limit <= 0:
        return range(1, total + 1)
    page = max(1, int(request.query.get("_page", "1") or 1))
    first = (page - 1) * limit + 1
    return range(first, min(total, first + limit - 1) + 1)


def app(*, items: int, row_bytes: int, parents: int, latency_ms: int, counter: list[int]) -> web.Application:
    payload = ("0123456789abcdef" * (row_bytes // 16 + 1))[:row_bytes]

    def collection(total: Callable[[web.Request], int], row: Callable[[web.Request, int], dict[str, Any]]) -> Any:
        async def handler(request: web.Request) -> web.Response:
            counter[0] += 1
            if latency_ms:
                await asyncio.sleep(latency_ms / 1000)
            count = total(request)
            body = json.dumps([row(request, i) for i in window(request, count)])
            return web.Response(text=body, content_type="application/json", headers={"X-Total-Count": str(count)})

        return handler

    def child(request: web.Request, i: int) -> dict[str, Any]:
        parent = int(request.match_info["parent"])
        return {"id": parent * 3 + i, "parent_id": parent, "value": f"child {i} of {parent}"}

    application = web.Application()
    application.router.add_get("/items", collection(lambda r: items, lambda r, i: {"id": i, "payload": payload}))
    application.router.add_get("/parents", collection(lambda r: parents, lambda r, i: {"id": i, "name": f"parent {i}"}))
    application.router.add_get(
        "/parents/{parent}/children", collection(lambda r: children_of(int(r.match_info["parent"])), child)
    )
    return application


async def serve(arguments: argparse.Namespace) -> int:
    counter = [0]
    application = app(
        items=arguments.items,
        row_bytes=arguments.row_bytes,
        parents=arguments.parents,
        latency_ms=arguments.latency_ms,
        counter=counter,
    )
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, arguments.host, arguments.port, backlog=1024)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"playground listening on http://{arguments.host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()
    print(f"playground stopped: {counter[0]} requests, faults: none", flush=True)
    return 0


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.box.server", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--items", type=int, default=0, help="rows of /items")
    parser.add_argument("--row-bytes", type=int, default=2000, help="characters of each item's payload")
    parser.add_argument("--parents", type=int, default=0, help="rows of /parents (each with 1-3 children)")
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every response")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(serve(parse_arguments(sys.argv[1:]))))
