"""A configuration.json from before the keys moved out of it still syncs, honouring them, with one warning each."""

from __future__ import annotations

import dataclasses

from async_core import parse_settings, run_sync
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


def test_the_playground_knobs_are_set_directly_by_code_without_a_configuration_key() -> None:
    """The new home of playground_faults: Settings given to run_sync; the configuration says nothing of it, and no
    warning is logged: no fault is injected (the default profile, flaky, would make retries)."""
    configuration = {"base_url": "playground", "tables": "posts"}
    settings = dataclasses.replace(parse_settings(configuration)[0], playground_faults="none")
    sink, log = RecordingSink(), Lines()
    result = run_sync(configuration, None, sink=sink, log=log, settings=settings)
    assert result.status == "succeeded"
    assert len(sink.ids("posts")) == 100
    assert result.summary["resilience"]["retries"] == 0
    assert log.warnings == []
