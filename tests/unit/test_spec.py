"""Declaring a source: column types and what each accepts, dotted paths, composite keys, declaration errors."""

import datetime as dt
from typing import Any

from async_core.errors import RecordError
from async_core.source import Column, ConfigKey, Incremental, Parent, Source, TableSpec
from async_core.source.spec import schema_for
from async_core.source.sync_tables import SYNC_ERRORS, SYNC_RUNS
from tests.devtools import pytest

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
T = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)


def one(kind: str, *, required: bool = True) -> TableSpec:
    return TableSpec(
        name="items", path="/items", columns=(Column("id", "id", "STRING"), Column("v", "v", kind, required))
    )


def value(kind: str, raw: Any) -> Any:
    return one(kind).transform({"id": "a", "v": raw}, NOW)["v"]


# -- types


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("INT", 2**31 - 1, 2**31 - 1),
        ("LONG", 2**63 - 1, 2**63 - 1),
        ("FLOAT", 3, 3.0),
        ("DOUBLE", 2.5, 2.5),
        ("STRING", "6f1c-uuid", "6f1c-uuid"),
        ("STRING", 42, "42"),
        ("BOOLEAN", False, False),
        ("JSON", {"a": [1]}, {"a": [1]}),
        ("JSON", [1, 2], [1, 2]),
        ("UTC_DATETIME", "2026-03-04T05:06:07Z", T),
        ("UTC_DATETIME", "2026-03-04T07:06:07+02:00", T),
        ("UTC_DATETIME", "2026-03-04T05:06:07", T),
        ("UTC_DATETIME", T.timestamp(), T),
        ("NAIVE_DATETIME", "2026-03-04T05:06:07", T.replace(tzinfo=None)),
        ("NAIVE_DATETIME", "2026-03-04T07:06:07+02:00", T.replace(tzinfo=None)),
    ],
)
def test_each_type_accepts_its_values_and_converts_them(kind: str, raw: Any, expected: Any) -> None:
    """The value handed to the SDK: ints as they are, floats as float, ids as text, timestamps as UTC."""
    converted = value(kind, raw)
    assert converted == expected
    assert type(converted) is type(expected)


