"""Sources declared inside a test, reached the way a user's are: `{"source": name}` imports `sources.<name>`.

`declare` registers a module holding `SOURCE` as `sources.<name>` for one test (pytest's `monkeypatch` removes it
afterwards), so nothing is added to `sources/`. `sync` runs one sync of it against a loopback server.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from async_core import StdLog, run_sync
from async_core.source import Column, Source, TableSpec
from async_core.sync import SyncResult
from tests.sinks import RecordingSink

# Instant retries and no breaker: a test's server decides every outcome, and the suite stays fast.
FAST = {"base_delay": "0", "max_delay": "0", "retry_jitter": "none", "enable_circuit_breaker": "false"}

ID = Column("id", "id", "INT")


def declare(monkeypatch: Any, *tables: TableSpec, name: str = "declared", **source: Any) -> str:
    """Registers `Source(name, tables, **source)` as the module `sources.<name>`; returns the name to configure."""
    module = types.ModuleType(f"sources.{name}")
    module.__dict__["SOURCE"] = Source(name=name, tables=tables, **source)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return name


def sync(
    url: str,
    sink: RecordingSink,
    state: dict[str, Any] | None = None,
    *,
    source: str = "declared",
    **configuration: str,
) -> SyncResult:
    """One sync of the declared `source` against `url`, with instant retries."""
    return run_sync({"source": source, "base_url": url, **FAST, **configuration}, state, sink=sink, log=StdLog())


def statuses(result: SyncResult) -> dict[str, str]:
    """Each table's status in the sync's summary."""
    summaries = result.summary["processing_summary"]["table_summaries"]
    return {name: summary["status"] for name, summary in summaries.items()}


def errors(sink: RecordingSink) -> list[tuple[str, int | None, str]]:
    """The `sync_errors` rows as (table, page, error type)."""
    return [(row["table_name"], row["page"], row["error_type"]) for row in sink.rows("sync_errors")]
