"""What a source declares: its tables, their columns and Fivetran types, keys, paginator, cursor and parent.

A table's declaration is data; the transform, the validation and the `schema()` entry follow from it. Each column
compiles once into a converter (see `async_core.source.types`), so the per-record cost is one call per column.

    Source ──< TableSpec ──< Column
                 ├── paginator   how pages are asked for and how the walk ends (`async_core.source.pagination`)
                 ├── cursor      incremental sync (`async_core.source.incremental`), optional
                 ├── parent      a child table's path is filled from each row of its parent, optional
                 ├── body        a JSON body (a POST search) or a GraphQL query (`async_core.source.graphql`),
                 │               where the paging values go; optional (a GET)
                 ├── windows     time-window incremental sync instead of a cursor (`async_core.source.windows`)
                 ├── nested      list fields landed as child tables (`async_core.source.nested`)
                 ├── deletes     a tombstone, or reconciliation after full passes; `deletes_of`: a deleted-
                 │               records table (`async_core.source.deletes`)
                 ├── undeclared  what happens to fields no column reads (`async_core.source.undeclared`)
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
from async_core.source.defaults import (
    PAGINATOR_LEFT_OUT,
    RECORDS_LEFT_OUT,
    TableDefaults,
    TablePolicy,
    params_left_out,
)
from async_core.source.deletes import Deletes, Reconcile
from async_core.source.graphql import GraphQL, Relay
from async_core.source.incremental import Incremental
from async_core.source.nested import BoundList, NestedList
from async_core.source.pagination import Paginator
from async_core.source.policy import Policy
from async_core.source.records import compile_path, dig
from async_core.source.rules import RecordRule, ResponseRule, Rules
from async_core.source.sync_tables import META_SCHEMA, META_TABLES, SYNC_ERRORS, SYNC_RUNS
from async_core.source.types import EPOCH_UNITS, FIVETRAN_TYPES, MAX_DECIMAL_PRECISION, ExactFloat
from async_core.source.undeclared import UNDECLARED_COLUMN, UNDECLARED_MODES, Undeclared
from async_core.source.windows import Windows

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
    epoch: str = "s"  # timestamp columns: the unit of epoch numbers, "s" or "ms" (declared, never guessed)
    precision: int | None = None  # DECIMAL columns: total digits (1 to 38), and digits after the point
    scale: int | None = None

    def __post_init__(self) -> None:
        if self.type not in FIVETRAN_TYPES:
            raise ValueError(f"column {self.name!r}: unknown type {self.type!r}; expected one of {FIVETRAN_TYPES}")
        problems = []
        if self.epoch not in EPOCH_UNITS:
            problems.append(f"epoch={self.epoch!r}: expected one of {', '.join(EPOCH_UNITS)}")
        elif self.epoch != "s" and self.type not in ("UTC_DATETIME", "NAIVE_DATETIME"):
            problems.append(f"epoch={self.epoch!r} is for UTC_DATETIME and NAIVE_DATETIME columns, not {self.type}")
        if self.type == "DECIMAL":
            p, s = self.precision, self.scale
            if type(p) is not int or type(s) is not int or not 1 <= p <= MAX_DECIMAL_PRECISION or not 0 <= s <= p:
                problems.append(
                    f"DECIMAL needs precision (1 to {MAX_DECIMAL_PRECISION}) and scale (0 to precision), got "
                    f"precision={p!r}, scale={s!r}: e.g. Column(..., 'DECIMAL', precision=12, scale=2)"
                )
        elif self.precision is not None or self.scale is not None:
            problems.append(f"precision and scale are for DECIMAL columns, not {self.type}")
        if problems:
            raise ValueError(f"column {self.name!r}: " + "; ".join(problems))

    @property
    def schema_type(self) -> str | dict[str, Any]:
        """The column's type as `schema()` declares it (a DECIMAL with its precision and scale)."""
        if self.type == "DECIMAL":
            return {"type": "DECIMAL", "precision": self.precision, "scale": self.scale}
        return self.type


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
    # where the records are in the body: "" for a bare array, "data", "result.items"; left out: the source's default
    records: str = RECORDS_LEFT_OUT
    paginator: Paginator = PAGINATOR_LEFT_OUT  # left out: the source's default (`table_defaults`), else Single()
    cursor: Incremental | None = None
    parent: Parent | None = None
    # sent with every request of the table; left out: the source's default (`table_defaults`), else none
    params: Mapping[str, str] = dataclasses.field(default_factory=params_left_out)
    # A request body: a JSON object (a search) or a GraphQL query. The table is then POSTed, and its paging values
    # and its cursor's lower bound go into the body (at dotted paths; GraphQL: as variables), not the query string.
    body: Mapping[str, Any] | GraphQL | None = None
    method: str = ""  # "" = GET, or POST with a body
    auth: Auth | None = None  # None: the source's
    response_rules: tuple[ResponseRule, ...] = ()  # tried before the source's
    record_rules: tuple[RecordRule, ...] = ()  # tried before the source's
    # Fields no column reads: "columns" (each its own column), "json" (one JSON column), "drop" (on purpose).
    # See `async_core.source.undeclared`.
    undeclared: Undeclared = "columns"
    nested: tuple[NestedList, ...] = ()  # list fields landed as child tables (`async_core.source.nested`)
    policy: TablePolicy | None = None  # what this table sets of the source's `Policy` (page size, page limit)
    # How deletes are seen (`async_core.source.deletes`): a tombstone field, or reconciliation after full passes;
    # `deletes_of`: this table's records are the deleted keys of that table (a deleted-records endpoint).
    deletes: Deletes | None = None
    deletes_of: str | None = None
    windows: Windows | None = None  # read in time windows (`async_core.source.windows`)

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
        if self.undeclared not in UNDECLARED_MODES:
            problems.append(f"undeclared={self.undeclared!r}: expected one of {', '.join(UNDECLARED_MODES)}")
        problems += [
            f"column name {n!r} is the connector's (undeclared fields)" for n in names if n == UNDECLARED_COLUMN
        ]
        problems += _declaration_problems(self)
        if self.policy is not None and not isinstance(self.policy, TablePolicy):  # a Policy's other fields: lost
            problems.append(
                f"policy is a {type(self.policy).__name__}: expected TablePolicy(page_size=..., "
                "max_pages_per_table=...) or None (the rest of a Policy is the source's: Source(policy=Policy(...)))"
            )
        if problems:
            raise ValueError(f"table {self.name!r}: " + "; ".join(problems))
        if isinstance(self.deletes, Reconcile) and self.cursor is not None:
            raise ValueError(
                f"table {self.name!r}: deletes=Reconcile() needs full passes, but the table has a cursor (a pass "
                "sees only what changed); use a Tombstone or a deleted-records table (deletes_of) instead"
            )
        if self.windows is not None and (self.parent is not None or self.cursor is not None):
            raise ValueError(f"table {self.name!r}: windows are its incremental sync: no cursor, no parent")
        if self.deletes_of is not None and (self.deletes is not None or self.nested):
            raise ValueError(f"table {self.name!r}: a deletes_of table only deletes; it has no deletes or nested")
        object.__setattr__(self, "nested", tuple(self.nested))
        keys = tuple(c for c in self.columns if c.name in self.primary_key)
        object.__setattr__(self, "_keys", compile_transform(keys, undeclared="drop"))
        lists = tuple(nested.bind(self) for nested in self.nested)  # raises ValueError naming the nested table
        listed = frozenset(n.field for n in self.nested if len(compile_path(n.field)) == 1)  # not undeclared
        object.__setattr__(self, "_lists", lists)
        object.__setattr__(
            self, "_transform", compile_transform(self.columns, undeclared=self.undeclared, also_declared=listed)
        )
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

    def keys_of(
        self, record: object, processed_at: dt.datetime, parent: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The primary key of one record (checked and converted like its columns): what `op.delete` is given."""
        keys: Transform = object.__getattribute__(self, "_keys")
        row = keys(record, processed_at, parent)
        del row[PROCESSED_AT]
        return row

    @property
    def lists(self) -> tuple[BoundList, ...]:
        """The nested lists, bound to this table (their keys, their transforms)."""
        lists: tuple[BoundList, ...] = object.__getattribute__(self, "_lists")
        return lists

    @property
    def parse_float(self) -> type[ExactFloat] | None:
        """How JSON numbers with a fraction are read for this table: with their text when a column is DECIMAL."""
        return ExactFloat if any(column.type == "DECIMAL" for column in self.columns) else None

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
                value = dig(parent_record, compile_path(column.source))
                if value is None or isinstance(value, dict | list):
                    shown = "missing" if value is None else f"a JSON {type(value).__name__}, not a scalar"
                    raise RecordError(f"parent field {column.source!r} (for {column.name!r}) is {shown}")
                values[column.name] = value
        return values

    def schema_entry(self) -> dict[str, Any]:
        """What `schema()` declares for this table."""
        columns: dict[str, Any] = {column.name: column.schema_type for column in self.columns}
        columns[PROCESSED_AT] = "UTC_DATETIME"
        if self.undeclared == "json":
            columns[UNDECLARED_COLUMN] = "JSON"
        return {"table": self.name, "primary_key": list(self.primary_key), "columns": columns}

    def transform(
        self, record: object, processed_at: dt.datetime, parent: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The row for one API record: declared columns, types checked and converted, `processed_at` added, and
        the undeclared fields as the table says (`undeclared`).

        Raises `RecordError` when the record is not an object, lacks a required field, or a value has the wrong
        type. Booleans are not accepted as numbers (JSON `true` is not an id).
        """
        transform: Transform = object.__getattribute__(self, "_transform")
        return transform(record, processed_at, parent)


# The column the connector adds to every row (the time the row was written). A source field of that name lands
# under another column name: `Column("source_processed_at", "processed_at", ...)`.
PROCESSED_AT = "processed_at"

# Cursor kinds and the column types whose values such a cursor can never read: a "number" cursor on a BOOLEAN
# column, a "string" cursor on a column that refuses strings. (A "number" cursor on a timestamp column reads
# epoch seconds, a "timestamp" cursor on an INT column too, and a STRING column takes integer ids: all can work;
# a cursor that reads nothing in a whole pass is warned about at sync time.)
_CURSOR_CANNOT_READ = {
    "timestamp": {"BOOLEAN", "JSON"},
    "number": {"BOOLEAN", "JSON"},
    "string": {"INT", "LONG", "FLOAT", "DOUBLE", "BOOLEAN", "JSON"},
}


def _declaration_problems(table: TableSpec) -> list[str]:
    """What makes a table's declaration unable to work, each with its fix (refused at import, not at sync time)."""
    problems = []
    by_name = {column.name: column for column in table.columns}
    for key in table.primary_key:
        column = by_name.get(key)
        if column is not None and not column.required and not column.from_parent:
            problems.append(
                f"primary key column {key!r} is declared required=False, but a row without its key cannot be "
                f"written (the SDK refuses a null primary key); drop required=False"
            )
    if PROCESSED_AT in by_name:
        problems.append(
            f"column {PROCESSED_AT!r} is the connector's own (the time each row is written); land the API's field "
            f"under another name, e.g. Column('source_{PROCESSED_AT}', {by_name[PROCESSED_AT].source!r}, ...)"
        )
    cursor = table.cursor
    if cursor is not None:
        for column in table.columns:
            if column.source == cursor.field and not column.from_parent:
                if column.type in _CURSOR_CANNOT_READ[cursor.kind]:
                    problems.append(
                        f"cursor {cursor.field!r} is kind={cursor.kind!r} but its column {column.name!r} is "
                        f"{column.type}: the cursor could never read a value; {_cursor_fix(column.type)}"
                    )
                break
    return problems


def _cursor_fix(column_type: str) -> str:
    if column_type in ("INT", "LONG", "FLOAT", "DOUBLE"):
        return 'use kind="number"'
    return "use a cursor field that holds a timestamp or a number"


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
    credential is ever sent to them. `policy` is how the API is read (`async_core.source.policy`).
    """

    name: str
    tables: tuple[TableSpec, ...]
    base_url: str = ""
    auth: Auth = dataclasses.field(default_factory=NoAuth)
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)
    keys: tuple[ConfigKey, ...] = ()
    allowed_hosts: frozenset[str] = frozenset()
    # query parameters of the API's links that carry a credential (e.g. "access_token"): never saved in the state
    # (a parameter whose value equals a configured secret is taken out too; see `async_core.source.redact`)
    secret_params: tuple[str, ...] = ()
    default_tables: tuple[str, ...] = ()  # () = every table
    response_rules: tuple[ResponseRule, ...] = ()  # for every table, after the table's own
    record_rules: tuple[RecordRule, ...] = ()  # for every table, after the table's own
    policy: Policy = dataclasses.field(default_factory=Policy)  # page size, retry details, waits, limits, cadence
    # what every table has unless it says otherwise: records, paginator, params (`async_core.source.defaults`)
    table_defaults: TableDefaults = dataclasses.field(default_factory=TableDefaults)

    def __post_init__(self) -> None:
        if not isinstance(self.table_defaults, TableDefaults):  # checked first: it is applied to the tables next
            raise ValueError(
                f"source {self.name!r}: table_defaults is a {type(self.table_defaults).__name__}: expected "
                "TableDefaults(records=..., paginator=..., params=...)"
            )
        object.__setattr__(self, "tables", self.table_defaults.apply(tuple(self.tables)))
        object.__setattr__(self, "response_rules", tuple(self.response_rules))
        object.__setattr__(self, "record_rules", tuple(self.record_rules))
        if isinstance(self.secret_params, str):  # a single name may be given as a string
            object.__setattr__(self, "secret_params", (self.secret_params,))
        names = [table.name for table in self.tables]
        problems = [f"table {n!r} is declared twice" for n in sorted({n for n in names if names.count(n) > 1})]
        if not isinstance(self.policy, Policy):
            problems.append(
                f"policy is a {type(self.policy).__name__}: expected Policy(...) (leave it out for the defaults; "
                "a table's own page_size or max_pages_per_table is TableSpec(policy=TablePolicy(...)))"
            )
        nested = [bound.table for table in self.tables for bound in table.lists]
        problems += [
            f"nested table {n!r} is declared twice" for n in sorted({n for n in nested if nested.count(n) > 1})
        ]
        problems += [f"nested table {n!r} has the name of a table" for n in nested if n in names]
        problems += [f"nested table {n!r} is the connector's own table; rename it" for n in nested if n in META_TABLES]
        for table in self.tables:
            target = table.deletes_of
            if target is not None and target not in names:
                problems.append(f"table {table.name!r}: deletes_of {target!r} is not a table of the source")
            elif target is not None and self.table(target).primary_key != table.primary_key:
                problems.append(
                    f"table {table.name!r}: its primary key {list(table.primary_key)} must be that of {target!r} "
                    f"({list(self.table(target).primary_key)}): each record names the row it deletes"
                )
            if table.parent is not None and table.parent.table in names and self.table(table.parent.table).windows:
                problems.append(
                    f"table {table.name!r}: its parent {table.parent.table!r} is read in time windows, which cannot "
                    "list parents (a listing is one full walk)"
                )
            if table.parent is not None and table.parent.table not in names:
                problems.append(f"table {table.name!r}: parent {table.parent.table!r} is not a table of the source")
            if table.parent is not None and table.parent.table == table.name:
                problems.append(f"table {table.name!r} is its own parent")
        problems += [f"default table {n!r} is not declared" for n in self.default_tables if n not in names]
        problems += [
            f"table name {n!r} is the connector's own table (every sync writes it); rename the table"
            for n in names
            if n in (SYNC_RUNS, SYNC_ERRORS)
        ]
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


def schema_for(source: Source, table_names: tuple[str, ...]) -> list[dict[str, Any]]:
    """The `schema()` response for the selected tables plus the two sync tables."""
    entries = []
    for name in table_names:
        table = source.table(name)
        if table.deletes_of is not None:
            continue  # writes no table of its own: it deletes rows of another
        entries.append(table.schema_entry())
        entries += [bound.schema_entry() for bound in table.lists]
    return entries + META_SCHEMA
