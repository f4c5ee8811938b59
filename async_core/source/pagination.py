"""Paginators: how a table's pages are asked for, and what a response says about the rest. No I/O here.

One small class per style, behind one interface (names as dlt and Airbyte use them):

    single        one request, no paging parameters
    page_number   page / size parameters; total items from a header or a body path, total pages, or none
    offset        offset / limit parameters; total from a header or a body path, or none
    json_link     the next page's URL is in the body
    header_link   the next page's URL is the Link header's rel="next"
    cursor        a token from the body goes into a parameter of the next request
    json_server   page_number with `_page` / `_limit` and `X-Total-Count`, falling back to header_link

The values a paginator asks for are *paging values*: query parameters, or, for a table with a request body (a POST
search, a GraphQL query; see `TableSpec.body`), values set at body paths or GraphQL variables of those names.
`numbers()` says which of them are integers (a JSON body sends `"page": 2`, not `"2"`). `Relay`, GraphQL's relay
cursors, is in `async_core.source.graphql`.

A paginator is *addressable* when page N can be asked for without the pages before it (page_number, offset):
with a known total the engine fans those pages out under the semaphore; otherwise it walks, one page after the
other. The engine, not the paginator, decides when a walk ends and checks that the server is not lying (see
`async_core.run.walk`): a paginator only reads facts off a response.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, TypeGuard
from urllib.parse import urljoin

from async_core.errors import FatalError
from async_core.source.records import compile_path, dig, parse_count

Params = tuple[tuple[str, str], ...]


@dataclasses.dataclass(frozen=True)
class PageRequest:
    """What to ask for one page: parameters added to the table's URL, or a URL the server gave (a next link)."""

    params: Params = ()
    url: str | None = None  # absolute; when set, the table's path and parameters are not used
    # (query parameter, configuration key) pairs taken out of `url` before it was saved, added back from the
    # configuration when it is used (`async_core.source.redact`): a saved link never holds a credential
    signed: Params = ()

    def to_state(self) -> dict[str, Any]:
        saved: dict[str, Any] = {"params": [list(pair) for pair in self.params], "url": self.url}
        if self.signed:
            saved["signed"] = [list(pair) for pair in self.signed]
        return saved

    @classmethod
    def from_state(cls, value: object) -> PageRequest | None:
        """The request saved in a state, or None if `value` is not one (a state from elsewhere is not trusted)."""
        if not isinstance(value, Mapping):
            return None
        url, params = value.get("url"), value.get("params")
        if url is not None and not isinstance(url, str):
            return None
        signed = value.get("signed", [])
        if not _pairs(params) or not _pairs(signed):
            return None
        return cls(params=tuple((k, v) for k, v in params), url=url, signed=tuple((k, v) for k, v in signed))


def _pairs(value: object) -> TypeGuard[list[list[str]]]:
    """A list of [str, str] pairs, as a state saves them."""
    return isinstance(value, list) and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in value
    )


@dataclasses.dataclass(frozen=True)
class PageFacts:
    """What one response says about the collection."""

    total_items: int | None = None  # items in the collection (with the table's filters)
    total_pages: int | None = None  # pages at the size asked for, when the server counts pages instead
    next: PageRequest | None = None  # the next page, for walked styles
    last: bool = False  # the server said this is the last page (no next link, a null cursor)


class Paginator:
    """The interface every style implements. Subclasses are frozen dataclasses holding their parameter names."""

    style: ClassVar[str]
    addressable: ClassVar[bool] = False
    page_size: int | None = None  # None: the configuration's `page_size`
    max_page_size: int | None = None  # the API's documented maximum, if any
    zero_size_fetches_all: ClassVar[bool] = False  # `page_size` 0 means one request for everything (json-server)

    def sends_size(self) -> bool:
        """Whether requests carry a page size (so the engine can tell a capped page size from the last page)."""
        return True

    def numbers(self) -> frozenset[str]:
        """The paging values that are integers (sent as JSON numbers in a request body)."""
        return frozenset()

    def request(self, number: int, size: int) -> PageRequest:
        """Page `number` (from 1) at `size` rows. Walked styles are only asked for page 1."""
        raise NotImplementedError

    def read(self, body: Any, headers: Mapping[str, str], links: Mapping[str, str], url: str) -> PageFacts:
        """The facts of one response (body decoded, header names case-insensitive)."""
        return PageFacts()


def _size_params(param: str | None, size: int) -> Params:
    return ((param, str(size)),) if param else ()


def _total(
    body: Any, headers: Mapping[str, str], *, header: str | None, path: tuple[str, ...], what: str
) -> int | None:
    if header:
        value = headers.get(header)
        if value is not None:
            return parse_count(value, f"the {header} header")
    if path:
        value = dig(body, path)
        if value is not None:
            return parse_count(value, f"{what} {'.'.join(path)!r} in the body")
    return None


@dataclasses.dataclass(frozen=True)
class Single(Paginator):
    """The whole collection in one request."""

    style: ClassVar[str] = "single"

    def sends_size(self) -> bool:
        return False

    def request(self, number: int, size: int) -> PageRequest:
        return PageRequest()


