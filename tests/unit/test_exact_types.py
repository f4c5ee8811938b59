"""The types a survey of real APIs asked for: epoch milliseconds, SHORT, DECIMAL, NAIVE_DATE, BINARY. Each accepts
what the SDK takes and refuses, per record, what the destination cannot hold."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from async_core.errors import RecordError
from async_core.http.responses import decode_json
from async_core.source import Column, Incremental, TableSpec
from async_core.source.types import ExactFloat
from tests.devtools import pytest

NOW = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)


def value(column: Column, raw: Any) -> Any:
    spec = TableSpec(name="t", path="/t", columns=(Column("id", "id", "INT"), column), undeclared="drop")
    return spec.transform({"id": 1, column.source: raw}, NOW)[column.name]


def test_epoch_milliseconds_are_declared_and_exact() -> None:
    """epoch="ms" reads 1714564800123 as 2024-05-01T12:00:00.123Z; the default unit stays seconds, whatever the size."""
    assert value(Column("at", "at", "UTC_DATETIME", epoch="ms"), 1714564800123) == dt.datetime(
        2024, 5, 1, 12, 0, 0, 123000, tzinfo=dt.UTC
    )
    assert value(Column("at", "at", "NAIVE_DATETIME", epoch="ms"), 1714564800000) == dt.datetime(2024, 5, 1, 12)
    assert value(Column("at", "at", "UTC_DATETIME"), 1714564800) == dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    with pytest.raises(RecordError, match="not a timestamp in range"):
        value(Column("at", "at", "UTC_DATETIME"), 1714564800123)  # seconds, as declared: year 56000, refused
    assert value(Column("at", "at", "UTC_DATETIME", epoch="ms"), "2024-05-01T12:00:00Z").hour == 12  # ISO still


def test_a_cursor_in_epoch_milliseconds_reads_and_writes_milliseconds() -> None:
    """Incremental(epoch="ms", format="%ms"): the watermark is read from milliseconds and sent as milliseconds."""
    cursor = Incremental(field="updated", param="since", epoch="ms", format="%ms")
    high = cursor.value_of({"updated": 1714564800123})
    assert high == dt.datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=dt.UTC)
    assert cursor.param_value(high) == "1714564800123"
    assert cursor.from_state(cursor.to_state(high)) == high


def test_short_holds_16_bits() -> None:
    """SHORT takes -32768..32767; 32768 and booleans are refused (the SDK checks only the INT range)."""
    column = Column("n", "n", "SHORT")
    assert value(column, -32768) == -32768
    assert value(column, 32767) == 32767
    for bad in (32768, True, 1.0):
        with pytest.raises(RecordError):
            value(column, bad)


PRICE = Column("price", "price", "DECIMAL", precision=12, scale=2)


def test_decimal_comes_from_the_json_text_not_a_double() -> None:
    """A table with a DECIMAL column reads JSON numbers with their text: 0.10 stays "0.10", and a number a double
    cannot hold (17 significant digits) keeps every digit."""
    spec = TableSpec(
        name="t",
        path="/t",
        columns=(Column("id", "id", "INT"), PRICE, Column("big", "big", "DECIMAL", precision=38, scale=8)),
    )
    assert spec.parse_float is ExactFloat
    body = decode_json(200, b'{"id": 1, "price": 0.10, "big": 1234567890.12345678}', parse_float=spec.parse_float)
    row = spec.transform(body, NOW)
    assert row["price"] == "0.10"
    assert row["big"] == "1234567890.12345678"
    assert json.dumps(body) == '{"id": 1, "price": 0.1, "big": 1234567890.1234567}'  # a float everywhere else
    assert TableSpec(name="u", path="/u", columns=(Column("id", "id", "INT"),)).parse_float is None


def test_decimal_takes_integers_and_numeric_strings() -> None:
    """Integers and strings ("12.30", " 7 ") are exact already; the SDK is given text."""
    assert value(PRICE, 12) == "12"
    assert value(PRICE, "12.30") == "12.30"
    assert value(PRICE, " 7 ") == "7"
    assert value(PRICE, ExactFloat("1.5E+3")) == "1500"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("12345678901.5", "11 digits before the point, more than DECIMAL\\(12,2\\) holds \\(10\\)"),
        ("1.005", "3 digits after the point, more than the scale"),
        ("NaN", "finite DECIMAL"),
        ("abc", "should be DECIMAL\\(12,2\\)"),
        (True, "should be DECIMAL"),
        ([1], "should be DECIMAL"),
    ],
)
def test_decimal_refuses_what_the_destination_would_null_or_round(raw: Any, why: str) -> None:
    """Too many whole digits (the destination would store NULL) or too many decimals (it would round): refused."""
    with pytest.raises(RecordError, match=why):
        value(PRICE, raw)


def test_decimal_trailing_zeros_beyond_the_scale_are_not_digits() -> None:
    """1.500 fits DECIMAL(12,2): its third decimal is a zero."""
    assert value(PRICE, "1.500") == "1.500"


def test_decimal_declarations_need_precision_and_scale() -> None:
    """DECIMAL without precision, or with a scale above it, fails the declaration; schema() carries both."""
    with pytest.raises(ValueError, match="DECIMAL needs precision"):
        Column("p", "p", "DECIMAL")
    with pytest.raises(ValueError, match="DECIMAL needs precision"):
        Column("p", "p", "DECIMAL", precision=2, scale=3)
    with pytest.raises(ValueError, match="precision and scale are for DECIMAL"):
        Column("p", "p", "DOUBLE", precision=2, scale=1)
    with pytest.raises(ValueError, match="epoch='ms' is for UTC_DATETIME"):
        Column("p", "p", "LONG", epoch="ms")
    spec = TableSpec(name="t", path="/t", columns=(Column("id", "id", "INT"), PRICE))
    assert spec.schema_entry()["columns"]["price"] == {"type": "DECIMAL", "precision": 12, "scale": 2}


def test_naive_date_takes_a_date_not_a_timestamp() -> None:
    """ "2024-05-01" and "20240501" land as 2024-05-01; a timestamp (its time would be lost) is refused."""
    column = Column("d", "d", "NAIVE_DATE")
    assert value(column, "2024-05-01") == "2024-05-01"
    assert value(column, "20240501") == "2024-05-01"
    for bad in ("2024-05-01T10:00:00Z", "2024-02-30", 20240501):
        with pytest.raises(RecordError):
            value(column, bad)


def test_binary_takes_base64() -> None:
    """A base64 string lands as its bytes; text that is not base64 is refused."""
    column = Column("b", "b", "BINARY")
    assert value(column, "AAH/") == b"\x00\x01\xff"
    for bad in ("not base64!", "AAH", "é", 5):
        with pytest.raises(RecordError):
            value(column, bad)


def test_a_double_column_beside_a_decimal_one_still_reads_numbers() -> None:
    """Exact floats are floats to a DOUBLE column and to a timestamp column."""
    assert value(Column("x", "x", "DOUBLE"), ExactFloat("2.5")) == 2.5
    assert value(Column("t", "t", "UTC_DATETIME"), ExactFloat("1714564800.5")).microsecond == 500000
