"""Nested lists as child tables (Fivetran's "break out nested lists" pattern), without another request.

An order's `line_items` list lands in a table of its own: one row per item, keyed by the parent's primary key and
the item's position in the list (`index`, from 0) or, when items carry one, their own id (`key`):

    TableSpec(name="orders", ..., nested=(NestedList("order_line_items", "line_items", parent_key=("order_id",),
                                                      columns=(Column("sku", "sku", "STRING"),)),))
    order_line_items: order_id, index, sku (+ the items' undeclared fields, as `undeclared` says), processed_at

The rows come from the parent's page as it is written: the same slot, the same checkpoint, nothing fetched. A
record whose list (or one of its items) fails its declaration is rejected whole, to `sync_errors`: the parent row
and its items land together or not at all. A list of scalars (`["a", "b"]`) lands as a `value` column.

An item removed from a parent's list is not deleted from the child table (no SDK operation deletes by parent): its
row keeps the `processed_at` of the last sync that saw it, while its parent's current items share the parent row's
`processed_at`. Join on it for the current items: `on c.order_id = o.id and c.processed_at = o.processed_at`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from async_core.errors import RecordError
from async_core.source.compiled import Transform, compile_transform
from async_core.source.records import compile_path, dig
from async_core.source.undeclared import Undeclared

INDEX = "index"  # the item's position in its parent's list, from 0
SCALAR = "value"  # the column of a list of scalars
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclasses.dataclass(frozen=True)
class NestedList:
    """A list field of each record of a table, landed as a table of its own.

    `table`: the child table's name. `field`: where the list is in the parent record (dotted path). `columns`: the
    item's declared columns (`async_core.source.spec.Column`; the rest as `undeclared` says). `key`: the column
    (of `columns`) that identifies an item within its parent; None keys items by their position (`index`).
    `parent_key`: the names of the parent's primary key columns in this table (default `<parent table>_<column>`).
    """

    table: str
    field: str
    columns: tuple[Any, ...] = ()
    key: str | None = None
    parent_key: tuple[str, ...] = ()
    undeclared: Undeclared = "columns"

    def bind(self, parent: Any) -> BoundList:
        """This list under its parent table (a `TableSpec`): its key columns, checked; its compiled transform.
        Raises `ValueError` naming the table when the declaration cannot work."""
        return BoundList(self, parent)


class BoundList:
    """A `NestedList` with its parent's key: what the transform and `schema()` use."""

    def __init__(self, spec: NestedList, parent: Any) -> None:
        self.spec = spec
        self.table = spec.table
        parent_columns = {column.name: column for column in parent.columns}
        names = spec.parent_key or tuple(f"{parent.name}_{k}" for k in parent.primary_key)
        problems = [] if _NAME.match(spec.table) else [f"table name {spec.table!r} is not snake_case"]
        if not parent.primary_key:
            problems.append(f"its parent {parent.name!r} has no primary key to key the items by")
        if len(names) != len(parent.primary_key):
            problems.append(f"parent_key names {len(names)} columns; the parent's key has {len(parent.primary_key)}")
        item_names = {column.name for column in spec.columns}
        if spec.key is not None and spec.key not in item_names:
            problems.append(f"key {spec.key!r} is not one of its columns")
        taken = [n for n in (*names, *(() if spec.key else (INDEX,))) if n in item_names]
        problems += [f"column {n!r} is the parent's key or the item's index" for n in taken]
        if problems:
            raise ValueError(
                f"nested table {spec.table!r} (list {spec.field!r} of {parent.name!r}): " + "; ".join(problems)
            )
        self._keys = tuple(zip(names, parent.primary_key, strict=True))  # (column here, column of the parent row)
        # The parent's key columns, renamed, read from the parent row (copies of the parent's `Column`s, whose
        # class this module cannot import: `spec` imports it).
        keys = tuple(_from_parent(parent_columns[k], n) for n, k in self._keys)
        plain = dict(type="INT", precision=None, scale=None, epoch="s")
        position = () if spec.key else (_from_parent(parent.columns[0], INDEX, **plain),)
        self.columns = (*keys, *position, *spec.columns)
        self.primary_key = (*names, spec.key or INDEX)
        self._path = compile_path(spec.field)
        self._transform: Transform = compile_transform(self.columns, undeclared=spec.undeclared)

    def rows(self, record: Mapping[str, Any], parent_row: Mapping[str, Any], processed_at: dt.datetime) -> list[Any]:
        """The child rows of one parent record (its row already built). Raises `RecordError` for a list that is
        not one, or an item that fails its declaration (the caller rejects the whole record)."""
        items = dig(record, self._path)
        if items is None:
            return []
        if not isinstance(items, list):
            raise RecordError(
                f"field {self.spec.field!r} should be a list (nested table {self.table!r}), got {type(items).__name__}"
            )
        keys = {name: parent_row[source] for name, source in self._keys}
        transform, rows = self._transform, []
        for index, item in enumerate(items):
            try:
                rows.append(
                    transform(
                        item if isinstance(item, Mapping) else {SCALAR: item}, processed_at, {**keys, INDEX: index}
                    )
                )
            except RecordError as exc:
                raise RecordError(f"{self.table}[{index}]: {exc}") from None
        return rows

    def schema_entry(self) -> dict[str, Any]:
        columns: dict[str, Any] = {column.name: column.schema_type for column in self.columns}
        columns["processed_at"] = "UTC_DATETIME"
        if self.spec.undeclared == "json":
            columns["_undeclared"] = "JSON"
        return {"table": self.table, "primary_key": list(self.primary_key), "columns": columns}


def _from_parent(column: Any, name: str, **changes: Any) -> Any:
    """A copy of `column` named `name`, read from the parent values of the same name."""
    return dataclasses.replace(column, name=name, source=name, required=True, from_parent=True, **changes)
