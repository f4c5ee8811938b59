"""Where things are in a response body: records under an envelope path, numbers (totals) parsed strictly.

A path is dotted ("data", "result.items"); "" is the body itself (a bare array).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from async_core.errors import FatalError

# Totals and counts beyond this are not believed: no API pages through a quadrillion rows, and a bigger number
# (or 400 digits of one) is a server bug that must not turn into a plan of that many requests.
MAX_COUNT = 10**15


def compile_path(path: str) -> tuple[str, ...]:
    """ "a.b" -> ("a", "b"); "" -> ()."""
    return tuple(part for part in path.split(".") if part) if path else ()


def dig(body: Any, path: tuple[str, ...]) -> Any:
    """The value at `path` in `body`, or None where the path leads nowhere."""
    value = body
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def records_at(body: Any, path: tuple[str, ...], *, status: int | None = None) -> list[Any]:
    """The list of records at `path`. A body without a list there is a `FatalError` (the API answered something
    else than a page: an error envelope, an HTML page): retrying the same request would give the same thing."""
    value = dig(body, path)
    if isinstance(value, list):
        return value
    where = f"at {'.'.join(path)!r}" if path else "as the body"
    hint = ""
    if isinstance(value, Mapping):  # an envelope: say where its lists are (json-server 1.0 answers {"data": [...]})
        lists = [key for key, item in value.items() if isinstance(item, list) and isinstance(key, str)][:3]
        prefix = ".".join(path) + "." if path else ""
        if lists:
            hint = f"; the table's records= would be {' or '.join(repr(prefix + key) for key in lists)}"
    message = f"expected a JSON array of records {where}, got {type(value).__name__}{hint}"
    raise FatalError(message, status=status)


def parse_count(value: Any, what: str) -> int:
    """A non-negative count from a header or a body: an integer, or a string of ASCII digits; at most `MAX_COUNT`.

    Anything else is a `FatalError` naming `what` (a malformed total must stop the plan, not become one).
    """
    if isinstance(value, bool):
        raise FatalError(f"{what} is not a count: {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 16:
        number = int(value.strip())
    else:
        shown = value[:40] + "…" if isinstance(value, str) and len(value) > 40 else value
        raise FatalError(f"{what} is not a count: {shown!r}")
    if not 0 <= number <= MAX_COUNT:
        raise FatalError(f"{what} is out of range: {number}")
    return number
