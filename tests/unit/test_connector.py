"""connector.py's own decisions: validation in one line, and what reaches the dashboard at the end of a sync."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from async_core import SyncResult
from tests.devtools import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import connector  # the project's own connector.py, found from the project root


class Recorder:
    """Stands in for the SDK's Operations and Logging: keeps what each call said."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        return lambda message, *args, **kwargs: self.calls.append((name, message))


def test_validate_configuration_raises_value_error_in_one_line() -> None:
    """A bad value: ValueError whose message is the one line naming the key, the value and what is allowed."""
    with pytest.raises(ValueError) as caught:
        connector.validate_configuration({"max_workers": "lots"})
    assert (
        str(caught.value) == "configuration key 'max_workers' has value 'lots': expected a whole number from 1 to 512"
    )
    connector.validate_configuration({"max_workers": "4"})  # a good one passes


def test_update_fails_a_bad_configuration_with_op_error_before_syncing(monkeypatch: Any) -> None:
    """update() validates first: one op.error line, and run_sync is never called."""
    op = Recorder()
    monkeypatch.setattr(connector, "op", op)
    monkeypatch.setattr(connector, "run_sync", lambda *a, **k: pytest.fail("synced a bad configuration"))
    connector.update({"retry_strategy": "sometimes"}, {})
    assert op.calls == [
        (
            "error",
            "invalid configuration: configuration key 'retry_strategy' has value 'sometimes': expected one of "
            "exponential_backoff, fixed_interval, linear_backoff",
        )
    ]


@pytest.mark.parametrize(("status", "expected"), [("partial", "warning"), ("failed", "error"), ("succeeded", None)])
def test_a_partial_sync_reaches_the_dashboard_as_a_warning(monkeypatch: Any, status: str, expected: str | None) -> None:
    """partial: op.warning with the message (the platform shows it); failed: op.error; succeeded: neither."""
    op, log = Recorder(), Recorder()
    result = SyncResult(sync_id="s", status=status, message="incomplete tables: posts", summary={}, checkpoints=1)
    monkeypatch.setattr(connector, "op", op)
    monkeypatch.setattr(connector, "log", log)
    monkeypatch.setattr(connector, "run_sync", lambda *a, **k: result)
    connector.update({}, {})
    kinds = {"warning": "sync partial: ", "error": "sync stopped: "}
    assert op.calls == ([] if expected is None else [(expected, kinds[expected] + "incomplete tables: posts")])


def test_schema_declares_the_default_tables_for_a_bad_configuration(monkeypatch: Any) -> None:
    """schema() validates too, but leaves the one line to update(): a warning that does not repeat it."""
    log = Recorder()
    monkeypatch.setattr(connector, "log", log)
    tables = [entry["table"] for entry in connector.schema({"max_workers": "lots", "tables": "todos"})]
    assert tables == ["todos", "sync_runs", "sync_errors"]
    assert len(log.calls) == 1
    assert "max_workers" not in log.calls[0][1]
