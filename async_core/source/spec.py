"""The tables the connector knows, declared as data: path, columns, types, and the transform they imply.

Adding a table is a few lines in `TABLES` (see the README, "Adding a table"): its path, and for each column the
destination name, the field of the API record it comes from, and its type. The transform, the validation and the
`schema()` entry all follow from that declaration.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from async_core.errors import RecordError

# The Fivetran types used here, and the Python values each accepts from a JSON document.
_ACCEPTS: dict[str, tuple[type, ...]] = {
    "INT": (int,),
    "LONG": (int,),
    "STRING": (str,),
    "BOOLEAN": (bool,),
    "JSON": (dict, list),
}
# Fivetran's INT and LONG are Java's: a value outside them makes the SDK fail the whole sync.
_RANGES: dict[str, tuple[int, int]] = {"INT": (-(2**31), 2**31 - 1), "LONG": (-(2**63), 2**63 - 1)}


@dataclasses.dataclass(frozen=True)
class Column:
    """One destination column: its name, the API field it comes from, its Fivetran type."""

    name: str
    source: str
    type: str
    required: bool = True  # a record without this field is rejected (to `sync_errors`)


@dataclasses.dataclass(frozen=True)
class TableSpec:
    """One API collection and the table it lands in."""

    name: str
    path: str  # relative to base_url, e.g. "/users"
    columns: tuple[Column, ...]
    primary_key: str = "id"

    def schema_entry(self) -> dict[str, Any]:
        """What `schema()` declares for this table."""
        columns = {column.name: column.type for column in self.columns}
        columns["processed_at"] = "UTC_DATETIME"
        return {"table": self.name, "primary_key": [self.primary_key], "columns": columns}

    def transform(self, record: object, processed_at: dt.datetime) -> dict[str, Any]:
        """The row for one API record: declared columns only, types checked, `processed_at` added.

        Raises `RecordError` when the record is not an object, lacks a required field, or a value has the wrong
        type. Booleans are not accepted as integers (JSON `true` is not an id).
        """
        if not isinstance(record, Mapping):
            raise RecordError(f"expected a JSON object, got {type(record).__name__}")
        row: dict[str, Any] = {}
        for column in self.columns:
            value = record.get(column.source)
            if value is None:
                if column.required:
                    raise RecordError(f"field {column.source!r} is missing or null")
                row[column.name] = None
                continue
            accepted = _ACCEPTS[column.type]
            if not isinstance(value, accepted) or (isinstance(value, bool) and bool not in accepted):
                raise RecordError(f"field {column.source!r} should be {column.type}, got {type(value).__name__}")
            _check_writable(column, value)
            row[column.name] = value
        row["processed_at"] = processed_at
        return row


def _check_writable(column: Column, value: Any) -> None:
    """Refuses values of the right type that the destination still cannot hold (the SDK would fail the sync)."""
    if column.type in _RANGES:
        low, high = _RANGES[column.type]
        if not low <= value <= high:
            raise RecordError(f"field {column.source!r} is out of the {column.type} range: {value}")
    elif column.type == "STRING" and not value.isascii():
        _check_utf8(column, value)
    elif column.type == "JSON":
        _check_utf8(column, json.dumps(value))


def _check_utf8(column: Column, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise RecordError(f"field {column.source!r} is not valid Unicode (a lone surrogate)") from None


def _columns(*specs: tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(name, source, kind) for name, source, kind in specs)


_ID = ("id", "id", "INT")
_TITLE = ("title", "title", "STRING")

# The six JSONPlaceholder collections. Foreign keys are snake_cased; nested objects stay JSON.
TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "users",
            "/users",
            _columns(
                _ID,
                ("name", "name", "STRING"),
                ("username", "username", "STRING"),
                ("email", "email", "STRING"),
                ("address", "address", "JSON"),
                ("phone", "phone", "STRING"),
                ("website", "website", "STRING"),
                ("company", "company", "JSON"),
            ),
        ),
        TableSpec("posts", "/posts", _columns(_ID, ("user_id", "userId", "INT"), _TITLE, ("body", "body", "STRING"))),
        TableSpec(
            "comments",
            "/comments",
            _columns(
                _ID,
                ("post_id", "postId", "INT"),
                ("name", "name", "STRING"),
                ("email", "email", "STRING"),
                ("body", "body", "STRING"),
            ),
        ),
        TableSpec("albums", "/albums", _columns(_ID, ("user_id", "userId", "INT"), _TITLE)),
        TableSpec(
            "photos",
            "/photos",
            _columns(
                _ID,
                ("album_id", "albumId", "INT"),
                _TITLE,
                ("url", "url", "STRING"),
                ("thumbnail_url", "thumbnailUrl", "STRING"),
            ),
        ),
        TableSpec(
            "todos",
            "/todos",
            _columns(_ID, ("user_id", "userId", "INT"), _TITLE, ("completed", "completed", "BOOLEAN")),
        ),
    )
}

# Tables the connector writes about the sync itself.
SYNC_RUNS = "sync_runs"
SYNC_ERRORS = "sync_errors"

META_SCHEMA: list[dict[str, Any]] = [
    {
        "table": SYNC_RUNS,
        "primary_key": ["sync_id"],
        "columns": {
            "sync_id": "STRING",
            "started_at": "UTC_DATETIME",
            "finished_at": "UTC_DATETIME",
            "status": "STRING",
            "summary": "JSON",
        },
    },
    {
        "table": SYNC_ERRORS,
        "primary_key": ["sync_id", "error_id"],
        "columns": {
            "sync_id": "STRING",
            "error_id": "INT",
            "table_name": "STRING",
            "page": "INT",
            "record_id": "STRING",
            "severity": "STRING",
            "error_type": "STRING",
            "message": "STRING",
            "attempts": "INT",
            "occurred_at": "UTC_DATETIME",
            "raw_record": "JSON",
        },
    },
]


def schema_for(table_names: tuple[str, ...]) -> list[dict[str, Any]]:
    """The `schema()` response for the selected tables plus the two sync tables."""
    return [TABLES[name].schema_entry() for name in table_names] + META_SCHEMA
