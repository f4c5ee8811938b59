"""The two tables the connector writes about the sync itself, beside the source's: `sync_runs` (one row per
sync, with its summary) and `sync_errors` (the dead letters: every error worth keeping, with its raw record)."""

from __future__ import annotations

from typing import Any

SYNC_RUNS = "sync_runs"
SYNC_ERRORS = "sync_errors"
META_TABLES = (SYNC_RUNS, SYNC_ERRORS)

META_SCHEMA: list[dict[str, Any]] = [
    {
        "table": SYNC_RUNS,
        "primary_key": ["sync_id"],
        "columns": {
            "sync_id": "STRING",
            "started_at": "UTC_DATETIME",
            "finished_at": "UTC_DATETIME",
            "status": "STRING",
            "summary": "JSON",
        },
    },
    {
        "table": SYNC_ERRORS,
        "primary_key": ["sync_id", "error_id"],
        "columns": {
            "sync_id": "STRING",
            "error_id": "INT",
            "table_name": "STRING",
            "page": "INT",
            "record_id": "STRING",
            "severity": "STRING",
            "error_type": "STRING",
            "rule": "STRING",
            "message": "STRING",
            "attempts": "INT",
            "occurred_at": "UTC_DATETIME",
            "raw_record": "JSON",
        },
    },
]
