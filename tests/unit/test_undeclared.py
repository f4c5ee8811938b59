"""Undeclared fields: kept as their own columns (the default), in one JSON column, or dropped on purpose."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

from async_core.errors import RecordError
from async_core.source import Column, Parent, TableSpec
from async_core.source.undeclared import MAX_UNDECLARED_COLUMNS, fivetran_name
from tests.devtools import pytest

NOW = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
ID = Column("id", "id", "INT")


def table(*columns: Column, **options: Any) -> TableSpec:
    return TableSpec(name="orders", path="/orders", columns=(ID, *columns), **options)


def test_by_default_each_undeclared_field_is_a_column_named_as_fivetran_names_it() -> None:
    """A field the table does not declare lands as a column: `lineItems` as `line_items`, objects as they are."""
    row = table().transform({"id": 1, "lineItems": [{"sku": "a"}], "customer": {"name": "Zoë"}, "paid": True}, NOW)
    assert row == {
        "id": 1,
        "processed_at": NOW,
        "line_items": [{"sku": "a"}],
        "customer": {"name": "Zoë"},
        "paid": True,
    }


def test_declared_columns_keep_their_checks() -> None:
    """Undeclared fields change nothing for declared ones: a wrong type is still refused."""
    with pytest.raises(RecordError, match="field 'id' should be INT"):
        table().transform({"id": "1", "note": "x"}, NOW)


def test_a_field_whose_name_is_taken_goes_to_the_json_column_never_over_a_declared_value() -> None:
    """`Id` (Fivetran name `id`), `processed_at` and `_fivetran_deleted` cannot be columns: they go to `_undeclared`."""
    record = {"id": 1, "Id": 2, "processed_at": "yesterday", "_fivetran_deleted": True}
    row = table().transform(record, NOW)
    assert row["id"] == 1
    assert row["processed_at"] == NOW
    assert row["_undeclared"] == {"Id": 2, "processed_at": "yesterday", "_fivetran_deleted": True}
    assert "_fivetran_deleted" not in row


def test_two_fields_with_one_fivetran_name_keep_both() -> None:
    """`userId` and `user_id` both name `user_id`: the first is the column, the second goes to `_undeclared`."""
    row = table().transform({"id": 1, "userId": 7, "user_id": 8}, NOW)
    assert row["user_id"] == 7
    assert row["_undeclared"] == {"user_id": 8}


def test_a_childs_copy_of_its_parents_key_is_not_written_twice() -> None:
    """A department repeats its company's `company_id`, equal to the from_parent column: no `_undeclared`."""
    spec = TableSpec(
        name="departments",
        path="/companies/{company_id}/departments",
        parent=Parent("companies"),
        primary_key=("company_id", "id"),
        columns=(Column("company_id", "company_id", "INT", from_parent=True), ID),
    )
    assert spec.transform({"id": 3, "company_id": 9}, NOW, {"company_id": 9}) == {
        "company_id": 9,
        "id": 3,
        "processed_at": NOW,
    }
    moved = spec.transform({"id": 3, "company_id": 10}, NOW, {"company_id": 9})
    assert moved["company_id"] == 9
    assert moved["_undeclared"] == {"company_id": 10}


def test_a_field_equal_to_a_columns_value_only_in_python_is_kept() -> None:
    """`isActive: true` (Fivetran name `is_active`) beside a declared `is_active` INT of 1: Python's `True == 1`
    took it for a copy of the column and dropped it without a word; `1.0` likewise."""
    spec = table(Column("is_active", "flags.active", "INT"))
    row = spec.transform({"id": 1, "flags": {"active": 1}, "isActive": True}, NOW)
    assert row["is_active"] == 1
    assert row["_undeclared"] == {"isActive": True}
    assert spec.transform({"id": 1, "flags": {"active": 1}, "isActive": 1.0}, NOW)["_undeclared"] == {"isActive": 1.0}


def test_a_dotted_source_leaves_the_rest_of_its_field_undeclared() -> None:
    """`amount.value` is declared; `amount` (with its currency) is kept, in `_undeclared` since `amount` is taken."""
    row = table(Column("amount", "amount.value", "DOUBLE")).transform(
        {"id": 1, "amount": {"value": 9.5, "currency": "EUR"}}, NOW
    )
    assert row["amount"] == 9.5
    assert row["_undeclared"] == {"amount": {"value": 9.5, "currency": "EUR"}}


