"""What a response means, independent of the HTTP library: status, redirects, content type, body, total.

Pure functions over (status, headers, body), shared by the async client and the threaded baseline of the
benchmark, so that both classify every response the same way:
- 408, 425, 429, 500, 502, 503, 504 -> `RetryableError` (with the server's wait hint, if any);
- 401, 403 -> `AuthenticationError`; any other 4xx/5xx or non-200 -> `FatalError`;
- a body that is not JSON -> `RetryableError`; JSON nested too deep to decode, or not an array -> `FatalError`.

A caller may take some statuses over (`judged`: a source's error rules read them): those are not classified here;
their body is decoded leniently (`decode_judged`) and the caller decides.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

from async_core.errors import AuthenticationError, FatalError, RetryableError
from async_core.http.hints import parse_wait_hint

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# Statuses that say "slow down" rather than "I am broken": they do not count against the breaker.
THROTTLING_STATUSES = frozenset({408, 425, 429})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5

Origin = tuple[str, str, int | None]


def origin(url: str) -> Origin:
    """(scheme, host, port) of `url`, with the scheme's default port."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def redirect_target(url: str, status: int, location: str | None, allowed: Origin | None = None) -> str:
    """Where a redirect leads. With `allowed`, refused (`FatalError`) when it leaves that origin (the threaded
    baseline's check; the async client checks every URL it sends, redirects included, against its origin)."""
    if not location:
        raise FatalError(f"redirect {status} without a Location", status=status)
    target = urljoin(url, location)
    if allowed is not None and origin(target) != allowed:
        raise FatalError(
            f"redirect to another origin refused ({origin(target)}): credentials are not sent there", status=status
        )
    return target


def check_status(status: int, headers: Mapping[str, str], *, judged: Collection[int] = ()) -> None:
    """Raises for anything but a 200 JSON response (see the module docstring), or a status in `judged`."""
    if status in judged:
        return
    if status in RETRYABLE_STATUSES:
        raise RetryableError(f"HTTP {status}", status=status, wait_hint=parse_wait_hint(headers, now=time.time()))
    if status in (401, 403):
        raise AuthenticationError(f"HTTP {status}: the API refused the credentials", status=status)
    if status >= 400:
        raise FatalError(f"HTTP {status}", status=status)
    if status != 200:
        raise FatalError(f"unexpected HTTP {status}", status=status)
    content_type = headers.get("Content-Type", "")
    if "json" not in content_type.lower():
        raise FatalError(f"expected a JSON response, got content type {content_type or 'none'!r}", status=status)


def api_error_code(raw: bytes) -> str | None:
    """The error code an API put in an error body, if any: `{"error": {"code": ...}}` (Graph, Google),
    `{"code": ...}`, `{"error_code": ...}`, `{"errors": [{"code": ...}]}` (GitHub-like), `{"error": "not_found"}`.
    Only a short scalar without spaces is believed (a body is the server's, and goes into a message; a sentence is
    not a code)."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, Mapping):
        return None
    error, errors = body.get("error"), body.get("errors")
    candidates = [
        error.get("code") if isinstance(error, Mapping) else error,
        body.get("code"),
        body.get("error_code"),
        errors[0].get("code") if isinstance(errors, list) and errors and isinstance(errors[0], Mapping) else None,
    ]
    for value in candidates:
        text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
        if 0 < len(text) <= 64 and not any(char.isspace() for char in text):  # a code, not a sentence
            return text
    return None


def too_large(status: int, bound: str) -> FatalError:
    """`bound`: what it is larger than, in words ("max_response_mb (50 MB)")."""
    return FatalError(f"response larger than {bound}", status=status)


def decode_json(status: int, body: bytes, *, parse_float: Callable[[str], float] | None = None) -> Any:
    """The JSON document of a response body (`parse_float`: as `json.loads` takes it, None for float)."""
    try:
        return json.loads(body, parse_float=parse_float)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise RetryableError(f"invalid JSON ({exc})", status=status) from exc
    except RecursionError as exc:  # valid JSON nested deeper than Python can decode: the same every time
        raise FatalError("JSON nested too deeply to decode", status=status) from exc


def decode_judged(body: bytes) -> Any:
    """The body of a response whose status the caller judges: its JSON document, or None when it is not JSON (an
    HTML error page, an empty body)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def decode_rows(status: int, body: bytes) -> list[Any]:
    """The JSON array of a response body."""
    try:
        rows = json.loads(body)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise RetryableError(f"invalid JSON ({exc})", status=status) from exc
    except RecursionError as exc:  # valid JSON nested deeper than Python can decode: the same every time
        raise FatalError("JSON nested too deeply to decode", status=status) from exc
    if not isinstance(rows, list):
        raise FatalError(f"expected a JSON array, got {type(rows).__name__}", status=status)
    return rows


def total_count(headers: Mapping[str, str]) -> int | None:
    """`X-Total-Count`, when the server sends a number."""
    value = headers.get("X-Total-Count")
    return int(value) if value and value.strip().isdigit() else None
