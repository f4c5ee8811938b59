"""The threaded baseline: its breaker and pacing as state machines (injected clock), its engine over loopback HTTP."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from aiohttp import web

from async_core.errors import CircuitOpenError
from async_core.http.breaker import CircuitState
from benchmarks.threaded import run_threaded
from benchmarks.threaded.breaker import ThreadedCircuitBreaker
from benchmarks.threaded.limits import PacedLimiter, ThreadedWaitGate
from tests.devtools import pytest
from tests.integration.servers import rows, serve
from tests.sinks import RecordingSink

FAST = {"base_delay": "0", "max_delay": "0", "retry_jitter": "none", "enable_circuit_breaker": "false"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def paged(data: list[dict[str, Any]], *, delay: float = 0.0, failing_pages: frozenset[int] = frozenset()) -> Any:
    """json-server pages with X-Total-Count; the pages in `failing_pages` always answer 500."""

    async def handler(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(delay)
        page, limit = int(request.query["_page"]), int(request.query["_limit"])
        if page in failing_pages:
            return web.Response(status=500)
        return web.json_response(data[(page - 1) * limit : page * limit], headers={"X-Total-Count": str(len(data))})

    return handler


def sync(base_url: str, sink: RecordingSink, **overrides: str) -> Any:
    configuration = {"base_url": base_url, "tables": "posts", "page_size": "10", **FAST, **overrides}
    return run_threaded(configuration, None, sink=sink, log=_QuietLog())


class WorkerRecordingSink(RecordingSink):
    """Also records the names of the threads that upserted data rows."""

    def __init__(self) -> None:
        super().__init__()
        self.row_threads: set[str] = set()

    def upsert(self, table: str, data: dict[str, Any]) -> None:
        if table == "posts":
            self.row_threads.add(threading.current_thread().name)
        super().upsert(table, data)


class _QuietLog:
    def info(self, message: str) -> None: ...

    def warning(self, message: str) -> None: ...

    def severe(self, message: str) -> None: ...


def test_breaker_opens_after_threshold_consecutive_failures() -> None:
    """Three failures in a row open it; the next acquire is refused with the time left until a probe."""
    clock = FakeClock()
    breaker = ThreadedCircuitBreaker(failure_threshold=3, recovery_timeout=10, clock=clock)
    for _ in range(3):
        breaker.acquire().failure()
    clock.now += 4
    with pytest.raises(CircuitOpenError) as refused:
        breaker.acquire()
    assert breaker.state is CircuitState.OPEN
    assert refused.value.retry_in == 6


def test_breaker_success_resets_the_consecutive_count() -> None:
    """Two failures, a success, two failures: still closed with a threshold of 3."""
    breaker = ThreadedCircuitBreaker(failure_threshold=3, recovery_timeout=10, clock=FakeClock())
    for success in (False, False, True, False, False):
        permit = breaker.acquire()
        permit.success() if success else permit.failure()
    assert breaker.state is CircuitState.CLOSED


def test_breaker_lets_one_probe_through_and_closes_on_its_success() -> None:
    """After the recovery timeout the first acquire is the probe; its success closes the breaker."""
    clock = FakeClock()
    breaker = ThreadedCircuitBreaker(failure_threshold=1, recovery_timeout=10, clock=clock)
    breaker.acquire().failure()
    clock.now += 10
    probe = breaker.acquire()
    assert probe.is_probe
    assert breaker.state is CircuitState.HALF_OPEN
    probe.success()
    assert breaker.state is CircuitState.CLOSED
    assert (breaker.opens, breaker.probes) == (1, 1)


def test_breaker_waiters_block_until_the_probe_settles() -> None:
    """While the probe is out, another thread's acquire waits; when the probe fails it is refused."""
    clock = FakeClock()
    breaker = ThreadedCircuitBreaker(failure_threshold=1, recovery_timeout=10, clock=clock)
    breaker.acquire().failure()
    clock.now += 10
    probe = breaker.acquire()
    outcome: list[str] = []

    def other() -> None:
        try:
            breaker.acquire()
            outcome.append("permit")
        except CircuitOpenError:
            outcome.append("refused")

    waiter = threading.Thread(target=other)
    waiter.start()
    waiter.join(0.1)
    assert outcome == []  # still waiting for the probe
    probe.failure()
    waiter.join(5)
    assert outcome == ["refused"]


