"""What one page is asked with: its URL (a link the server gave, or the table's path with the source's, the
table's, the cursor's and the paginator's parameters), or, for a table with a body, its JSON body (a search, a
GraphQL query) with the paging values at their dotted paths."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from async_core.errors import FatalError
from async_core.run.walk import Walk
from async_core.source.graphql import GraphQL
from async_core.source.pagination import PageRequest
from async_core.source.records import compile_path
from async_core.source.spec import Source


class PageRequests:
    """The requests of a sync's pages, for `source` at `base_url`."""

    def __init__(self, source: Source, base_url: str) -> None:
        self._source = source
        self._base_url = base_url

    def url(self, walk: Walk, number: int, request: PageRequest) -> str:
        """The URL of one page: a link the server gave, as it is, or the table's path with its parameters."""
        if request.url is not None:
            return request.url
        spec = walk.spec
        path = spec.path
        if walk.parent:  # each value one path segment: a parent key cannot climb the path or add a query
            segments = {name: quote(str(value), safe="") for name, value in walk.parent.items()}
            climbing = [value for value in segments.values() if value in ("", ".", "..")]
            if climbing:  # dot segments are collapsed by URL normalisation, whatever their encoding
                raise FatalError(f"parent value {climbing[0]!r} cannot fill a path segment")
            path = path.format_map(segments)
        params: list[tuple[str, str]] = [*self._source.params.items(), *spec.params.items()]
        if spec.body is None:  # with a body, the paging values go there (`body`)
            params.extend(self._paging(walk, number, request))
        return f"{self._base_url}{path}?{urlencode(params)}" if params else f"{self._base_url}{path}"

    def _paging(self, walk: Walk, number: int, request: PageRequest) -> list[tuple[str, str]]:
        """The paging values of one page: the cursor's lower bound, then the paginator's."""
        values: list[tuple[str, str]] = []
        if walk.spec.windows is not None and walk.parent:  # a window's bounds (`async_core.source.windows`)
            values.extend(walk.parent.items())
        cursor, since = walk.spec.cursor, walk.bound(number, request)
        if cursor is not None and since is not None:
            values.append((cursor.param, cursor.param_value(since)))
        values.extend(request.params)
        return values

    def body(self, walk: Walk, number: int, request: PageRequest) -> Any:
        """The JSON body of one page of a table with a body: the declared body with the paging values set at their
        dotted paths (a GraphQL query: as its variables), integers as JSON numbers; None without a body."""
        body = walk.spec.body
        if body is None:
            return None
        numbers = set(walk.paginator.numbers())
        cursor = walk.spec.cursor
        if cursor is not None and cursor.kind == "number":
            numbers.add(cursor.param)
        values = {
            name: _number(value) if name in numbers else value for name, value in self._paging(walk, number, request)
        }
        if isinstance(body, GraphQL):
            return body.document(values)
        return with_values(body, values)


def with_values(body: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `body` with each value set at its dotted path (objects created on the way; the declared body is
    not changed)."""
    result: dict[str, Any] = json.loads(json.dumps(body))
    for path, value in values.items():
        parts = compile_path(path)
        target = result
        for part in parts[:-1]:
            child = target.get(part)
            if not isinstance(child, dict):
                child = target[part] = {}
            target = child
        target[parts[-1]] = value
    return result


def _number(value: str) -> int | float | str:
    """A paging value that is a number, as a JSON number (a page, an offset, a size, a numeric cursor)."""
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return value
