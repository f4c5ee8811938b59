"""json-server's query conventions, as pure functions: what a collection request asks for, and its Link header.

Contract:
- `_page=N` (N < 1 counts as 1) selects rows (N-1)*M+1 .. N*M, with M = `_limit` (10 when absent, as in
  json-server). `_limit=M` without `_page` selects the first M rows. Neither: the whole collection.
- Any other parameter not starting with "_" is an equality filter on a top-level field; repeated, any of its
  values matches. Other "_" parameters are ignored.
- A non-integer `_page` or `_limit`, or `_limit` < 1, is a `ValueError` (the server answers 400).
- The Link header always has rel="first" and rel="last", rel="prev" when N > 1 and rel="next" when N < last; last
  is ceil(total / M), at least 1. A page past the end is `[]`, with prev pointing one page back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Final, Literal
from urllib.parse import urlencode

DEFAULT_PAGE_LIMIT = 10

# Which pagination headers a server sends: both, only Link (clients must follow it), or neither (clients must walk
# pages until a short or empty one).
HeaderMode = Literal["full", "link_only", "no_headers"]
HEADER_MODES: Final[tuple[HeaderMode, ...]] = ("full", "link_only", "no_headers")

Filters = tuple[tuple[str, tuple[str, ...]], ...]  # sorted (field, values): hashable, a cache key


@dataclasses.dataclass(frozen=True, slots=True)
class CollectionQuery:
    """A collection request's pagination and filters."""

    page: int | None
    limit: int | None
    filters: Filters
    extra: str  # the filters as a query string, carried over into Link URLs ("" when none)

    def window(self, total: int) -> tuple[int, int]:
        """The [start, stop) positions selected among `total` matching rows."""
        if self.page is not None:
            limit = self.limit or DEFAULT_PAGE_LIMIT
            start = min((self.page - 1) * limit, total)
            return start, min(start + limit, total)
        if self.limit is not None:
            return 0, min(self.limit, total)
        return 0, total


def _integer(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None


def parse_query(items: Iterable[tuple[str, str]]) -> CollectionQuery:
    """The query of a collection request, from its (key, value) pairs in order."""
    page: int | None = None
    limit: int | None = None
    grouped: dict[str, list[str]] = {}
    carried: list[tuple[str, str]] = []
    for key, value in items:
        if key == "_page":
            page = max(1, _integer("_page", value))
        elif key == "_limit":
            limit = _integer("_limit", value)
            if limit < 1:
                raise ValueError(f"_limit must be at least 1, got {value!r}")
        elif not key.startswith("_"):
            grouped.setdefault(key, []).append(value)
            carried.append((key, value))
    if page is not None and limit is None:
        limit = DEFAULT_PAGE_LIMIT
    filters: Filters = tuple(sorted((key, tuple(values)) for key, values in grouped.items()))
    return CollectionQuery(page=page, limit=limit, filters=filters, extra=urlencode(carried))


def last_page(total: int, limit: int) -> int:
    return max(1, -(-total // limit))


def link_header(base: str, query: CollectionQuery, total: int) -> str:
    """The Link header of a paged response; `base` is the absolute URL of the collection, without a query."""
    page, limit = query.page or 1, query.limit or DEFAULT_PAGE_LIMIT
    last = last_page(total, limit)
    suffix = f"&{query.extra}" if query.extra else ""

    def url(number: int) -> str:
        return f"<{base}?_page={number}&_limit={limit}{suffix}>"

    links = [f'{url(1)}; rel="first"']
    if page > 1:
        links.append(f'{url(page - 1)}; rel="prev"')
    if page < last:
        links.append(f'{url(page + 1)}; rel="next"')
    links.append(f'{url(last)}; rel="last"')
    return ", ".join(links)
