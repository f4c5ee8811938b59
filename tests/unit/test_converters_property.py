"""Property: every declared type, fed arbitrary JSON values, either lands what the destination can hold or rejects
the record with a `RecordError`; no other exception leaves a record (issue 18).

The values are what `json.loads` can give (it accepts NaN and Infinity, integers of any length, lone surrogates in
strings) plus huge integers, floats at the limits, -0.0, nested documents and numeric strings. Runtime is kept small
for `make test` (max_examples modest); `--hypothesis-profile` is not needed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import struct
from typing import Any

from async_core.errors import RecordError
from async_core.source import Column, Incremental, TableSpec
from async_core.source.types import FIVETRAN_TYPES
from tests.devtools import hypothesis, pytest
from tests.devtools import strategies as st

HealthCheck, example, given, settings = (
    hypothesis.HealthCheck,
    hypothesis.example,
    hypothesis.given,
    hypothesis.settings,
)

NOW = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
FLOAT32_MAX = struct.unpack("<f", struct.pack("<I", 0x7F7FFFFF))[0]
RANGES = {"SHORT": 2**15, "INT": 2**31, "LONG": 2**63}

# Text with every code point, lone surrogates included (what a JSON "\ud800" escape decodes to).
TEXT = st.text(alphabet=st.characters(blacklist_categories=()), max_size=12)
# The values at the limits, drawn as often as all the ordinary ones together (hypothesis shrinks towards small
# values, and a budget of a few dozen examples would seldom reach 10**400 on its own).
EDGES = st.sampled_from(
    [
        *(2**15, -(2**15) - 1, 2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 2**53 + 1, 10**309, -(10**400), 10**400),
        *(0.0, -0.0, 3.4e38, 3.5e38, -3.4028235e38, 1e39, 1.7976931348623157e308, 5e-324, 1e-46),
        *(math.nan, math.inf, -math.inf, 1e20, -1e20, 1.5e12),
        *("\ud800", "a\udfffb", "", "12.30", "1e400", "NaN", "-0", "AAEC", "AAE=", "not base64!"),
        *("2024-05-01T12:00:00Z", "2024-05-01", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"),
    ]
)
ORDINARY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    st.integers().map(str),
    st.floats().map(str),
)
SCALARS = st.one_of(EDGES, ORDINARY)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(TEXT, children, max_size=3)),
    max_leaves=8,
)


def table(kind: str) -> TableSpec:
    extra: dict[str, Any] = {"precision": 12, "scale": 2} if kind == "DECIMAL" else {}
    return TableSpec(name="t", path="/t", columns=(Column("id", "id", "INT"), Column("v", "v", kind, False, **extra)))


TABLES = {kind: table(kind) for kind in FIVETRAN_TYPES}


def holds(kind: str, raw: Any, landed: Any) -> bool:
    """Whether `landed` is what a `kind` column can hold, and equal to what was sent where that is defined."""
    if landed is None:
        return raw is None
    if kind in RANGES:
        return type(landed) is int and landed == raw and -RANGES[kind] <= landed < RANGES[kind]
    if kind == "FLOAT":
        return math.isfinite(landed) and abs(landed) <= FLOAT32_MAX and landed == _float32(float(raw))
    if kind == "DOUBLE":
        return type(landed) is float and math.isfinite(landed) and landed == float(raw)
    if kind == "STRING":
        landed.encode("utf-8")  # raises on a lone surrogate
        return landed == (raw if isinstance(raw, str) else str(raw))
    if kind == "BOOLEAN":
        return landed is raw
    if kind == "JSON":
        json.dumps(landed, allow_nan=False, ensure_ascii=False).encode("utf-8")
        return bool(landed == raw)
    if kind == "UTC_DATETIME":
        return isinstance(landed, dt.datetime) and landed.utcoffset() == dt.timedelta(0)
    if kind == "NAIVE_DATETIME":
        return isinstance(landed, dt.datetime) and landed.tzinfo is None
    if kind == "NAIVE_DATE":
        return isinstance(landed, str | dt.date)
    if kind == "BINARY":
        return isinstance(landed, bytes)
    if kind == "DECIMAL":
        return isinstance(landed, str)
    raise AssertionError(f"no property for {kind}: add one")


def _float32(value: float) -> float:
    result: float = struct.unpack("<f", struct.pack("<f", value))[0]
    return result


@pytest.mark.parametrize("kind", FIVETRAN_TYPES)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=VALUES)
# the values of the issue, always tried (hypothesis draws the rest)
@example(raw=10**400)
@example(raw=1e39)
@example(raw=-3.5e38)
@example(raw=math.nan)
@example(raw={"a": [math.inf]})
@example(raw={"k\ud800": ["\udc00"]})
@example(raw="\ud800")
def test_a_value_lands_as_the_destination_holds_it_or_its_record_is_rejected(kind: str, raw: Any) -> None:
    try:
        row = TABLES[kind].transform({"id": 1, "v": raw}, NOW)
    except RecordError:
        return
    assert holds(kind, raw, row["v"]), (kind, raw, row["v"])


@pytest.mark.parametrize("kind", ["timestamp", "number", "string"])
@settings(max_examples=30, deadline=None)
@given(raw=VALUES)
@example(raw=10**400)
@example(raw=math.nan)
def test_a_cursor_reads_a_value_or_none_and_never_raises(kind: Any, raw: Any) -> None:
    cursor = Incremental(field="a.b", param="since", kind=kind)
    value = cursor.value_of({"a": {"b": raw}})
    if value is not None:
        cursor.param_value(cursor.since(value))  # a value read can be sent as a bound
        assert cursor.from_state(cursor.to_state(value)) == value  # and saved and read back