def test_json_mode_keeps_every_undeclared_field_in_one_column_and_declares_it() -> None:
    """undeclared="json": `{field: value}` in `_undeclared` (JSON in schema()); a record without any has none."""
    spec = table(undeclared="json")
    assert spec.transform({"id": 1, "lineItems": [1], "note": "x"}, NOW)["_undeclared"] == {
        "lineItems": [1],
        "note": "x",
    }
    assert "_undeclared" not in spec.transform({"id": 2}, NOW)
    assert spec.schema_entry()["columns"]["_undeclared"] == "JSON"
    assert "_undeclared" not in table().schema_entry()["columns"]


def test_drop_mode_writes_declared_columns_only() -> None:
    """undeclared="drop": what the table declares, nothing else (on purpose)."""
    assert table(undeclared="drop").transform({"id": 1, "note": "x"}, NOW) == {"id": 1, "processed_at": NOW}


def test_what_the_destination_cannot_hold_is_refused_or_kept_whole() -> None:
    """A lone surrogate, NaN (alone or in a document) are refused per record; an integer beyond a long keeps its
    digits as text."""
    with pytest.raises(RecordError, match="undeclared field 'note' is not valid Unicode"):
        table().transform({"id": 1, "note": "\ud800"}, NOW)
    with pytest.raises(RecordError, match="undeclared field 'tags' is not valid Unicode"):
        table().transform({"id": 1, "tags": ["\ud800"]}, NOW)
    with pytest.raises(RecordError, match="undeclared field 'score' should be a finite number"):
        table().transform({"id": 1, "score": float("nan")}, NOW)
    with pytest.raises(RecordError, match="undeclared field 'doc' is not a JSON document the destination can hold"):
        table().transform({"id": 1, "doc": {"x": float("inf")}}, NOW)
    assert table().transform({"id": 1, "big": 2**70}, NOW)["big"] == str(2**70)


def test_a_table_grows_a_bounded_number_of_columns() -> None:
    """Records keyed by ever new names (a map of ids) stop adding columns at MAX_UNDECLARED_COLUMNS: the rest are
    kept in `_undeclared`."""
    spec = table()
    for n in range(MAX_UNDECLARED_COLUMNS):
        assert spec.transform({"id": n, f"k{n}": n}, NOW)[f"k_{n}"] == n
    assert spec.transform({"id": 0, "k0": 0}, NOW)["k_0"] == 0  # a known column stays one
    assert spec.transform({"id": 1, "late": 1}, NOW)["_undeclared"] == {"late": 1}


def test_unknown_modes_and_the_connectors_column_name_are_refused() -> None:
    """A typo in `undeclared` and a column named `_undeclared` fail the declaration, naming the table."""
    with pytest.raises(ValueError, match="table 'orders': undeclared='keep': expected one of columns, json, drop"):
        table(undeclared="keep")
    with pytest.raises(ValueError, match="column name '_undeclared' is the connector's"):
        table(Column("_undeclared", "x", "JSON"))


@pytest.mark.parametrize(
    ("field", "name"),
    [("postId", "post_id"), ("sku2", "sku_2"), ("Zoë", "zoe"), ("a-b.c", "a_b_c"), ("ID", "id"), ("__x", "_x")],
)
def test_fivetran_names(field: str, name: str) -> None:
    """The names Fivetran gives fields, exactly as the SDK's local runner renames columns."""
    renaming = importlib.import_module("fivetran_connector_sdk_core.renaming")  # by name: see tests/devtools.py
    assert fivetran_name(field) == name == renaming.redshift_safe(field)


def test_the_shipped_jsonplaceholder_source_declares_every_field_its_server_sends() -> None:
    """The default changes no warehouse column of the shipped source: each row is its declared columns exactly."""
    from async_core.playground.data import Dataset
    from sources.jsonplaceholder import TABLES

    data = Dataset(1)
    for name, spec in TABLES.items():
        row = spec.transform(data.row(name, 1), NOW)
        assert set(row) == {column.name for column in spec.columns} | {"processed_at"}, name
