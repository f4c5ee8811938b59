"""How a source sees deletes; deleted rows go out with `op.delete` (the destination marks them `_fivetran_deleted`).

Three ways, each declared on a table:

    TableSpec(..., deletes=Tombstone("deleted"))                     a record {"id": 7, "deleted": true} deletes row 7
    TableSpec(..., deletes=Tombstone("deleted_at", when_set=True))   ... or one whose `deleted_at` is not null
    TableSpec(name="orders_deleted", path="/orders/deleted", deletes_of="orders", columns=(ID,))
                                                                     a deleted-records endpoint: each record's key
                                                                     deletes that row of `orders` (its own walk,
                                                                     paginator and cursor, like any table)
    TableSpec(..., deletes=Reconcile())                              a full table: a row the server no longer has
                                                                     is deleted once a complete pass has not seen it

A tombstone needs only the key: the record's other fields are not checked (an API sends `{"id": 7, "deleted":
true}`). Reconciliation uses `op.truncate(table)` when a pass starts: it marks every row present as deleted, and
each row the pass upserts comes back, so once the pass completes exactly the rows the server held are live (memory
stays flat: no key is kept). The truncate travels with the pass: it is issued once, when the pass opens, and
committed with the first checkpoint of that pass (a sync that fails before it drops both; the next one starts the
pass again). While a pass is open, interrupted or not yet finished, the rows it has not reached yet show as deleted;
they come back as the pass reaches them, in this sync or the next. A record rejected to `sync_errors` is not
written, so its earlier row stays deleted until the record validates again. Reconciliation also clears a table's
nested lists (items removed from a list are deleted with it). It needs full passes: a table with a cursor sees only
what changed, and cannot reconcile.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from async_core.source.records import compile_path, dig


@dataclasses.dataclass(frozen=True)
class Tombstone:
    """A field that marks a record deleted: equal to `equals` (`True` by default), or, with `when_set`, present and
    not null (a `deleted_at` timestamp)."""

    field: str
    equals: Any = True
    when_set: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "_path", compile_path(self.field))

    def marks(self, record: Any) -> bool:
        """Whether this raw record is a deletion."""
        if not isinstance(record, Mapping):
            return False
        path: tuple[str, ...] = object.__getattribute__(self, "_path")
        value = dig(record, path)
        if self.when_set:
            return value is not None and value is not False and value != ""
        return bool(value == self.equals and type(value) is type(self.equals))  # 1 is not True


@dataclasses.dataclass(frozen=True)
class Reconcile:
    """Deletes what a complete full pass did not see (`op.truncate` when the pass opens; see the module docstring)."""


Deletes = Tombstone | Reconcile
