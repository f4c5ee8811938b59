"""What one exchange carries: the `Request` the source layer asks for, the `Response` it gets back (with its Link
header parsed only when read), and the home origin's prefix that lets a URL be trusted without a parse."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp


@dataclasses.dataclass(frozen=True)
class Response:
    """A successful response: its decoded JSON body and what the paginator may read from its headers."""

    body: Any  # the decoded JSON document
    headers: Mapping[str, str]
    url: str  # the URL that answered (after same-origin redirects)
    links: Mapping[str, str]  # the Link header's targets by rel, absolute
    attempts: int = 1
    recovered_from: str | None = None  # the last error before success, when a retry was needed
    recovered_rule: str | None = None  # the source's error rule that asked for that retry, if one did
    status: int = 200  # another status only when the caller judges it (`fetch`'s `judged`)
    size: int = 0  # the decoded body's bytes (what the page counts against the memory budget)


class LazyLinks(Mapping[str, str]):
    """The Link header's targets by rel, absolute, parsed on first use: most paginators never read them (aiohttp's
    `links` parses the header on every access; at a few hundred requests a second that was a tenth of the loop's
    CPU). Holds the response, whose body was streamed (`_read_body`), not kept, until then."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response: aiohttp.ClientResponse | None = response
        self._links: dict[str, str] = {}

    def _parsed(self) -> dict[str, str]:
        if self._response is not None:
            links = self._response.links
            self._links = {str(rel): str(link.get("url")) for rel, link in links.items() if rel}
            self._response = None
        return self._links

    def __getitem__(self, rel: str) -> str:
        return self._parsed()[rel]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parsed())

    def __len__(self) -> int:
        return len(self._parsed())

    def __repr__(self) -> str:
        return repr(self._parsed())


def home_prefix(base_url: str) -> str | None:
    """`scheme://authority` of `base_url`, as written: a URL that starts with it and then `/`, `?`, `#` or ends is
    on the home origin with no user info of its own (the authority ends there). None when base_url has user info
    (every URL then takes the full check, which refuses it)."""
    parts = urlsplit(base_url)
    if "@" in parts.netloc or not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


@dataclasses.dataclass(frozen=True)
class Request:
    """One request as the source layer asks for it. `credentials` are headers, and `secret_params` query
    parameters (an API key in the URL), sent only to the home origin and added as the request leaves: the URL
    of a `Response`, an error message or a saved link never holds them.

    A POST (a search endpoint, a GraphQL query, a login) is retried like a GET: the engine only sends POSTs that
    read (searches and queries), which are safe to repeat, and logins, which are.
    `home`: the origin the request is trusted on, when it is not the API's (a token endpoint the source declares
    on another host); redirects must stay on it.
    """

    url: str
    method: str = "GET"
    credentials: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)
    json_body: Any = None  # for a POST (a search body, a GraphQL query, a session login)
    parse_float: Callable[[str], float] | None = None  # how JSON numbers with a fraction are read (json.loads)
    form_body: Mapping[str, str] | None = dataclasses.field(default=None, repr=False)  # an OAuth2 token request
    secret_params: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)
    home: str | None = None
    valid_until: float | None = None  # time.monotonic() at which `credentials` expire (an OAuth2 token)
