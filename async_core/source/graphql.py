"""GraphQL for a source: a query POSTed as `{"query", "variables"}`, relay-style cursors, and the `errors` array.

    GraphQL(query, variables={})     a table's request body; the paging values and the cursor's lower bound are
                                     set as variables (`first`, `after`, `since`)
    Relay(page_info="data.orders.pageInfo")
                                     `pageInfo { hasNextPage endCursor }`: `endCursor` goes into `after` while
                                     `hasNextPage` is true; the page size into `first`

A GraphQL server answers 200 when a query fails: the `errors` array says so. Such an answer is classified like a
failed response, never read as a page (its `data` is null or partial: rows would be lost without a word). A
source's `ResponseRule(status=200, when=...)` is asked first and may decide; otherwise an error whose
`extensions.code` (or `type`, GitHub's spelling) is in `retryable_codes` is retried like a 503, and any other
(a bad query, a missing field, a resolver's failure) loses the page like a 4xx.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from async_core.errors import FatalError, FetchError, RetryableError
from async_core.source.pagination import PageFacts, PageRequest, _Walked
from async_core.source.records import compile_path, dig

# Codes servers use for "try again later": Shopify's THROTTLED, GitHub's RATE_LIMITED, Apollo's and others'.
RETRYABLE_CODES = frozenset({"THROTTLED", "RATE_LIMITED", "SERVICE_UNAVAILABLE", "TIMEOUT", "GATEWAY_TIMEOUT"})
MAX_MESSAGE = 200


@dataclasses.dataclass(frozen=True)
class GraphQL:
    """A table's GraphQL query. `variables` are sent with every request; the paginator's and the cursor's values
    are added to them."""

    query: str
    variables: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    retryable_codes: frozenset[str] = RETRYABLE_CODES

    def __post_init__(self) -> None:
        if not self.query.strip():
            raise ValueError("GraphQL: the query is empty")
        object.__setattr__(self, "retryable_codes", frozenset(self.retryable_codes))

    def document(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON body of one request: the query and its variables with `values` set."""
        return {"query": self.query, "variables": {**self.variables, **values}}

    def error(self, body: Any, status: int) -> FetchError | None:
        """What an answer's `errors` array means: None when there is none, else the error to raise."""
        errors = body.get("errors") if isinstance(body, Mapping) else None
        if not errors:
            return None
        if not isinstance(errors, list):
            return FatalError("the GraphQL answer's errors is not an array", status=status)
        codes = [_code(error) for error in errors]
        first = errors[0] if isinstance(errors[0], Mapping) else {}
        message = str(first.get("message", ""))[:MAX_MESSAGE]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        shown = next((code for code in codes if code), None)
        what = f"GraphQL error{f' {shown}' if shown else ''}: {message}{more}"
        if any(code in self.retryable_codes for code in codes):
            return RetryableError(what, status=status)
        return FatalError(what, status=status)


def _code(error: Any) -> str | None:
    if not isinstance(error, Mapping):
        return None
    extensions = error.get("extensions")
    code = extensions.get("code") if isinstance(extensions, Mapping) else None
    code = code if code is not None else error.get("type")
    return str(code) if code is not None else None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Relay(_Walked):
    """Relay connections: `pageInfo` at `page_info`; the page size goes in variable `size_param` (`first`), the
    cursor in `cursor_param` (`after`). `hasNextPage` false (or missing) ends the walk."""

    style: ClassVar[str] = "relay"
    page_info: str
    size_param: str | None = "first"
    cursor_param: str = "after"

    def read(self, body: Any, headers: Mapping[str, str], links: Mapping[str, str], url: str) -> PageFacts:
        info = dig(body, compile_path(self.page_info))
        if not isinstance(info, Mapping):
            raise FatalError(f"no pageInfo object at {self.page_info!r} in the GraphQL answer")
        more = info.get("hasNextPage")
        if more is not None and not isinstance(more, bool):  # "true" read as false would end the walk silently
            raise FatalError(f"{self.page_info}.hasNextPage is {more!r}, not a boolean")
        if more is not True:
            return PageFacts(last=True)
        cursor = info.get("endCursor")
        if not isinstance(cursor, str) or not cursor:
            raise FatalError(f"{self.page_info}.hasNextPage is true but endCursor is {cursor!r}")
        return PageFacts(next=PageRequest(params=((self.cursor_param, cursor),)))
