"""Malformed configurations through the real `fivetran debug`: a clean refusal, one line, nothing written.

Every case runs in its own project folder; the runs go two at a time in subprocesses (a module fixture), and
each case is then one test over its result.
"""

from __future__ import annotations

import json
import math
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from async_core.settings import MOVED_KEYS, PARSERS
from tests.devtools import pytest
from tests.e2e.project import Warehouse, make_project
from tests.reliability.support import START_SECONDS, timed_debug

# (the key the refusal must name, the configuration); every other key takes its default. Every key of the form has
# a case; the keys that moved out of it (issue 19: still accepted and honoured for one release, with a warning) keep
# theirs, since a malformed value of a moved key is still refused.
REFUSED_BY_THE_CONNECTOR: dict[str, tuple[str, dict[str, str]]] = {
    "max_workers-not-a-number": ("max_workers", {"max_workers": "three"}),
    "max_workers-zero": ("max_workers", {"max_workers": "0"}),
    "max_workers-too-many": ("max_workers", {"max_workers": "513"}),
    "max_workers-fraction": ("max_workers", {"max_workers": "2.5"}),
    "page_size-negative": ("page_size", {"page_size": "-1"}),
    "page_size-too-large": ("page_size", {"page_size": "10001"}),
    "api_timeout_seconds-zero": ("api_timeout_seconds", {"api_timeout_seconds": "0"}),
    "api_timeout_seconds-nan": ("api_timeout_seconds", {"api_timeout_seconds": "nan"}),
    "api_timeout_seconds-infinite": ("api_timeout_seconds", {"api_timeout_seconds": "inf"}),
    "retry_strategy-unknown": ("retry_strategy", {"retry_strategy": "sometimes"}),
    "retry_jitter-unknown": ("retry_jitter", {"retry_jitter": "gaussian"}),
    # tables "" is no longer refused: it is the source's default tables (`fivetran configuration` writes "" for a
    # field left blank, and the form says empty is the default)
    "tables-only-commas": ("tables", {"tables": " , ,"}),
    "tables-unknown": ("tables", {"tables": "users,accounts"}),
    "shard-not-a-share": ("shard", {"shard": "half"}),
    "shard-zeroth": ("shard", {"shard": "0/2"}),
    "error_threshold_per_thread-zero": ("error_threshold_per_thread", {"error_threshold_per_thread": "0"}),
    "base_url-ftp": ("base_url", {"base_url": "ftp://example.com"}),
    # base_url "" is no longer refused: it is the source's own base URL (jsonplaceholder: the embedded playground)
    "source-unknown": ("source", {"source": "no_such_api"}),
    "base_url-with-query": ("base_url", {"base_url": "https://api.example.com/?page=1"}),
    "base_url-plain-http-remote": ("base_url", {"base_url": "http://api.example.com"}),
    "base_url-plain-http-insecure-not-boolean": ("allow_insecure_http", {"allow_insecure_http": "yes"}),
    "enable_circuit_breaker-not-boolean": ("enable_circuit_breaker", {"enable_circuit_breaker": "1"}),
    "max_retries-too-many": ("max_retries", {"max_retries": "101"}),
    "base_delay-negative": ("base_delay", {"base_delay": "-1"}),
    "max_delay-below-base_delay": ("max_delay", {"base_delay": "2", "max_delay": "1"}),
    "max_wait_seconds-too-long": ("max_wait_seconds", {"max_wait_seconds": "86401"}),
    "retry_budget_percent-over-100": ("retry_budget_percent", {"retry_budget_percent": "150"}),
    "requests_per_second-negative": ("requests_per_second", {"requests_per_second": "-5"}),
    "max_response_mb-zero": ("max_response_mb", {"max_response_mb": "0"}),
    "checkpoint_every_rows-zero": ("checkpoint_every_rows", {"checkpoint_every_rows": "0"}),
    "failure_threshold-exponent": ("failure_threshold", {"failure_threshold": "1e3"}),
    "recovery_timeout-negative": ("recovery_timeout", {"recovery_timeout": "-30"}),
    "total_error_threshold-zero": ("total_error_threshold", {"total_error_threshold": "0"}),
    "playground_faults-unknown": ("playground_faults", {"playground_faults": "chaos"}),
    "playground_scale-too-large": ("playground_scale", {"playground_scale": "1001"}),
}

