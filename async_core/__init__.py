"""asyncio engine of the connector: settings, resilient client, engine, SDK bridge, checkpoints, report.

The data path, one package per seam: settings -> sync -> run/engine (run/walk: pagination that never lies) ->
http/client (gate, breaker, limiter, retry) -> source/ (records, paginator facts, transform) -> run/bridge -> the
SDK. A source (`sources/<name>.py`) declares an API with the public API of `async_core.source`.
"""

from async_core.errors import (
    AuthenticationError,
    CircuitOpenError,
    ConfigurationError,
    ConnectorError,
    FatalError,
    FetchError,
    RecordError,
    RetryableError,
    Severity,
    StateError,
    SyncStopped,
    WaitTooLongError,
)
from async_core.settings import Settings, parse_settings, schema_selection
from async_core.source.catalogue import load_source
from async_core.source.spec import Column, Source, TableSpec, schema_for
from async_core.sync import StdLog, SyncResult, run_sync

__all__ = [
    "AuthenticationError",
    "CircuitOpenError",
    "Column",
    "ConfigurationError",
    "ConnectorError",
    "FatalError",
    "FetchError",
    "RecordError",
    "RetryableError",
    "Settings",
    "Severity",
    "Source",
    "StateError",
    "StdLog",
    "SyncResult",
    "SyncStopped",
    "TableSpec",
    "WaitTooLongError",
    "load_source",
    "parse_settings",
    "run_sync",
    "schema_for",
    "schema_selection",
]
