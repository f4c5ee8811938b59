"""A set of parent keys written compactly: the integer keys as ranges, the others as they are.

A child table's open pass checkpoints the parents it has done. Listed one by one, 100,000 of them take about a
megabyte of state at every checkpoint, against the platform's 10 MB for the whole state; parents are most often
numbered, and done about in order, so as ranges they take a few bytes. A parent key (`pages.unit_key`) is an
integer written canonically ("17", "-3"), or JSON text (a quoted string, a list): never both, so the two parts
cannot collide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
# A saved state is read back with at most this many keys from its ranges: a corrupted or hostile range
# ([1, 10**12]) starts the pass afresh instead of filling the memory.
MAX_EXPANDED = 10_000_000


def compact(keys: Iterable[str]) -> tuple[list[list[int]], list[str]]:
    """The integer keys as sorted, disjoint, non-adjacent [first, last] ranges, and the other keys sorted."""
    numbers: list[int] = []
    others: list[str] = []
    for key in keys:
        if _INTEGER.fullmatch(key):
            numbers.append(int(key))
        else:
            others.append(key)
    numbers.sort()
    ranges: list[list[int]] = []
    for number in numbers:
        if ranges and number == ranges[-1][1] + 1:
            ranges[-1][1] = number
        else:
            ranges.append([number, number])
    others.sort()
    return ranges, others


def expand(ranges: Any, others: Any) -> set[str] | None:
    """The keys `compact` wrote; None when either part is malformed or the ranges hold more than MAX_EXPANDED."""
    keys: set[str] = set()
    if not isinstance(others, list) or not isinstance(ranges, list):
        return None
    keys.update(key for key in others if isinstance(key, str))
    total = 0
    for item in ranges:
        if not (isinstance(item, list) and len(item) == 2 and all(type(n) is int for n in item) and item[0] <= item[1]):
            return None
        total += item[1] - item[0] + 1
        if total > MAX_EXPANDED:
            return None
        keys.update(str(n) for n in range(item[0], item[1] + 1))
    return keys