def test_an_aware_utc_datetime_keeps_its_zone_and_a_naive_one_has_none() -> None:
    """UTC_DATETIME is aware (UTC); NAIVE_DATETIME has no tzinfo."""
    assert value("UTC_DATETIME", "2026-03-04T05:06:07Z").tzinfo == dt.UTC
    assert value("NAIVE_DATETIME", "2026-03-04T05:06:07Z").tzinfo is None


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        ("INT", True, "field 'v' should be INT, got bool"),
        ("INT", 1.0, "field 'v' should be INT, got float"),
        ("INT", "7", "field 'v' should be INT, got str"),
        ("INT", 2**31, "field 'v' is out of the INT range: 2147483648"),
        ("LONG", -(2**63) - 1, "field 'v' is out of the LONG range"),
        ("FLOAT", True, "field 'v' should be FLOAT, got bool"),
        ("DOUBLE", float("nan"), "field 'v' should be a finite DOUBLE, got nan"),
        ("DOUBLE", "1.5", "field 'v' should be DOUBLE, got str"),
        ("STRING", 1.5, "field 'v' should be STRING, got float"),
        ("STRING", True, "field 'v' should be STRING, got bool"),
        ("STRING", "\ud800", "field 'v' is not valid Unicode"),
        ("BOOLEAN", 1, "field 'v' should be BOOLEAN, got int"),
        ("JSON", "text", "field 'v' should be JSON, got str"),
        ("UTC_DATETIME", "yesterday", "field 'v' is not an ISO 8601 timestamp in range: 'yesterday'"),
        ("UTC_DATETIME", True, "field 'v' should be a timestamp, got bool"),
        ("UTC_DATETIME", 1e20, "field 'v' is not a timestamp"),
        ("NAIVE_DATETIME", "x" * 65, "field 'v' should be a timestamp, got str"),
    ],
)
def test_a_value_of_the_wrong_type_is_a_record_error(kind: str, raw: Any, message: str) -> None:
    """Never coerced silently: the record goes to sync_errors with the reason."""
    with pytest.raises(RecordError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        value(kind, raw)


def test_an_optional_column_may_be_missing_or_null() -> None:
    """required=False: None in the row; required (the default): a RecordError."""
    assert one("INT", required=False).transform({"id": "a"}, NOW)["v"] is None
    with pytest.raises(RecordError, match="field 'v' is missing or null"):
        one("INT").transform({"id": "a", "v": None}, NOW)


# -- dotted paths


def test_a_dotted_source_reads_a_nested_field() -> None:
    """Column("city", "address.geo.city") reads record["address"]["geo"]["city"]; `address`, read only in part,
    is kept whole as an undeclared field."""
    spec = TableSpec(
        name="users",
        path="/users",
        columns=(Column("id", "id", "INT"), Column("city", "address.geo.city", "STRING")),
    )
    row = spec.transform({"id": 1, "address": {"geo": {"city": "Gwen"}}}, NOW)
    assert row == {"id": 1, "city": "Gwen", "processed_at": NOW, "address": {"geo": {"city": "Gwen"}}}


@pytest.mark.parametrize("record", [{"id": 1}, {"id": 1, "address": "flat"}, {"id": 1, "address": {"geo": None}}])
def test_a_dotted_path_that_leads_nowhere_is_missing(record: dict[str, Any]) -> None:
    """Missing on the way, or not an object on the way: the nested field is missing."""
    spec = TableSpec(
        name="users", path="/users", columns=(Column("id", "id", "INT"), Column("city", "address.geo.city", "STRING"))
    )
    with pytest.raises(RecordError, match="field 'address.geo.city' is missing or null"):
        spec.transform(record, NOW)


# -- keys, parents, schema

DEPARTMENTS = TableSpec(
    name="departments",
    path="/companies/{company_id}/departments",
    records="data",
    columns=(
        Column("company_id", "id", "STRING", from_parent=True),
        Column("department_id", "id", "STRING"),
        Column("name", "name", "STRING"),
    ),
    primary_key=("company_id", "department_id"),
    parent=Parent("companies"),
)
COMPANIES = TableSpec(name="companies", path="/companies", records="data", columns=(Column("id", "id", "STRING"),))


def test_a_composite_key_is_declared_in_order() -> None:
    """primary_key (company_id, department_id) goes to schema() as a list, in order."""
    entry = DEPARTMENTS.schema_entry()
    assert entry["primary_key"] == ["company_id", "department_id"]
    assert entry["columns"] == {
        "company_id": "STRING",
        "department_id": "STRING",
        "name": "STRING",
        "processed_at": "UTC_DATETIME",
    }


def test_a_single_key_may_be_given_as_a_string() -> None:
    """primary_key="code" is ("code",)."""
    spec = TableSpec(name="t", path="/t", columns=(Column("code", "code", "STRING"),), primary_key="code")  # type: ignore[arg-type]
    assert spec.primary_key == ("code",)


def test_a_child_row_takes_its_parent_columns_from_the_parent() -> None:
    """company_id comes from the parent record's id; the path's placeholder is filled from it."""
    parent = DEPARTMENTS.parent_values({"id": "c1", "name": "Acme"})
    assert parent == {"company_id": "c1"}
    assert DEPARTMENTS.path.format_map(parent) == "/companies/c1/departments"
    assert DEPARTMENTS.path_fields == {"company_id"}
    row = DEPARTMENTS.transform({"id": "d7", "name": "Sales"}, NOW, parent)
    assert row == {"company_id": "c1", "department_id": "d7", "name": "Sales", "processed_at": NOW}


def test_a_parent_record_without_its_key_is_a_record_error() -> None:
    """A parent row whose id is missing (or not a scalar) cannot have children to ask for."""
    with pytest.raises(RecordError, match=r"parent field 'id' \(for 'company_id'\) is a JSON dict, not a scalar"):
        DEPARTMENTS.parent_values({"id": {"nested": 1}})
    with pytest.raises(RecordError, match=r"parent field 'id' \(for 'company_id'\) is missing"):
        DEPARTMENTS.parent_values({"name": "Acme"})


def test_schema_for_lists_the_selected_tables_then_the_sync_tables() -> None:
    """The selected tables in order, then sync_runs and sync_errors."""
    source = Source(name="acme", base_url="https://acme.example", tables=(COMPANIES, DEPARTMENTS))
    assert [entry["table"] for entry in schema_for(source, ("departments",))] == ["departments", SYNC_RUNS, SYNC_ERRORS]


# -- declaration errors


def column_error(**arguments: Any) -> str:
    with pytest.raises(ValueError) as caught:
        Column(**{"name": "v", "source": "v", "type": "STRING", **arguments})
    return str(caught.value)


def table_error(**arguments: Any) -> str:
    defaults: dict[str, Any] = {"name": "items", "path": "/items", "columns": (Column("id", "id", "INT"),)}
    with pytest.raises(ValueError) as caught:
        TableSpec(**{**defaults, **arguments})
    return str(caught.value)


def test_an_unknown_type_is_named_with_the_known_ones() -> None:
    """ "TEXT" is not a Fivetran type."""
    assert column_error(type="TEXT").startswith("column 'v': unknown type 'TEXT'; expected one of ('INT', 'LONG'")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"name": "Items"}, "table 'Items': table name 'Items' is not snake_case"),
        (
            {"columns": (Column("id", "id", "INT"), Column("id", "uid", "INT"))},
            "table 'items': column 'id' is declared twice",
        ),
        ({"primary_key": ("uuid",)}, "table 'items': primary key column 'uuid' is not declared"),
        ({"path": "/items/{owner}"}, "table 'items': path field {owner} is not a from_parent column"),
        (
            {"columns": (Column("id", "id", "INT"), Column("owner", "id", "INT", from_parent=True))},
            "table 'items': from_parent columns need a parent",
        ),
        ({"parent": Parent("owners")}, "table 'items': a child table needs from_parent columns to fill its path"),
    ],
)
def test_a_bad_table_declaration_is_a_clear_value_error(arguments: dict[str, Any], message: str) -> None:
    """Each problem names the table and what is wrong."""
    assert table_error(**arguments) == message


