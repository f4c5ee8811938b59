"""The JSONPlaceholder-compatible application: collections, items, nested collections, json-server pagination.

Routes, for each collection C of `COLLECTIONS`:
- `GET /C` with the query conventions of `pagination` (pages, `_limit`, equality filters); `X-Total-Count` (with
  `_page` or `_limit`) and `Link` (with `_page`) as json-server sends them, unless `header_mode` turns them off;
- `GET /C/<id>`: the row, or 404 `{}`;
- `GET /P/<id>/C` for the parent/child pairs of JSONPlaceholder (`/users/1/posts`, `/posts/1/comments`, ...);
- anything else: 404 `{}`. A bad `_page`/`_limit`: 400.
Every JSON body is UTF-8 (`application/json; charset=utf-8`). Faults are injected by the first middleware (see
`inject`), which also writes the request log.
"""

from __future__ import annotations

import dataclasses
import json
from collections import OrderedDict
from collections.abc import Sequence
from typing import Final

from aiohttp import hdrs, web

from async_core.playground.data import COLLECTIONS, FOREIGN_KEYS, Dataset, Row
from async_core.playground.faults import FaultProfile
from async_core.playground.inject import JSON_CONTENT_TYPE, error_response, faulty_application
from async_core.playground.log import RequestLog
from async_core.playground.pagination import (
    HEADER_MODES,
    CollectionQuery,
    Filters,
    HeaderMode,
    link_header,
    parse_query,
)

# (parent collection, child collection) -> the child's field that holds the parent's id.
NESTED: Final[dict[tuple[str, str], str]] = {
    ("users", "posts"): "userId",
    ("users", "albums"): "userId",
    ("users", "todos"): "userId",
    ("posts", "comments"): "postId",
    ("albums", "photos"): "albumId",
}
assert all(FOREIGN_KEYS[child][0] == field for (_, child), field in NESTED.items())

_EXPOSED = "X-Total-Count, Link"
_NOT_FOUND = b"{}"
_PageKey = tuple[str, Filters, int, int]


class _ByteCache:
    """An LRU of serialized pages, bounded by their total size (a whole collection at scale can be large)."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[_PageKey, bytes] = OrderedDict()

    def get(self, key: _PageKey) -> bytes | None:
        body = self._entries.get(key)
        if body is not None:
            self._entries.move_to_end(key)
        return body

    def put(self, key: _PageKey, body: bytes) -> None:
        if len(body) > self._max_bytes // 4:
            return  # one huge body would evict everything else: serve it uncached
        self._entries[key] = body
        self._bytes += len(body)
        while self._bytes > self._max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= len(evicted)


def _dumps(value: Row | list[Row]) -> bytes:
    # ensure_ascii=False: non-ASCII names go out as UTF-8, as the real API sends them.
    return json.dumps(value, ensure_ascii=False).encode()


class _Handlers:
    """The request handlers over one dataset. Runs on the server's event loop only (the caches are not locked)."""

    def __init__(self, dataset: Dataset, header_mode: HeaderMode, cache_bytes: int) -> None:
        self._dataset = dataset
        self._header_mode = header_mode
        self._pages = _ByteCache(cache_bytes)
        self._matches: OrderedDict[tuple[str, Filters], Sequence[int]] = OrderedDict()

    async def collection(self, request: web.Request) -> web.Response:
        return self._collection(request, request.match_info["collection"], None)

    async def nested(self, request: web.Request) -> web.Response:
        parent, child = request.match_info["parent"], request.match_info["child"]
        field = NESTED.get((parent, child))
        if field is None:
            return _not_found()
        return self._collection(request, child, (field, request.match_info["id"]))

    async def item(self, request: web.Request) -> web.Response:
        raw = request.match_info["id"]
        row = self._dataset.row(request.match_info["collection"], int(raw)) if raw.isdigit() else None
        if row is None:
            return _not_found()
        return web.Response(body=_dumps(row), headers={hdrs.CONTENT_TYPE: JSON_CONTENT_TYPE})

    async def not_found(self, _request: web.Request) -> web.Response:
        return _not_found()

    def _collection(self, request: web.Request, name: str, parent: tuple[str, str] | None) -> web.Response:
        try:
            query = parse_query(request.query.items())
        except ValueError as exc:
            return error_response(400, str(exc))
        if parent is not None:
            field, parent_id = parent
            merged = {**dict(query.filters), field: (parent_id,)}
            query = dataclasses.replace(query, filters=tuple(sorted(merged.items())))
        ids = self._matching_ids(name, query.filters)
        total = len(ids)
        start, stop = query.window(total)
        key = (name, query.filters, start, stop)
        body = self._pages.get(key)
        if body is None:
            body = _dumps(self._dataset.rows(name, ids[start:stop]))
            self._pages.put(key, body)
        return web.Response(body=body, headers=self._headers(request, query, total))

    def _matching_ids(self, name: str, filters: Filters) -> Sequence[int]:
        if not filters:
            return range(1, self._dataset.size(name) + 1)
        key = (name, filters)
        ids = self._matches.get(key)
        if ids is None:
            ids = self._dataset.matching_ids(name, dict(filters))
            self._matches[key] = ids
            if len(self._matches) > 1024:
                self._matches.popitem(last=False)
        return ids

    def _headers(self, request: web.Request, query: CollectionQuery, total: int) -> dict[str, str]:
        headers: dict[str, str] = {hdrs.CONTENT_TYPE: JSON_CONTENT_TYPE}
        if query.page is None and query.limit is None:
            return headers  # like json-server: the whole collection comes without a count
        mode = self._header_mode
        if mode == "full":
            headers["X-Total-Count"] = str(total)
        if query.page is not None and mode != "no_headers":
            headers[hdrs.LINK] = link_header(f"{request.scheme}://{request.host}{request.path}", query, total)
        if mode != "no_headers":
            headers[hdrs.ACCESS_CONTROL_EXPOSE_HEADERS] = _EXPOSED
        return headers


def _not_found() -> web.Response:
    return web.Response(status=404, body=_NOT_FOUND, headers={hdrs.CONTENT_TYPE: JSON_CONTENT_TYPE})


def make_app(
    *,
    scale: int = 1,
    profile: FaultProfile | None = None,
    header_mode: HeaderMode = "full",
    log: RequestLog | None = None,
    cache_bytes: int = 64 * 1024 * 1024,
) -> web.Application:
    """The playground application over `Dataset(scale)`, with `profile`'s faults (none by default).

    `header_mode`: "full" (X-Total-Count and Link), "link_only" (no X-Total-Count, so clients must follow Link),
    "no_headers" (neither: clients must walk pages until a short or empty one). `log`, when given, gets a record
    of every request. The fault injector is `app[INJECTOR]` (to change the profile while running).
    """
    if header_mode not in HEADER_MODES:
        raise ValueError(f"header_mode must be one of {', '.join(HEADER_MODES)}, got {header_mode!r}")
    handlers = _Handlers(Dataset(scale), header_mode, cache_bytes)
    app = faulty_application(profile or FaultProfile(), log)
    names = "|".join(COLLECTIONS)
    app.router.add_get(f"/{{collection:{names}}}", handlers.collection)
    app.router.add_get(f"/{{collection:{names}}}/{{id}}", handlers.item)
    app.router.add_get(f"/{{parent:{names}}}/{{id}}/{{child:{names}}}", handlers.nested)
    app.router.add_route("*", "/{tail:.*}", handlers.not_found)
    return app
