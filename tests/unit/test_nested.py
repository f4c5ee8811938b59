"""Nested lists as child tables: one row per item, keyed by the parent's key and the item's index or id."""

from __future__ import annotations

import datetime as dt

from async_core.errors import RecordError
from async_core.source import Column, NestedList, Source, TableSpec
from async_core.source.spec import schema_for
from tests.devtools import pytest

NOW = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
ORDER = {"id": 7, "status": "paid", "line_items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}]}


def orders(*lists: NestedList) -> TableSpec:
    return TableSpec(name="orders", path="/orders", columns=(Column("id", "id", "INT"),), nested=lists)


def rows_of(spec: TableSpec, record: dict[str, object]) -> list[dict[str, object]]:
    row = spec.transform(record, NOW)
    return [item for bound in spec.lists for item in bound.rows(record, row, NOW)]


def test_items_are_keyed_by_the_parents_key_and_their_index() -> None:
    """Two line items: (order_id 7, index 0) and (7, 1), with their fields; the parent row has no line_items."""
    spec = orders(NestedList("order_line_items", "line_items", parent_key=("order_id",)))
    assert "line_items" not in spec.transform(ORDER, NOW)
    assert rows_of(spec, ORDER) == [
        {"order_id": 7, "index": 0, "processed_at": NOW, "sku": "a", "qty": 2},
        {"order_id": 7, "index": 1, "processed_at": NOW, "sku": "b", "qty": 1},
    ]
    assert spec.lists[0].primary_key == ("order_id", "index")


def test_items_with_an_id_are_keyed_by_it_and_keep_their_checks() -> None:
    """key="sku": the primary key is (orders_id, sku); a declared item column is checked like any column."""
    nested = NestedList("order_line_items", "line_items", key="sku", columns=(Column("sku", "sku", "STRING"),))
    spec = orders(nested)
    assert [(r["orders_id"], r["sku"]) for r in rows_of(spec, ORDER)] == [(7, "a"), (7, "b")]
    assert spec.lists[0].primary_key == ("orders_id", "sku")
    with pytest.raises(RecordError, match=r"order_line_items\[1\]: field 'sku' is missing"):
        rows_of(spec, {"id": 1, "line_items": [{"sku": "a"}, {"qty": 1}]})


def test_a_list_of_scalars_lands_as_values_and_a_missing_list_as_nothing() -> None:
    """tags ["x", "y"] -> two rows with `value`; no `tags` field -> no rows; a tags object is refused."""
    spec = orders(NestedList("order_tags", "tags", parent_key=("order_id",)))
    assert [(r["index"], r["value"]) for r in rows_of(spec, {"id": 1, "tags": ["x", "y"]})] == [(0, "x"), (1, "y")]
    assert rows_of(spec, {"id": 1}) == []
    with pytest.raises(RecordError, match="field 'tags' should be a list"):
        rows_of(spec, {"id": 1, "tags": {"x": 1}})


def test_schema_declares_the_nested_table_with_the_parents_key_type() -> None:
    """schema() lists order_line_items after orders, keyed (order_id INT, index INT)."""
    spec = orders(NestedList("order_line_items", "line_items", parent_key=("order_id",)))
    entries = schema_for(Source(name="s", tables=(spec,)), ("orders",))
    child = next(entry for entry in entries if entry["table"] == "order_line_items")
    assert child["primary_key"] == ["order_id", "index"]
    assert child["columns"]["order_id"] == "INT"
    assert child["columns"]["index"] == "INT"


def test_declaration_mistakes_name_the_nested_table() -> None:
    """A key that is not a column, a column named like the parent's key, a name clash with a table: refused."""
    with pytest.raises(ValueError, match="nested table 'items' .*key 'sku' is not one of its columns"):
        orders(NestedList("items", "line_items", key="sku"))
    with pytest.raises(ValueError, match="column 'index' is the parent's key or the item's index"):
        orders(NestedList("items", "line_items", columns=(Column("index", "i", "INT"),)))
    with pytest.raises(ValueError, match="nested table 'orders' has the name of a table"):
        Source(name="s", tables=(orders(NestedList("orders", "line_items")),))
