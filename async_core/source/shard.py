"""`shard`: one connection's share of the parents of a source's child tables, when one connection's box (about
1 GB and half a CPU) is not enough. `2/8` is the second of eight connections of the same configuration, each with
its own state; together they land every row once.

A parent belongs to shard `k/n` when a stable hash of its key (the child walk's key in the state, `unit_key`)
modulo n is k - 1: BLAKE2b, the same in every process and every Python (not `hash()`, which is salted per process).
A shard walks only its parents' child pages, and lands only its parents' own rows (a parent and its children land
in the same connection). A table that is neither a child nor a parent of a selected child would land whole in every
shard: `check_tables` refuses it (give it to one connection's `tables`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Sequence

from async_core.errors import ConfigurationError
from async_core.source.spec import Source

_FORM = re.compile(r"^\s*(\d{1,4})\s*/\s*(\d{1,4})\s*$")
MAX_SHARDS = 1024


@dataclasses.dataclass(frozen=True)
class Shard:
    index: int  # 1-based: 1/n is the first
    count: int

    @property
    def splits(self) -> bool:
        """More than one shard (`1/1`, the default, is every parent)."""
        return self.count > 1

    def owns(self, unit: str) -> bool:
        digest = hashlib.blake2b(unit.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "big") % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


ALL = Shard(1, 1)


def parse_shard(key: str, raw: str) -> Shard:
    """`k/n` with 1 <= k <= n <= 1024; `1/1` (the default) is every parent."""
    match = _FORM.match(raw)
    if not match:
        raise ConfigurationError(key, raw, "expected k/n, such as 2/8 (this connection's share of n)")
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= count <= MAX_SHARDS or not 1 <= index <= count:
        raise ConfigurationError(key, raw, f"expected k/n with 1 <= k <= n <= {MAX_SHARDS}")
    return Shard(index, count)


def check_tables(key: str, shard: Shard, source: Source, tables: Sequence[str]) -> None:
    """Every selected table must be a child table, or the parent of a selected child."""
    parents = {source.table(name).parent.table for name in tables if source.table(name).parent is not None}  # type: ignore[union-attr]
    whole = [name for name in tables if source.table(name).parent is None and name not in parents]
    if whole and all(table.parent is None for table in source.tables):  # nothing could be selected to split
        raise ConfigurationError(
            key,
            str(shard),
            f"source {source.name!r} has no child table, so a shard has nothing to split ({', '.join(whole)} "
            "would land whole in every shard): leave shard empty (1/1)",
        )
    if whole:
        raise ConfigurationError(
            key,
            str(shard),
            f"a shard splits child tables by their parents; {', '.join(whole)} would land whole in every shard: "
            "select it in one connection's tables only (tables = the child tables and their parents here)",
        )
