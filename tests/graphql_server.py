# mypy: disable-error-code="valid-type,misc,call-arg"
# (strawberry is imported by name, tests/devtools.py says why: its decorated types are opaque to mypy here)
"""A real GraphQL server, strawberry-graphql's aiohttp view, served in-process on 127.0.0.1 for tests.

    with graphql_server(orders=sample(30)) as server:
        ... POST server.url {"query": ..., "variables": {"first": 10, "after": ...}}

The schema: `orders(first, after, updatedSince)`, a relay connection (`edges { cursor node }`, `nodes`, `pageInfo
{ hasNextPage endCursor }`) over orders sorted by (updatedAt, id), each with a nested list `lineItems`. Faults are
GraphQL errors in the answer's `errors` array on a 200, as real servers send them: `fail_at` makes the Nth
`orders` request (from 1) fail (`code` in `extensions`, e.g. "THROTTLED"; None: a resolver's plain exception).
With `tokens` (`tests.oauth2_server.Tokens`), a request needs a live bearer token from that authorization server.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from tests import devtools
from tests.oauth2_server import Tokens

# Dev-only packages, imported by name (tests/devtools.py says why).
strawberry = devtools.module("strawberry")
GraphQLView = devtools.module("strawberry.aiohttp.views").GraphQLView
GraphQLError = devtools.module("graphql").GraphQLError

HOST = "127.0.0.1"


@strawberry.type
class LineItem:
    sku: str
    quantity: int


@strawberry.type
class Order:
    id: int
    customer: str
    updated_at: str
    line_items: list[LineItem]


@strawberry.type
class OrderEdge:
    cursor: str
    node: Order


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class OrderConnection:
    edges: list[OrderEdge]
    nodes: list[Order]  # the edges' nodes (GitHub's and Shopify's shortcut)
    page_info: PageInfo


@dataclasses.dataclass
class Fault:
    fail_at: set[int] = dataclasses.field(default_factory=set)  # which `orders` requests fail (from 1)
    code: str | None = None  # extensions.code of the error; None: a plain exception in the resolver
    delay: float = 0.0  # seconds each `orders` request takes (a slow API: a sync long enough to be killed)


@dataclasses.dataclass
class GraphQLServer:
    url: str  # the GraphQL endpoint
    base_url: str
    orders: list[dict[str, Any]]
    fault: Fault
    seen: list[dict[str, Any]]  # the variables of every `orders` request


def _cursor(index: int) -> str:
    return base64.b64encode(f"order:{index}".encode()).decode()


def _index(cursor: str) -> int:
    return int(base64.b64decode(cursor).decode().split(":")[1])


def make_schema(orders: list[dict[str, Any]], fault: Fault, seen: list[dict[str, Any]]) -> Any:
    @strawberry.type
    class Query:
        @strawberry.field
        async def orders(
            self, first: int = 10, after: str | None = None, updated_since: str | None = None
        ) -> OrderConnection:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            seen.append({"first": first, "after": after, "updatedSince": updated_since})
            if len(seen) in fault.fail_at:
                if fault.code is None:
                    raise RuntimeError("the orders resolver failed")
                raise GraphQLError("try again later", extensions={"code": fault.code})
            rows = sorted(
                (o for o in orders if updated_since is None or o["updated_at"] >= updated_since),
                key=lambda o: (o["updated_at"], o["id"]),
            )
            start = _index(after) + 1 if after else 0
            page = rows[start : start + first]
            edges = [
                OrderEdge(
                    cursor=_cursor(start + i),
                    node=Order(
                        id=o["id"],
                        customer=o["customer"],
                        updated_at=o["updated_at"],
                        line_items=[LineItem(sku=i["sku"], quantity=i["quantity"]) for i in o["line_items"]],
                    ),
                )
                for i, o in enumerate(page)
            ]
            more = start + first < len(rows)
            return OrderConnection(
                edges=edges,
                nodes=[edge.node for edge in edges],
                page_info=PageInfo(has_next_page=more, end_cursor=edges[-1].cursor if edges else None),
            )

    return strawberry.Schema(query=Query)


def sample_orders(count: int, *, day: str = "2024-05-01") -> list[dict[str, Any]]:
    return [
        {
            "id": n,
            "customer": f"customer {n}",
            "updated_at": f"{day}T{n // 60:02d}:{n % 60:02d}:00Z",
            "line_items": [{"sku": f"sku-{n}-{k}", "quantity": k} for k in range(1, n % 3 + 2)],
        }
        for n in range(1, count + 1)
    ]


@contextmanager
def graphql_server(
    *, orders: list[dict[str, Any]] | None = None, fault: Fault | None = None, tokens: Tokens | None = None
) -> Iterator[GraphQLServer]:
    """Serves the schema at /graphql on an ephemeral port for the `with` block."""
    data = orders if orders is not None else sample_orders(30)
    faults = fault or Fault()
    seen: list[dict[str, Any]] = []
    started = threading.Event()
    holder: dict[str, Any] = {}

    @web.middleware
    async def bearer(request: web.Request, handler: Any) -> web.StreamResponse:
        if tokens is not None and not tokens.check(request.headers.get("Authorization")):
            return web.json_response({"message": "invalid or expired token"}, status=401)
        response: web.StreamResponse = await handler(request)
        return response

    async def main(stop: asyncio.Event) -> None:
        app = web.Application(middlewares=[bearer])
        app.router.add_route("*", "/graphql", GraphQLView(schema=make_schema(data, faults, seen)))
        runner = web.AppRunner(app, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, HOST, 0)
        await site.start()
        holder["port"] = runner.addresses[0][1]
        started.set()
        await stop.wait()
        await runner.cleanup()

    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(main(stop),), daemon=True)
    thread.start()
    started.wait(10)
    base = f"http://{HOST}:{holder['port']}"
    try:
        yield GraphQLServer(f"{base}/graphql", base, data, faults, seen)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