def test_breaker_ignores_outcomes_of_permits_from_before_it_opened() -> None:
    """A permit issued before the breaker opened does not count in the next closed period."""
    clock = FakeClock()
    breaker = ThreadedCircuitBreaker(failure_threshold=1, recovery_timeout=10, clock=clock)
    stale = breaker.acquire()
    breaker.acquire().failure()
    clock.now += 10
    breaker.acquire().success()
    stale.failure()
    assert breaker.state is CircuitState.CLOSED


def test_paced_limiter_spaces_acquisitions_without_a_burst() -> None:
    """At 10 per second, three acquisitions at the same instant sleep 0, 0.1 and 0.2 s."""
    clock = FakeClock()
    limiter = PacedLimiter(10, clock=clock, sleep=lambda seconds: clock.sleeps.append(round(seconds, 6)))
    for _ in range(3):
        limiter.acquire()
    assert clock.sleeps == [0.1, 0.2]


def test_wait_gate_holds_every_request_until_the_pause_ends() -> None:
    """A pause of 2 s set at t: a wait at t + 0.5 sleeps 1.5 s; a shorter pause does not shorten it."""
    clock = FakeClock()
    gate = ThreadedWaitGate(clock=clock, sleep=clock.sleep)
    gate.pause_for(2)
    clock.now += 0.5
    gate.pause_for(1)
    assert gate.wait() == 1.5
    assert gate.wait() == 0.0


def test_engine_lands_every_row_once_from_worker_threads() -> None:
    """95 rows in pages of 10: ten requests, 95 distinct ids, upserted by the pool's threads, not the caller."""
    with serve(paged(rows("posts", 95))) as (url, seen):
        sink = WorkerRecordingSink()
        result = sync(url, sink, max_workers="4")
    assert sink.ids("posts") == list(range(1, 96))
    assert len(seen.requests) == 10
    assert result.status == "succeeded"
    assert sink.row_threads
    assert all(name.startswith("FivetranWorker") for name in sink.row_threads)
    assert result.summary["resilience"]["requests"] == 10


def test_engine_keeps_max_workers_requests_in_flight() -> None:
    """40 slow pages with max_workers 4: the server sees 4 requests at once, never more."""
    with serve(paged(rows("posts", 400), delay=0.03)) as (url, seen):
        sync(url, RecordingSink(), max_workers="4")
    assert seen.max_in_flight == 4


def test_engine_records_a_lost_page_and_finishes_partial() -> None:
    """A page that always fails is retried, recorded in sync_errors, and the sync ends partial with the rest."""
    with serve(paged(rows("posts", 50), failing_pages=frozenset({3}))) as (url, _seen):
        sink = RecordingSink()
        result = sync(url, sink, max_retries="2")
    assert len(sink.ids("posts")) == 40
    assert [row["page"] for row in sink.rows("sync_errors")] == [3]
    assert result.status == "partial"
    assert result.summary["resilience"]["retries"] == 2


def test_engine_retries_a_body_cut_short_and_does_not_crash() -> None:
    """A body shorter than its Content-Length is a retryable error (not a CRITICAL one), retried until it arrives."""
    data = rows("posts", 30)
    cut = {"left": 2}

    async def handler(request: web.Request) -> web.StreamResponse:
        page, limit = int(request.query["_page"]), int(request.query["_limit"])
        body = json.dumps(data[(page - 1) * limit : page * limit]).encode()
        headers = {"X-Total-Count": str(len(data)), "Content-Type": "application/json"}
        if page == 2 and cut["left"]:
            cut["left"] -= 1
            response = web.StreamResponse(headers={**headers, "Content-Length": str(len(body))})
            await response.prepare(request)
            await response.write(body[: len(body) // 2])
            assert request.transport is not None
            request.transport.close()
            return response
        return web.Response(body=body, headers=headers)

    with serve(handler) as (url, _seen):
        sink = RecordingSink()
        result = sync(url, sink, max_retries="3")
    assert result.status == "succeeded"
    assert sink.ids("posts") == list(range(1, 31))
    assert result.summary["resilience"]["retries"] == 2
    assert sink.rows("sync_errors") == []
