"""A configuration.json from before the keys moved out of it still syncs, honouring them, with one warning each."""

from __future__ import annotations

from async_core import run_sync
from tests.sinks import RecordingSink
from tests.unit.test_settings import PREVIOUS_CONFIGURATION


class Lines:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def info(self, message: str) -> None: ...

    def warning(self, message: str) -> None:
        self.warnings.append(message)


def test_the_previous_configuration_syncs_with_one_warning_per_moved_key() -> None:
    """page_size 10 and playground_faults none (both moved) are honoured: 610 rows in pages of 10, no fault; the
    log has exactly one warning for each, and no other."""
    configuration = {**PREVIOUS_CONFIGURATION, "page_size": "10", "playground_faults": "none"}
    sink, log = RecordingSink(), Lines()
    result = run_sync(configuration, None, sink=sink, log=log)
    assert result.status == "succeeded"
    assert (len(sink.ids("users")), len(sink.ids("posts")), len(sink.ids("comments"))) == (10, 100, 500)
    assert result.summary["processing_summary"]["table_summaries"]["posts"]["pages"] == 10
    assert result.summary["resilience"]["retries"] == 0  # no fault injected: "none" was honoured
    assert [line.split(" has moved")[0] for line in log.warnings] == [
        "configuration key 'page_size'",
        "configuration key 'playground_faults'",
    ]