# JSON values that are not strings: the SDK refuses the file before our code runs, without naming the key.
REFUSED_BY_THE_SDK: dict[str, dict[str, Any]] = {
    "max_workers-json-number": {"max_workers": 3},
    "enable_circuit_breaker-json-boolean": {"enable_circuit_breaker": True},
    "api_key-json-null": {"api_key": None},
}
SDK_REFUSAL = "invalid configuration file; all values must be strings"
CASES = len(REFUSED_BY_THE_CONNECTOR) + len(REFUSED_BY_THE_SDK)
PARALLEL = 2  # `fivetran debug` processes at a time: one per core (a case is bounded as if it ran alone)

# The module fixture runs every case before the first test ends: its time limit is what the cases' own bounds
# allow (each START_SECONDS, PARALLEL at a time), plus a minute for the tests; the bound of each case is unchanged.
pytestmark = [pytest.mark.reliability, pytest.mark.timeout(math.ceil(CASES / PARALLEL) * START_SECONDS + 60)]


def run_case(folder: Path, configuration: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    project = make_project(folder, {})
    (project / "configuration.json").write_text(
        json.dumps({"base_url": "playground", "playground_faults": "none", **configuration}), encoding="utf-8"
    )
    # Refused before any request: the bound is the start of `fivetran debug` alone.
    return timed_debug(project, bound=START_SECONDS)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: Any) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    """Every case run once, PARALLEL `fivetran debug` processes at a time."""
    cases: dict[str, dict[str, Any]] = {name: config for name, (_, config) in REFUSED_BY_THE_CONNECTOR.items()}
    cases.update(REFUSED_BY_THE_SDK)
    root = tmp_path_factory.mktemp("bad-configuration")
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        futures = {name: pool.submit(run_case, root / name, config) for name, config in cases.items()}
        return {name: (root / name, future.result()) for name, future in futures.items()}


def assert_nothing_written(project: Path) -> None:
    assert not (project / "files" / "state.json").exists()
    assert Warehouse(project).tables() == set()
    assert not (project / "crash-reports").exists()


def test_there_are_at_least_twenty_malformed_configurations() -> None:
    """The table covers every kind of mistake: wrong type, out of range, unknown choice, bad URL, non-strings."""
    assert CASES == 38


def test_the_cases_name_every_key_of_the_form_and_only_keys_the_connector_reads() -> None:
    """Each key of the form (PARSERS) has a malformed case; each case names a form key or a moved one (MOVED_KEYS:
    still parsed, so still refused when malformed), never a key the connector no longer reads."""
    named = {key for key, _ in REFUSED_BY_THE_CONNECTOR.values()}
    assert set(PARSERS) - named == set()
    assert named - set(PARSERS) - set(MOVED_KEYS) == set()


@pytest.mark.parametrize("case", list(REFUSED_BY_THE_CONNECTOR))
def test_a_malformed_value_is_refused_in_one_line_naming_the_key(outcomes: Any, case: str) -> None:
    """Exit code non-zero, exactly one line naming the key, no traceback, no state, no table, no crash report."""
    key, configuration = REFUSED_BY_THE_CONNECTOR[case]
    project, result = outcomes[case]
    assert result.returncode != 0, result.stdout[-2000:]
    naming = [line for line in result.stdout.splitlines() if f"configuration key {key!r}" in line]
    assert len(naming) == 1, result.stdout[-2000:]
    assert repr(configuration[key]) in naming[0]
    assert "Traceback" not in result.stdout
    assert_nothing_written(project)


@pytest.mark.parametrize("case", list(REFUSED_BY_THE_SDK))
def test_a_value_that_is_not_a_string_is_refused_by_the_sdk(outcomes: Any, case: str) -> None:
    """The SDK itself refuses non-string values before update(): exit 1, its one SEVERE line, no traceback."""
    project, result = outcomes[case]
    assert result.returncode == 1
    assert sum(SDK_REFUSAL in line for line in result.stdout.splitlines()) == 1
    assert "calling update()" not in result.stdout
    assert "Traceback" not in result.stdout
    assert_nothing_written(project)