def test_every_problem_of_a_table_is_named_at_once() -> None:
    """Two problems: both in one message, separated by "; "."""
    message = table_error(name="Bad", primary_key=("nope",))
    assert message == "table 'Bad': table name 'Bad' is not snake_case; primary key column 'nope' is not declared"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"tables": (COMPANIES, COMPANIES)}, "source 'acme': table 'companies' is declared twice"),
        ({"tables": (DEPARTMENTS,)}, "source 'acme': table 'departments': parent 'companies' is not a table"),
        (
            {"tables": (COMPANIES,), "default_tables": ("users",)},
            "source 'acme': default table 'users' is not declared",
        ),
    ],
)
def test_a_bad_source_declaration_is_a_clear_value_error(arguments: dict[str, Any], message: str) -> None:
    """Duplicate tables, a parent that is not a table, a default table that is not declared."""
    with pytest.raises(ValueError) as caught:
        Source(name="acme", **arguments)
    assert str(caught.value).startswith(message)


def test_a_source_finds_its_tables_and_their_auth() -> None:
    """table() by name (KeyError otherwise); a table without auth uses the source's."""
    source = Source(name="acme", tables=(COMPANIES, DEPARTMENTS), keys=(ConfigKey("token", "Token", secret=True),))
    assert source.table("departments") is DEPARTMENTS
    assert source.table_names == ("companies", "departments")
    assert source.auth_for(COMPANIES) is source.auth
    with pytest.raises(KeyError):
        source.table("users")


def test_a_cursor_is_part_of_a_tables_declaration() -> None:
    """A table with a cursor keeps it; its transform does not depend on it."""
    spec = TableSpec(
        name="items",
        path="/items",
        columns=(Column("id", "id", "STRING"), Column("updated_at", "updatedAt", "UTC_DATETIME")),
        cursor=Incremental(field="updatedAt", param="updated_since"),
    )
    assert spec.cursor is not None
    assert spec.transform({"id": "a", "updatedAt": "2026-03-04T05:06:07Z"}, NOW)["updated_at"] == T


# -- issue 18: declarations that cannot work are refused at import; values the destination cannot hold are rejected


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        ("FLOAT", 1e39, r"field 'v' is out of the FLOAT range: 1e\+39"),
        ("FLOAT", -3.5e38, r"field 'v' is out of the FLOAT range: -3.5e\+38"),
        ("DOUBLE", 10**400, r"field 'v' is out of the DOUBLE range: 100000000000\.\.\. \(401 digits\)"),
        ("UTC_DATETIME", 10**400, r"field 'v' is not a timestamp in range: 100000000000\.\.\. \(401 digits\)"),
        ("NAIVE_DATETIME", -(10**400), "field 'v' is not a timestamp in range"),
        ("FLOAT", float("inf"), "field 'v' should be a finite FLOAT, got inf"),
        ("JSON", {"a": [float("nan")]}, "field 'v' is not a JSON document the destination can hold"),
        ("JSON", {"k\ud800": 1}, r"field 'v' is not valid Unicode \(a lone surrogate\)"),
    ],
)
def test_a_value_the_destination_cannot_hold_is_a_record_error(kind: str, raw: Any, message: str) -> None:
    """1e39 used to land as inf in a FLOAT; a 401-digit integer raised OverflowError (a CRITICAL crash) in a DOUBLE
    or a timestamp; NaN and lone surrogates nested in a JSON document passed."""
    with pytest.raises(RecordError, match="^" + message):
        one(kind).transform({"id": 1, "v": raw}, NOW)


