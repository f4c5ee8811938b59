"""asyncio engine of the connector: settings, resilient client, engine, SDK bridge, checkpoints, report.

The data path, one module per step: settings -> sync -> engine -> client (gate, breaker, limiter, retry) ->
tables (transform) -> bridge -> the SDK.
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
    SyncStopped,
    WaitTooLongError,
)
from async_core.settings import Settings, parse_settings, schema_tables
from async_core.source.spec import TABLES, Column, TableSpec, schema_for
from async_core.sync import StdLog, SyncResult, run_sync

__all__ = [
    "TABLES",
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
    "StdLog",
    "SyncResult",
    "SyncStopped",
    "TableSpec",
    "WaitTooLongError",
    "parse_settings",
    "run_sync",
    "schema_for",
    "schema_tables",
]
