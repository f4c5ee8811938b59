"""Incremental cursors: values read from records, the lower bound a pass sends, and the state round trip."""

import datetime as dt
from typing import Any

from async_core.source.incremental import Incremental, later
from tests.devtools import pytest

UPDATED = Incremental(field="updatedAt", param="updated_since")
T = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)


def test_a_timestamp_cursor_reads_iso_and_epoch_values_as_utc() -> None:
    """ "...Z", an offset, a naive time (UTC) and epoch seconds all become aware UTC datetimes."""
    assert UPDATED.value_of({"updatedAt": "2026-03-04T05:06:07Z"}) == T
    assert UPDATED.value_of({"updatedAt": "2026-03-04T07:06:07+02:00"}) == T
    assert UPDATED.value_of({"updatedAt": "2026-03-04T05:06:07"}) == T
    assert UPDATED.value_of({"updatedAt": T.timestamp()}) == T


def test_a_dotted_cursor_field_reads_a_nested_value() -> None:
    """field meta.updated reaches into the record."""
    cursor = Incremental(field="meta.updated", param="since")
    assert cursor.value_of({"meta": {"updated": "2026-03-04T05:06:07Z"}}) == T


@pytest.mark.parametrize("record", [{}, {"updatedAt": None}, {"updatedAt": "yesterday"}, {"updatedAt": [1]}, [1]])
def test_a_record_without_a_usable_cursor_has_none(record: Any) -> None:
    """Missing, null, unparseable or not a record: no cursor value (the row still lands; the mark ignores it)."""
    assert UPDATED.value_of(record) is None


def test_number_and_string_cursors() -> None:
    """A number cursor is a float (booleans refused); a string cursor compares as text."""
    number = Incremental(field="seq", param="after", kind="number")
    assert number.value_of({"seq": 41}) == 41.0
    assert number.value_of({"seq": True}) is None
    text = Incremental(field="v", param="after", kind="string")
    assert text.value_of({"v": "b"}) == "b"
    assert text.value_of({"v": 3}) is None


def test_since_subtracts_the_lookback() -> None:
    """Lookback 90 s on a timestamp, 5 units on a number; strings have none."""
    assert Incremental(field="u", param="s", lookback=90).since(T) == T - dt.timedelta(seconds=90)
    assert Incremental(field="u", param="s", kind="number", lookback=5).since(100.0) == 95.0
    assert Incremental(field="u", param="s", kind="string", lookback=5).since("abc") == "abc"


def test_a_timestamp_parameter_follows_the_format_in_utc() -> None:
    """The default format is ...Z; a custom strftime works; an aware time in another zone is sent in UTC."""
    assert UPDATED.param_value(T) == "2026-03-04T05:06:07Z"
    assert Incremental(field="u", param="s", format="%Y-%m-%d").param_value(T) == "2026-03-04"
    other_zone = T.astimezone(dt.timezone(dt.timedelta(hours=-5)))
    assert UPDATED.param_value(other_zone) == "2026-03-04T05:06:07Z"


def test_a_number_parameter_is_an_integer_when_it_is_one() -> None:
    """100.0 is sent as 100; 1.5 as 1.5."""
    number = Incremental(field="seq", param="after", kind="number")
    assert (number.param_value(100.0), number.param_value(1.5)) == ("100", "1.5")


def test_later_is_the_larger_value_and_none_is_smallest() -> None:
    """later(None, x) is x; later(a, b) is the larger; it never goes backwards."""
    assert later(None, T) == T
    assert later(T, None) == T
    assert later(None, None) is None
    earlier = T - dt.timedelta(days=1)
    assert later(T, earlier) == T
    assert later(earlier, T) == T
    assert later(3.0, 2.0) == 3.0


@pytest.mark.parametrize(
    ("cursor", "value", "saved"),
    [
        (UPDATED, T, "2026-03-04T05:06:07+00:00"),
        (Incremental(field="seq", param="after", kind="number"), 41.0, 41.0),
        (Incremental(field="v", param="after", kind="string"), "b7", "b7"),
    ],
)
def test_a_watermark_round_trips_through_the_state(cursor: Incremental, value: Any, saved: Any) -> None:
    """to_state writes JSON; from_state reads back the same value."""
    assert cursor.to_state(value) == saved
    assert cursor.from_state(saved) == value


@pytest.mark.parametrize("saved", [None, "not a time", {"a": 1}, [1], True])
def test_a_garbled_watermark_reads_back_as_none(saved: Any) -> None:
    """A watermark that does not parse is no watermark (a full pass), never a crash."""
    assert UPDATED.from_state(saved) is None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"kind": "date"}, "cursor kind 'date': expected timestamp, number or string"),
        ({"lookback": -1}, "cursor lookback -1: expected a finite number >= 0"),
        ({"lookback": float("inf")}, "cursor lookback inf: expected a finite number >= 0"),
    ],
)
def test_a_bad_declaration_is_a_clear_value_error(arguments: dict[str, Any], message: str) -> None:
    """An unknown kind or a negative or infinite lookback is refused when the source is declared."""
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)") + "$"):
        Incremental(field="u", param="s", **arguments)


def test_a_huge_or_non_finite_number_is_no_cursor_value() -> None:
    """A 401-digit id raised OverflowError out of math.isfinite (the page was lost as an unexpected error); now the
    record simply has no cursor value, like a string in a number cursor."""
    cursor = Incremental(field="meta.id", param="id_gt", kind="number")
    assert cursor.value_of({"meta": {"id": 10**400}}) is None
    assert cursor.value_of({"meta": {"id": float("nan")}}) is None
    assert cursor.value_of({"meta": {"id": 2**63 - 1}}) == 2**63 - 1
    assert cursor.from_state(10**400) is None


def test_an_exclusive_bound_steps_back_one_unit_of_its_resolution() -> None:
    """`>` bounds: a timestamp goes one second lower (floored first: the parameter drops the fraction), or one
    millisecond for `%ms`, one microsecond with `%f`; an integer one lower. Inclusive bounds stay."""
    fraction = T.replace(microsecond=500_000)
    strict = Incremental(field="updatedAt", param="since", exclusive=True)
    assert strict.lower(fraction) == T - dt.timedelta(seconds=1)
    assert strict.since(fraction) == T - dt.timedelta(seconds=1)
    millis = Incremental(field="updatedAt", param="since", exclusive=True, format="%ms")
    assert millis.lower(fraction) == fraction - dt.timedelta(milliseconds=1)
    micros = Incremental(field="updatedAt", param="since", exclusive=True, format="%Y-%m-%dT%H:%M:%S.%fZ")
    assert micros.lower(fraction) == fraction - dt.timedelta(microseconds=1)
    assert Incremental(field="n", param="since", kind="number", exclusive=True).lower(10) == 9
    assert UPDATED.lower(fraction) == fraction


def test_an_exclusive_string_cursor_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot step back"):
        Incremental(field="name", param="after", kind="string", exclusive=True)
