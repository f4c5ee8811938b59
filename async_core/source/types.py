"""Fivetran column types: what each accepts from a JSON document, and the value handed to the SDK.

INT, LONG          integers (not booleans) within Java's int / long range (the SDK fails the sync otherwise)
FLOAT, DOUBLE      finite numbers (integers too), as float
STRING             text (valid Unicode); integers are accepted and written as text (ids as STRING)
BOOLEAN            true / false
JSON               objects and arrays
UTC_DATETIME       an ISO 8601 timestamp ("2024-05-01T12:00:00Z", with an offset, or naive = UTC) or epoch
                   seconds, as an aware UTC datetime
NAIVE_DATETIME     an ISO 8601 timestamp without an offset (one with an offset is converted to UTC first)
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from typing import Any

from async_core.errors import RecordError

FIVETRAN_TYPES = ("INT", "LONG", "FLOAT", "DOUBLE", "STRING", "BOOLEAN", "JSON", "UTC_DATETIME", "NAIVE_DATETIME")
_RANGES: dict[str, tuple[int, int]] = {"INT": (-(2**31), 2**31 - 1), "LONG": (-(2**63), 2**63 - 1)}

Converter = Callable[[Any], Any]


def converter_for(kind: str, field: str) -> Converter:
    """The function that checks one value of a column of type `kind` and returns what the SDK is given."""

    def wrong(value: Any) -> RecordError:
        return RecordError(f"field {field!r} should be {kind}, got {type(value).__name__}")

    if kind in _RANGES:
        low, high = _RANGES[kind]

        def integer(value: Any) -> Any:
            if type(value) is not int:
                raise wrong(value)
            if not low <= value <= high:
                raise RecordError(f"field {field!r} is out of the {kind} range: {value}")
            return value

        return integer
    if kind in ("FLOAT", "DOUBLE"):

        def number(value: Any) -> Any:
            if type(value) not in (int, float) or not math.isfinite(value):
                raise wrong(value)
            return float(value)

        return number
    if kind == "STRING":

        def text(value: Any) -> Any:
            if type(value) is str:
                if not value.isascii():
                    _check_utf8(field, value)
                return value
            if type(value) is int:
                return str(value)
            raise wrong(value)

        return text
    if kind == "BOOLEAN":

        def boolean(value: Any) -> Any:
            if type(value) is not bool:
                raise wrong(value)
            return value

        return boolean
    if kind == "JSON":

        def document(value: Any) -> Any:
            if not isinstance(value, dict | list):
                raise wrong(value)
            _check_utf8(field, json.dumps(value))
            return value

        return document
    naive = kind == "NAIVE_DATETIME"

    def timestamp(value: Any) -> Any:
        parsed = parse_timestamp(value, field)
        return parsed.replace(tzinfo=None) if naive else parsed

    return timestamp


def parse_timestamp(value: Any, field: str) -> dt.datetime:
    """An aware UTC datetime from an ISO 8601 string (naive = UTC) or epoch seconds; `RecordError` otherwise."""
    if type(value) in (int, float) and math.isfinite(value):
        try:
            return dt.datetime.fromtimestamp(value, dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise RecordError(f"field {field!r} is not a timestamp: {value!r}") from None
    if type(value) is not str or len(value) > 64:
        raise RecordError(f"field {field!r} should be a timestamp, got {type(value).__name__}")
    try:
        parsed = dt.datetime.fromisoformat(value)
        return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):  # not ISO 8601, or outside years 1..9999 once in UTC
        raise RecordError(f"field {field!r} is not an ISO 8601 timestamp in range: {value[:64]!r}") from None


def _check_utf8(field: str, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise RecordError(f"field {field!r} is not valid Unicode (a lone surrogate)") from None
