"""What a table's saved state is bound to: the source, the base_url's origin, a fingerprint of its declaration.

A watermark means something only for the API and the declaration it was read from: sent to another base_url (a
reconfiguration) it filters out rows that were never read; kept across a changed path, filter or cursor it skips
what the new declaration would read. The state stores the binding next to each table's entry
(`async_core.run.state`), and a mismatch starts a full pass.

The fingerprint covers what decides which rows are read and what the saved positions mean: the path, the fixed
parameters, the records path, the primary key, the paginator, the cursor, the parent and the columns. Only fields
that differ from their defaults enter it, so a release that adds a field with a default does not make every
deployed connection resync. Authentication and error rules are left out (they change how, not what, is read).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from async_core.http.responses import origin
from async_core.source.spec import TableSpec

PLAYGROUND_ORIGIN = "playground"  # the embedded playground listens on a new port each sync: one API all the same


def binding(*, source: str, origin: str, spec: TableSpec) -> dict[str, str]:
    return {"source": source, "origin": origin, "declaration": fingerprint(spec)}


def origin_of(url: str) -> str:
    """scheme://host:port of `url` (the scheme's default port made explicit; user info and path dropped)."""
    scheme, host, port = origin(url)
    return f"{scheme}://{host}:{port}"


def fingerprint(spec: TableSpec) -> str:
    """A short digest of the table's declaration (see the module docstring)."""
    described = {
        "path": spec.path,
        "params": sorted(spec.params.items()),
        "records": spec.records,
        "primary_key": list(spec.primary_key),
        "paginator": _described(spec.paginator),
        "cursor": _described(spec.cursor),
        "parent": _described(spec.parent),
        "columns": [_described(column) for column in spec.columns],
    }
    text = json.dumps(described, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _described(value: Any) -> Any:
    """A dataclass as its class name and the fields that differ from their defaults."""
    if value is None or not dataclasses.is_dataclass(value) or isinstance(value, type):
        return value
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(value):
        current = getattr(value, field.name)
        if field.default is not dataclasses.MISSING and current == field.default:
            continue
        if field.default_factory is not dataclasses.MISSING and current == field.default_factory():
            continue
        fields[field.name] = dict(current) if isinstance(current, Mapping) else _described(current)
    return {type(value).__name__: fields}