@dataclasses.dataclass(frozen=True)
class PageNumber(Paginator):
    """`?page=N&per_page=M`; the total from a header (`total_header`), a body path (`total_path`), or a count of
    pages (`total_pages_path`), or none (then the engine walks until a short or empty page)."""

    style: ClassVar[str] = "page_number"
    addressable: ClassVar[bool] = True
    page_param: str = "page"
    size_param: str = "per_page"
    first_page: int = 1  # some APIs count pages from 0
    total_header: str | None = None
    total_path: str = ""
    total_pages_path: str = ""
    page_size: int | None = None
    max_page_size: int | None = None

    def numbers(self) -> frozenset[str]:
        return frozenset({self.page_param, self.size_param})

    def request(self, number: int, size: int) -> PageRequest:
        page = str(number - 1 + self.first_page)
        return PageRequest(params=((self.page_param, page), *_size_params(self.size_param, size)))

    def read(self, body: Any, headers: Mapping[str, str], links: Mapping[str, str], url: str) -> PageFacts:
        total = _total(body, headers, header=self.total_header, path=compile_path(self.total_path), what="total")
        pages = None
        if self.total_pages_path:
            value = dig(body, compile_path(self.total_pages_path))
            if value is not None:
                pages = parse_count(value, f"total pages {self.total_pages_path!r} in the body")
        return PageFacts(total_items=total, total_pages=pages)


@dataclasses.dataclass(frozen=True)
class Offset(Paginator):
    """`?offset=K&limit=M`; the total from a header or a body path, or none."""

    style: ClassVar[str] = "offset"
    addressable: ClassVar[bool] = True
    offset_param: str = "offset"
    limit_param: str = "limit"
    total_header: str | None = None
    total_path: str = ""
    page_size: int | None = None
    max_page_size: int | None = None

    def numbers(self) -> frozenset[str]:
        return frozenset({self.offset_param, self.limit_param})

    def request(self, number: int, size: int) -> PageRequest:
        return PageRequest(params=((self.offset_param, str((number - 1) * size)), (self.limit_param, str(size))))

    def read(self, body: Any, headers: Mapping[str, str], links: Mapping[str, str], url: str) -> PageFacts:
        total = _total(body, headers, header=self.total_header, path=compile_path(self.total_path), what="total")
        return PageFacts(total_items=total)


def _link(target: Any, base: str, what: str) -> PageRequest | None:
    if target is None or target == "":
        return None
    if not isinstance(target, str):
        raise FatalError(f"{what} is not a URL: {type(target).__name__}")
    return PageRequest(url=urljoin(base, target))


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Walked(Paginator):
    """What the walked styles share: an optional page-size parameter on their requests."""

    size_param: str | None = None
    page_size: int | None = None
    max_page_size: int | None = None

    def sends_size(self) -> bool:
        return self.size_param is not None

    def numbers(self) -> frozenset[str]:
        return frozenset({self.size_param} if self.size_param else ())

    def request(self, number: int, size: int) -> PageRequest:
        return PageRequest(params=_size_params(self.size_param, size))


@dataclasses.dataclass(frozen=True, kw_only=True)
class JsonLink(_Walked):
    """The next page's URL at `next_path` in the body (relative URLs are resolved against the page's URL);
    null or missing ends the walk. The link is followed as given: it carries its own parameters."""

    style: ClassVar[str] = "json_link"
    next_path: str = "next"
    total_path: str = ""

    def read(self, body: Any, headers: Mapping[str, str], links: Mapping[str, str], url: str) -> PageFacts:
        following = _link(dig(body, compile_path(self.next_path)), url, f"the next link {self.next_path!r}")
        total = _total(body, headers, header=None, path=compile_path(self.total_path), what="total")
        return PageFacts(total_items=total, next=following, last=following is None)


@dataclasses.dataclass(frozen=True, kw_only=True)
class HeaderLink(_Walked):
    """The Link header's rel="next"; a page without it is the last."""

    style: ClassVar[str] = "header_link"

    def read(self, body: Any, headers: Mapping[str, str], links: Mapping[str, str], url: str) -> PageFacts:
        following = _link(links.get("next"), url, 'the Link rel="next"')
        return PageFacts(next=following, last=following is None)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Cursor(_Walked):
    """A token at `cursor_path` in the body, sent back as `cursor_param` (with the page size, if any); null, ""
    or missing ends the walk. The table's parameters go with every request (an incremental cursor may say: on
    the first only)."""

    style: ClassVar[str] = "cursor"
    cursor_path: str = "next_cursor"
    cursor_param: str = "cursor"

    def read(self, body: Any, headers: Mapping[str, str], links: Mapping[str, str], url: str) -> PageFacts:
        token = dig(body, compile_path(self.cursor_path))
        if token is None or token == "":
            return PageFacts(last=True)
        if isinstance(token, bool) or not isinstance(token, str | int):
            raise FatalError(f"the cursor {self.cursor_path!r} is not a string: {type(token).__name__}")
        return PageFacts(next=PageRequest(params=((self.cursor_param, str(token)),)))


@dataclasses.dataclass(frozen=True)
class JsonServer(PageNumber):
    """json-server's convention (`?_page=N&_limit=M`, `X-Total-Count`), and its Link header when the total is
    missing: JSONPlaceholder and the embedded playground."""

    style: ClassVar[str] = "json_server"
    zero_size_fetches_all: ClassVar[bool] = True
    page_param: str = "_page"
    size_param: str = "_limit"
    total_header: str | None = "X-Total-Count"

    def read(self, body: Any, headers: Mapping[str, str], links: Mapping[str, str], url: str) -> PageFacts:
        facts = super().read(body, headers, links, url)
        if facts.total_items is not None or not links:
            return facts
        following = _link(links.get("next"), url, 'the Link rel="next"')
        return dataclasses.replace(facts, next=following, last=following is None)


STYLES: dict[str, type[Paginator]] = {
    cls.style: cls for cls in (Single, PageNumber, Offset, JsonLink, HeaderLink, Cursor, JsonServer)
}
