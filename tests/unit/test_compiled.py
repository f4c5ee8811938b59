"""The compiled transform does exactly what the type converters say, column by column."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from async_core.errors import RecordError
from async_core.source import Column, TableSpec
from async_core.source.types import FIVETRAN_TYPES, converter_for
from tests.devtools import pytest

NOW = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
VALUES: list[Any] = [
    0,
    7,
    -(2**31),
    2**31,
    2**63,
    True,
    False,
    1.5,
    float("nan"),
    "x",
    "é",
    "\ud800",
    "2024-05-01T12:00:00Z",
    "2024-05-01T12:00:00+02:00",
    "2024-05-01",
    "not a date",
    {"a": 1},
    [1, 2],
    None,
]


def expected(kind: str, value: Any, required: bool) -> Any:
    """What the generic converter makes of `value` (or the RecordError type), None handled as a column does."""
    if value is None:
        return RecordError if required else None
    try:
        return converter_for(kind, "f", precision=10, scale=2)(value)
    except RecordError:
        return RecordError


@pytest.mark.parametrize(("kind", "required"), list(itertools.product(FIVETRAN_TYPES, [True, False])))
def test_each_type_agrees_with_its_converter(kind: str, required: bool) -> None:
    """For every value of the sample, the compiled check accepts, converts or refuses as the converter does."""
    precision, scale = (10, 2) if kind == "DECIMAL" else (None, None)
    column = Column("f", "f", kind, required=required, precision=precision, scale=scale)
    spec = TableSpec(name="t", path="/t", columns=(column,), primary_key=())
    for value in VALUES:
        want = expected(kind, value, required)
        try:
            got: Any = spec.transform({"f": value}, NOW)["f"]
        except RecordError:
            got = RecordError
        assert got == want or (got != got and want != want), (kind, required, value, got, want)


def test_nested_paths_parent_columns_and_processed_at() -> None:
    """A dotted path reads a nested field, a from_parent column reads the parent's value; processed_at is added;
    the field the dotted path reads part of is kept whole (undeclared: its other fields are not lost)."""
    from async_core.source import Parent

    spec = TableSpec(
        name="child",
        path="/p/{pid}/c",
        parent=Parent("p"),
        primary_key=("pid", "id"),
        columns=(
            Column("pid", "id", "INT", from_parent=True),
            Column("id", "id", "INT"),
            Column("city", "address.city", "STRING", required=False),
        ),
    )
    row = spec.transform({"id": 3, "address": {"city": "Oslo"}}, NOW, {"pid": 9})
    assert row == {"pid": 9, "id": 3, "city": "Oslo", "processed_at": NOW, "address": {"city": "Oslo"}}
    assert spec.transform({"id": 3}, NOW, {"pid": 9})["city"] is None
    with pytest.raises(RecordError, match="parent value 'pid' is missing"):
        spec.transform({"id": 3}, NOW, None)
    with pytest.raises(RecordError, match="expected a JSON object, got list"):
        spec.transform([1], NOW, {"pid": 9})
