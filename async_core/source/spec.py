"""What a source declares: its tables, their columns and Fivetran types, keys, paginator, cursor and parent.

A table's declaration is data; the transform, the validation and the `schema()` entry follow from it. Each column
compiles once into a converter (see `async_core.source.types`), so the per-record cost is one call per column.

    Source ──< TableSpec ──< Column
                 ├── paginator   how pages are asked for and how the walk ends (`async_core.source.pagination`)
                 ├── cursor      incremental sync (`async_core.source.incremental`), optional
                 ├── parent      a child table's path is filled from each row of its parent, optional
                 ├── body        a JSON body (a POST search) or a GraphQL query (`async_core.source.graphql`),
                 │               where the paging values go; optional (a GET)
                 ├── auth        overrides the source's (`async_core.source.auth`, `async_core.source.oauth2`)
                 └── rules       error rules for responses and records, tried before the source's
                                 (`async_core.source.rules`), optional
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from async_core.errors import RecordError
from async_core.source.auth import Auth, NoAuth
from async_core.source.compiled import Transform, compile_transform
from async_core.source.graphql import GraphQL, Relay
from async_core.source.incremental import Incremental
from async_core.source.pagination import Paginator, Single
from async_core.source.records import compile_path
from async_core.source.rules import RecordRule, ResponseRule, Rules
from async_core.source.types import FIVETRAN_TYPES

_TEMPLATE_FIELD = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclasses.dataclass(frozen=True)
class Column:
    """One destination column: its name, the API field it comes from (a dotted path for nested fields), its type.

    `from_parent`: the value comes from the parent row (the field `source` of the parent record), for child tables;
    such columns also fill the `{name}` placeholders of the child's path.
    """

    name: str
    source: str
    type: str
    required: bool = True  # a record without this field (or with null) is rejected to `sync_errors`
    from_parent: bool = False

    def __post_init__(self) -> None:
        if self.type not in FIVETRAN_TYPES:
            raise ValueError(f"column {self.name!r}: unknown type {self.type!r}; expected one of {FIVETRAN_TYPES}")


@dataclasses.dataclass(frozen=True)
class Parent:
    """A child table's parent: the table whose rows fill the child's path (each parent row is one walk)."""

    table: str


@dataclasses.dataclass(frozen=True)
class TableSpec:
    """One API collection and the table it lands in."""

    name: str
    path: str  # relative to the base URL, e.g. "/users" or "/companies/{company_id}/departments"
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ("id",)  # destination column names; may be composite
    records: str = ""  # where the records are in the body: "" for a bare array, "data", "result.items"
    paginator: Paginator = dataclasses.field(default_factory=Single)
    cursor: Incremental | None = None
    parent: Parent | None = None
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)  # sent with every request of the table
    # A request body: a JSON object (a search) or a GraphQL query. The table is then POSTed, and its paging values
    # and its cursor's lower bound go into the body (at dotted paths; GraphQL: as variables), not the query string.
    body: Mapping[str, Any] | GraphQL | None = None
    method: str = ""  # "" = GET, or POST with a body
    auth: Auth | None = None  # None: the source's
    response_rules: tuple[ResponseRule, ...] = ()  # tried before the source's
    record_rules: tuple[RecordRule, ...] = ()  # tried before the source's

    def __post_init__(self) -> None:
        object.__setattr__(self, "response_rules", tuple(self.response_rules))
        object.__setattr__(self, "record_rules", tuple(self.record_rules))
        if isinstance(self.primary_key, str):  # a single key may be given as a string
            object.__setattr__(self, "primary_key", (self.primary_key,))
        names = [column.name for column in self.columns]
        problems = [f"table name {self.name!r} is not snake_case"] if not _NAME.match(self.name) else []
        problems += [f"column {n!r} is declared twice" for n in sorted({n for n in names if names.count(n) > 1})]
        problems += [f"primary key column {k!r} is not declared" for k in self.primary_key if k not in names]
        parent_columns = {c.name for c in self.columns if c.from_parent}
        problems += [f"path field {{{f}}} is not a from_parent column" for f in self.path_fields - parent_columns]
        if parent_columns and self.parent is None:
            problems.append("from_parent columns need a parent")
        if self.parent is not None and not parent_columns:
            problems.append("a child table needs from_parent columns to fill its path")
        problems += self._body_problems()
        if problems:
            raise ValueError(f"table {self.name!r}: " + "; ".join(problems))
        object.__setattr__(self, "_transform", compile_transform(self.columns))
        object.__setattr__(self, "_records_path", compile_path(self.records))

    def _body_problems(self) -> list[str]:
        method = self.http_method
        if method not in ("GET", "POST"):
            return [f"method {self.method!r}: expected GET or POST"]
        if method == "GET" and self.body is not None:
            return ["a body goes with method POST (or leave the method out)"]
        if isinstance(self.paginator, Relay) and not isinstance(self.body, GraphQL):
            return ["a Relay paginator needs a GraphQL body (body=GraphQL(query))"]
        if self.body is not None and not isinstance(self.body, GraphQL | Mapping):
            return [f"body must be a JSON object or a GraphQL query, got {type(self.body).__name__}"]
        return []

    @property
    def http_method(self) -> str:
        """The method the table's requests use: POST when it has a body, unless declared."""
        return self.method.upper() if self.method else ("POST" if self.body is not None else "GET")

    @property
    def path_fields(self) -> set[str]:
        return set(_TEMPLATE_FIELD.findall(self.path))

    @property
    def records_path(self) -> tuple[str, ...]:
        path: tuple[str, ...] = object.__getattribute__(self, "_records_path")
        return path

    def parent_values(self, parent_record: Mapping[str, Any]) -> dict[str, Any]:
        """The from_parent columns' values, read from one parent record. Raises `RecordError` if one is missing."""
        values: dict[str, Any] = {}
        for column in self.columns:
            if column.from_parent:
                value = parent_record.get(column.source)
                if value is None or isinstance(value, dict | list):
                    raise RecordError(f"parent field {column.source!r} is missing or not a scalar")
                values[column.name] = value
        return values

    def schema_entry(self) -> dict[str, Any]:
        """What `schema()` declares for this table."""
        columns = {column.name: column.type for column in self.columns}
        columns["processed_at"] = "UTC_DATETIME"
        return {"table": self.name, "primary_key": list(self.primary_key), "columns": columns}

    def transform(
        self, record: object, processed_at: dt.datetime, parent: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The row for one API record: declared columns only, types checked and converted, `processed_at` added.

        Raises `RecordError` when the record is not an object, lacks a required field, or a value has the wrong
        type. Booleans are not accepted as numbers (JSON `true` is not an id).
        """
        transform: Transform = object.__getattribute__(self, "_transform")
        return transform(record, processed_at, parent)


@dataclasses.dataclass(frozen=True)
class ConfigKey:
    """A configuration key a source reads (credentials, options): validated, shown in the setup form."""

    name: str
    label: str
    description: str = ""
    secret: bool = False  # a password field in the form; never logged, never written
    required: bool = False
    default: str = ""


@dataclasses.dataclass(frozen=True)
class Source:
    """A named set of tables plus how to reach them. Build one per API in a module of `sources/` (see README).

    `base_url` is the default; the configuration key `base_url` overrides it. `auth` applies to every table that
    does not declare its own. `allowed_hosts` lists hosts (https only) that pagination links may point to; no
    credential is ever sent to them.
    """

    name: str
    tables: tuple[TableSpec, ...]
    base_url: str = ""
    auth: Auth = dataclasses.field(default_factory=NoAuth)
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)
    keys: tuple[ConfigKey, ...] = ()
    allowed_hosts: frozenset[str] = frozenset()
    default_tables: tuple[str, ...] = ()  # () = every table
    response_rules: tuple[ResponseRule, ...] = ()  # for every table, after the table's own
    record_rules: tuple[RecordRule, ...] = ()  # for every table, after the table's own

    def __post_init__(self) -> None:
        object.__setattr__(self, "response_rules", tuple(self.response_rules))
        object.__setattr__(self, "record_rules", tuple(self.record_rules))
        names = [table.name for table in self.tables]
        problems = [f"table {n!r} is declared twice" for n in sorted({n for n in names if names.count(n) > 1})]
        for table in self.tables:
            if table.parent is not None and table.parent.table not in names:
                problems.append(f"table {table.name!r}: parent {table.parent.table!r} is not a table of the source")
            if table.parent is not None and table.parent.table == table.name:
                problems.append(f"table {table.name!r} is its own parent")
        problems += [f"default table {n!r} is not declared" for n in self.default_tables if n not in names]
        if problems:
            raise ValueError(f"source {self.name!r}: " + "; ".join(problems))

    @property
    def table_names(self) -> tuple[str, ...]:
        return tuple(table.name for table in self.tables)

    def table(self, name: str) -> TableSpec:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)

    def auth_for(self, table: TableSpec) -> Auth:
        return table.auth if table.auth is not None else self.auth

    def rules_for(self, table: TableSpec) -> Rules:
        """The table's error rules, then the source's, in the order they are tried."""
        return Rules(
            responses=(*table.response_rules, *self.response_rules),
            records=(*table.record_rules, *self.record_rules),
        )


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
            "rule": "STRING",
            "message": "STRING",
            "attempts": "INT",
            "occurred_at": "UTC_DATETIME",
            "raw_record": "JSON",
        },
    },
]


def schema_for(source: Source, table_names: tuple[str, ...]) -> list[dict[str, Any]]:
    """The `schema()` response for the selected tables plus the two sync tables."""
    return [source.table(name).schema_entry() for name in table_names] + META_SCHEMA