def test_a_float_lands_as_the_32_bit_value_the_destination_holds() -> None:
    """3.4e38 is the largest FLOAT; 0.1 lands as its 32-bit value (what DuckDB's FLOAT reads back)."""
    assert one("FLOAT").transform({"id": 1, "v": 3.4e38}, NOW)["v"] == pytest.approx(3.4e38, rel=1e-7)
    assert one("FLOAT").transform({"id": 1, "v": 0.1}, NOW)["v"] == 0.10000000149011612
    assert one("DOUBLE").transform({"id": 1, "v": 0.1}, NOW)["v"] == 0.1


def test_a_nullable_primary_key_is_refused_at_import() -> None:
    """A null key made the SDK raise ("Null primary key") in every sync; now the declaration says so and the fix."""
    with pytest.raises(ValueError, match="table 't': primary key column 'id' is declared required=False.*drop"):
        TableSpec(name="t", path="/t", columns=(Column("id", "id", "INT", required=False),))


def test_a_column_named_processed_at_is_refused_with_the_fix() -> None:
    """The connector's own processed_at used to overwrite the declared column in every row."""
    columns = (Column("id", "id", "INT"), Column("processed_at", "processed_at", "UTC_DATETIME"))
    refused = r"table 't': column 'processed_at' is the connector's own.*source_processed_at"
    with pytest.raises(ValueError, match=refused):
        TableSpec(name="t", path="/t", columns=columns)
    renamed = (Column("id", "id", "INT"), Column("source_processed_at", "processed_at", "UTC_DATETIME"))
    row = TableSpec(name="t", path="/t", columns=renamed).transform({"id": 1, "processed_at": "2024-01-01"}, NOW)
    assert row["source_processed_at"] == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert row["processed_at"] == NOW


@pytest.mark.parametrize(
    ("kind", "column_type", "fix"),
    [
        ("number", "BOOLEAN", "use a cursor field that holds a timestamp or a number"),
        ("string", "INT", 'use kind="number"'),
        ("timestamp", "BOOLEAN", "use a cursor field that holds a timestamp or a number"),
    ],
)
def test_a_cursor_that_could_never_read_its_column_is_refused(kind: Any, column_type: str, fix: str) -> None:
    """A cursor its column's values can never feed left the watermark null in every sync, without a word."""
    columns = (Column("id", "id", column_type),)
    with pytest.raises(ValueError, match=f"cursor 'id' is kind='{kind}' but its column 'id' is {column_type}.*{fix}"):
        TableSpec(name="t", path="/t", columns=columns, cursor=Incremental(field="id", param="id_gt", kind=kind))


def test_cursors_that_can_work_are_accepted() -> None:
    """Epoch seconds in an INT column under a timestamp cursor; a number cursor on a timestamp column, or on a
    STRING column (integer ids land as text)."""
    TableSpec(name="t", path="/t", columns=(Column("id", "id", "INT"),), cursor=Incremental(field="id", param="s"))
    text = (Column("id", "id", "STRING"),)
    TableSpec(name="t", path="/t", columns=text, cursor=Incremental(field="id", param="s", kind="number"))
    stamp = (Column("id", "id", "INT"), Column("ts", "ts", "UTC_DATETIME"))
    TableSpec(name="t", path="/t", columns=stamp, cursor=Incremental(field="ts", param="s", kind="number"))


def test_a_table_named_like_a_sync_table_is_refused() -> None:
    with pytest.raises(ValueError, match="table name 'sync_errors' is the connector's own table"):
        Source(name="s", tables=(TableSpec(name="sync_errors", path="/e", columns=(Column("id", "id", "INT"),)),))


def test_a_dotted_parent_key_is_read() -> None:
    """Column("customer_id", "meta.id", from_parent=True) read record.get("meta.id"): every child was dropped."""
    child = TableSpec(
        name="orders",
        path="/customers/{customer_id}/orders",
        columns=(Column("customer_id", "meta.id", "INT", from_parent=True), Column("id", "id", "INT")),
        primary_key=("customer_id", "id"),
        parent=Parent("customers"),
    )
    assert child.parent_values({"meta": {"id": 7}}) == {"customer_id": 7}
