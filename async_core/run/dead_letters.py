"""A `sync_errors` row for each error worth keeping (the dead letters), bounded whatever the server sent.

Written by the SDK thread of a sync (`async_core.run.bridge`) and by the threaded baseline alike.
"""

from __future__ import annotations

import json
from typing import Any

from async_core.run.ledger import ErrorRecord

# A dead letter stays small whatever the server sent: its message (with the traceback) is cut at
# MAX_MESSAGE_CHARS, and a raw record whose JSON is longer than MAX_RAW_RECORD_CHARS is replaced by
# {"clipped": true, "json_chars": <its length>, "head": <its first MAX_RAW_RECORD_CHARS characters>}.
MAX_MESSAGE_CHARS = 8000
MAX_RAW_RECORD_CHARS = 64 * 1024


def dead_letter_row(sync_id: str, error_id: int, error: ErrorRecord) -> dict[str, Any]:
    """A `sync_errors` row. The raw record is kept as JSON so that nothing is lost silently, clipped to
    MAX_RAW_RECORD_CHARS (and the message to MAX_MESSAGE_CHARS) so that a hostile record cannot blow it up."""
    return {
        "sync_id": sync_id,
        "error_id": error_id,
        "table_name": error.table,
        "page": error.page,
        "record_id": error.record_id,
        "severity": error.severity.name,
        "error_type": error.error_type,
        "rule": error.rule,
        "message": _clip(error.message + (f"\n{error.traceback}" if error.traceback else "")),
        "attempts": error.attempts,
        "occurred_at": error.occurred_at,
        "raw_record": _as_json(error.raw_record),
    }


def _as_json(value: Any) -> Any:
    """The raw record for a JSON column: objects and arrays as they are, anything else wrapped, and text that the
    destination cannot encode (lone surrogates) replaced, so that the dead letter itself always lands."""
    if value is None:
        return None
    wrapped = value if isinstance(value, dict | list) else {"value": value}
    text = json.dumps(wrapped, default=repr, ensure_ascii=False).encode("utf-8", "replace").decode("utf-8")
    if len(text) > MAX_RAW_RECORD_CHARS:
        return {"clipped": True, "json_chars": len(text), "head": text[:MAX_RAW_RECORD_CHARS]}
    return json.loads(text)


def _clip(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= limit else text[:limit] + "…"
