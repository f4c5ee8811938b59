"""How deletes are declared: tombstones, deleted-records tables, reconciliation; mistakes refused at import."""

from __future__ import annotations

import datetime as dt

from async_core.source import Column, Incremental, Reconcile, Source, TableSpec, Tombstone
from async_core.source.spec import schema_for
from tests.devtools import pytest

ID = Column("id", "id", "INT")


def test_a_tombstone_reads_its_field() -> None:
    """deleted == True (not 1, not "true"); with when_set, any deleted_at that is set."""
    flag = Tombstone("deleted")
    assert flag.marks({"deleted": True})
    assert not flag.marks({"deleted": 1})
    assert not flag.marks({"deleted": False})
    assert not flag.marks({"id": 1})
    stamp = Tombstone("meta.deleted_at", when_set=True)
    assert stamp.marks({"meta": {"deleted_at": "2024-05-01T00:00:00Z"}})
    assert not stamp.marks({"meta": {"deleted_at": None}})
    assert Tombstone("status", equals="archived").marks({"status": "archived"})


def test_the_key_of_a_record_is_checked_like_its_column() -> None:
    """keys_of gives what op.delete takes: the primary key columns, converted (an integer id in a STRING column)."""
    spec = TableSpec(name="t", path="/t", columns=(Column("id", "id", "STRING"), Column("n", "n", "INT")))
    assert spec.keys_of({"id": 7}, dt.datetime.now(dt.UTC)) == {"id": "7"}


def test_reconciliation_needs_full_passes() -> None:
    """A table with a cursor sees only what changed: Reconcile() on it is refused, naming the alternatives."""
    with pytest.raises(ValueError, match="deletes=Reconcile\\(\\) needs full passes.*Tombstone"):
        TableSpec(name="t", path="/t", columns=(ID,), cursor=Incremental("u", "since"), deletes=Reconcile())


def test_a_deleted_records_table_must_name_a_table_with_its_key() -> None:
    """deletes_of a missing table, or with another key, is refused; it has no schema() entry of its own."""
    orders = TableSpec(name="orders", path="/orders", columns=(ID,))
    gone = TableSpec(name="orders_deleted", path="/d", columns=(ID,), deletes_of="orders")
    with pytest.raises(ValueError, match="deletes_of 'orders' is not a table of the source"):
        Source(name="s", tables=(gone,))
    other_key = TableSpec(
        name="gone", path="/d", columns=(Column("k", "k", "INT"),), primary_key=("k",), deletes_of="orders"
    )
    with pytest.raises(ValueError, match="its primary key \\['k'\\] must be that of 'orders'"):
        Source(name="s", tables=(orders, other_key))
    source = Source(name="s", tables=(orders, gone))
    assert [entry["table"] for entry in schema_for(source, ("orders", "orders_deleted"))][:1] == ["orders"]
    assert "orders_deleted" not in [entry["table"] for entry in schema_for(source, ("orders", "orders_deleted"))]
