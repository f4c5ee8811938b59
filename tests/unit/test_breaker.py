"""The circuit breaker: a state machine on a fake clock; concurrency on the real loop, which never sleeps here."""

import asyncio
from collections.abc import Callable

from async_core.errors import CircuitOpenError
from async_core.http.breaker import ALLOWED_TRANSITIONS, CircuitBreaker, CircuitState, Permit
from tests.devtools import pytest

CLOSED, OPEN, HALF_OPEN = CircuitState.CLOSED, CircuitState.OPEN, CircuitState.HALF_OPEN


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _breaker(
    clock: FakeClock, on_transition: Callable[[CircuitState, CircuitState], None] | None = None
) -> CircuitBreaker:
    """Threshold 3, 30 s, and a single probe: the probe gate's mechanics (several probes: see the tests below)."""
    return CircuitBreaker(
        failure_threshold=3, recovery_timeout=30.0, half_open_probes=1, clock=clock, on_transition=on_transition
    )


async def _fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        permit = await breaker.acquire()
        permit.failure()
        permit.release()


async def _open(breaker: CircuitBreaker) -> None:
    await _fail(breaker, breaker.failure_threshold)
    assert breaker.state is OPEN


async def _settle() -> None:
    """Let every ready task run until all are blocked (no time passes)."""
    for _ in range(20):
        await asyncio.sleep(0)


async def test_closed_gives_normal_permits_at_once() -> None:
    """A new breaker is CLOSED and lets requests through."""
    breaker = _breaker(FakeClock())
    permit = await breaker.acquire()
    assert not permit.is_probe
    assert breaker.state is CLOSED


async def test_opens_after_exactly_the_threshold_of_consecutive_failures() -> None:
    """Threshold 3: two failures keep it closed, the third opens it."""
    breaker = _breaker(FakeClock())
    await _fail(breaker, 2)
    assert breaker.state is CLOSED
    assert breaker.consecutive_failures == 2
    await _fail(breaker, 1)
    assert breaker.state is OPEN
    assert breaker.opens == 1


async def test_a_success_resets_the_consecutive_failures() -> None:
    """N-1 failures, a success, N-1 failures: still closed."""
    breaker = _breaker(FakeClock())
    await _fail(breaker, 2)
    permit = await breaker.acquire()
    permit.success()
    permit.release()
    assert breaker.consecutive_failures == 0
    await _fail(breaker, 2)
    assert breaker.state is CLOSED
    assert breaker.opens == 0


async def test_open_rejects_locally_with_the_time_until_the_probe() -> None:
    """Open at t=1000 with a 30 s timeout: at t=1000 retry_in 30, at t=1012 retry_in 18; each is a rejection."""
    clock = FakeClock()
    breaker = _breaker(clock)
    await _open(breaker)
    with pytest.raises(CircuitOpenError) as first:
        await breaker.acquire()
    assert first.value.retry_in == 30.0
    clock.now += 12.0
    with pytest.raises(CircuitOpenError) as second:
        await breaker.acquire()
    assert second.value.retry_in == 18.0
    assert breaker.rejections == 2
    assert breaker.state is OPEN
    assert breaker.probes == 0


async def test_after_the_timeout_the_next_acquire_is_the_probe() -> None:
    """At exactly recovery_timeout the breaker goes HALF_OPEN and hands out the probe."""
    clock = FakeClock()
    breaker = _breaker(clock)
    await _open(breaker)
    clock.now += 30.0
    permit = await breaker.acquire()
    assert permit.is_probe
    assert breaker.state is HALF_OPEN
    assert breaker.probes == 1


async def test_probe_success_closes() -> None:
    """The probe succeeds: CLOSED, failures reset."""
    clock = FakeClock()
    breaker = _breaker(clock)
    await _open(breaker)
    clock.now += 30.0
    async with breaker.permit() as probe:
        probe.success()
    assert breaker.state is CLOSED
    assert breaker.consecutive_failures == 0


async def test_probe_failure_reopens_and_restarts_the_timer() -> None:
    """The probe fails at t=1040: OPEN again, the next probe is due 30 s after that failure."""
    clock = FakeClock()
    breaker = _breaker(clock)
    await _open(breaker)
    clock.now += 40.0
    async with breaker.permit() as probe:
        probe.failure()
    assert breaker.state is OPEN
    assert breaker.opens == 2
    with pytest.raises(CircuitOpenError) as rejected:
        await breaker.acquire()
    assert rejected.value.retry_in == 30.0


async def _half_open_with_waiters(
    breaker: CircuitBreaker, clock: FakeClock, count: int
) -> list["asyncio.Task[Permit]"]:
    await _open(breaker)
    clock.now += 30.0
    tasks = [asyncio.create_task(breaker.acquire()) for _ in range(count)]
    await _settle()
    return tasks


async def test_one_probe_among_ten_concurrent_acquirers_then_all_go_after_its_success() -> None:
    """10 acquirers after the timeout: 1 probe, 9 wait; the probe succeeds and the 9 get normal permits."""
    clock = FakeClock()
    breaker = _breaker(clock)
    tasks = await _half_open_with_waiters(breaker, clock, 10)
    done = [t for t in tasks if t.done()]
    assert len(done) == 1
    probe = done[0].result()
    assert probe.is_probe
    assert breaker.probes == 1
    probe.success()
    probe.release()
    permits = await asyncio.gather(*tasks)
    assert [p.is_probe for p in permits].count(True) == 1
    assert breaker.state is CLOSED
    assert (breaker.probes, breaker.rejections) == (1, 0)


async def test_waiters_are_refused_after_the_probe_fails() -> None:
    """10 acquirers, the probe fails: the other 9 get CircuitOpenError(retry_in=30) and count as rejections."""
    clock = FakeClock()
    breaker = _breaker(clock)
    tasks = await _half_open_with_waiters(breaker, clock, 10)
    probe = next(t for t in tasks if t.done()).result()
    probe.failure()
    probe.release()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    errors = [r for r in results if isinstance(r, CircuitOpenError)]
    assert len(errors) == 9
    assert all(e.retry_in == 30.0 for e in errors)
    assert (breaker.state, breaker.probes, breaker.rejections, breaker.opens) == (OPEN, 1, 9, 2)


async def test_the_probe_gate_holds_when_the_probe_task_is_cancelled() -> None:
    """The probe's task is cancelled mid-request: exactly one waiter becomes the next probe, never two at once."""
    clock = FakeClock()
    breaker = _breaker(clock)
    await _open(breaker)
    clock.now += 30.0
    responses = {i: asyncio.Event() for i in range(10)}
    in_flight = 0
    max_in_flight = 0
    probes: list[int] = []
    normals: list[int] = []

    async def request(i: int) -> None:
        nonlocal in_flight, max_in_flight
        permit = await breaker.acquire()
        try:
            if permit.is_probe:
                probes.append(i)
                in_flight += 1
                max_in_flight = max(max_in_flight, in_flight)
                try:
                    await responses[i].wait()  # the HTTP request
                finally:
                    in_flight -= 1
                permit.success()
            else:
                normals.append(i)
        finally:
            permit.release()

    tasks = [asyncio.create_task(request(i)) for i in range(10)]
    await _settle()
    assert len(probes) == 1
    first = probes[0]
    tasks[first].cancel()
    await _settle()
    assert tasks[first].cancelled()
    assert len(probes) == 2  # exactly one waiter took over
    assert breaker.state is HALF_OPEN
    assert normals == []
    responses[probes[1]].set()
    await asyncio.gather(*(t for i, t in enumerate(tasks) if i != first))
    assert max_in_flight == 1
    assert len(normals) == 8
    assert (breaker.state, breaker.probes) == (CLOSED, 2)


async def test_a_probe_released_without_outcome_passes_the_probe_on() -> None:
    """A probe answered with a 429 (not counted): state stays HALF_OPEN and the next waiter is the probe."""
    clock = FakeClock()
    breaker = _breaker(clock)
    tasks = await _half_open_with_waiters(breaker, clock, 3)
    probe = next(t for t in tasks if t.done()).result()
    probe.release()
    await _settle()
    assert breaker.state is HALF_OPEN
    done = [t.result() for t in tasks if t.done()]
    assert [p.is_probe for p in done] == [True, True]
    assert breaker.probes == 2
    done[1].success()
    done[1].release()
    assert all(not p.is_probe for p in await asyncio.gather(*(t for t in tasks if not t.done())))


async def test_a_cancelled_waiter_does_not_disturb_the_probe_gate() -> None:
    """A waiter cancelled while waiting for the probe leaves nothing behind."""
    clock = FakeClock()
    breaker = _breaker(clock)
    tasks = await _half_open_with_waiters(breaker, clock, 3)
    probe_task = next(t for t in tasks if t.done())
    waiters = [t for t in tasks if not t.done()]
    waiters[0].cancel()
    await _settle()
    probe = probe_task.result()
    probe.success()
    probe.release()
    assert not (await waiters[1]).is_probe
    assert waiters[0].cancelled()


async def test_transitions_are_reported() -> None:
    """on_transition sees CLOSED->OPEN, OPEN->HALF_OPEN, HALF_OPEN->OPEN, OPEN->HALF_OPEN, HALF_OPEN->CLOSED."""
    clock = FakeClock()
    seen: list[tuple[CircuitState, CircuitState]] = []
    breaker = _breaker(clock, on_transition=lambda old, new: seen.append((old, new)))
    await _open(breaker)
    clock.now += 30.0
    async with breaker.permit() as probe:
        probe.failure()
    clock.now += 30.0
    async with breaker.permit() as probe:
        probe.success()
    assert seen == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]


def test_only_the_four_transitions_are_allowed() -> None:
    """The state machine's edges, and nothing else."""
    assert {(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED), (HALF_OPEN, OPEN)} == ALLOWED_TRANSITIONS


@pytest.mark.parametrize(("start", "target"), [(CLOSED, HALF_OPEN), (CLOSED, CLOSED), (OPEN, CLOSED), (OPEN, OPEN)])
async def test_impossible_transitions_are_refused(start: CircuitState, target: CircuitState) -> None:
    """Any other edge raises RuntimeError and leaves the state as it was."""
    clock = FakeClock()
    breaker = _breaker(clock)
    if start is OPEN:
        await _open(breaker)
    with pytest.raises(RuntimeError, match="impossible"):
        breaker._transition(target)
    assert breaker.state is start


async def test_a_permit_settles_only_once() -> None:
    """success then failure, or an outcome after release: RuntimeError."""
    breaker = _breaker(FakeClock())
    permit = await breaker.acquire()
    permit.success()
    with pytest.raises(RuntimeError, match="already recorded"):
        permit.failure()
    permit.release()
    late = await breaker.acquire()
    late.release()
    with pytest.raises(RuntimeError, match="already released"):
        late.failure()


async def test_release_is_idempotent() -> None:
    """Releasing a probe twice frees the slot once: the second release does not free the next probe's slot."""
    clock = FakeClock()
    breaker = _breaker(clock)
    await _open(breaker)
    clock.now += 30.0
    first = await breaker.acquire()
    first.release()
    second = await breaker.acquire()
    assert second.is_probe
    first.release()
    waiter = asyncio.create_task(breaker.acquire())
    await _settle()
    assert not waiter.done()  # still waiting for the second probe
    second.success()
    second.release()
    assert not (await waiter).is_probe


async def test_a_normal_permit_without_outcome_changes_nothing() -> None:
    """Released with no outcome (a 404, a cancelled request): the failure count is untouched."""
    breaker = _breaker(FakeClock())
    await _fail(breaker, 2)
    permit = await breaker.acquire()
    permit.release()
    assert (breaker.state, breaker.consecutive_failures) == (CLOSED, 2)


async def test_late_outcomes_from_before_an_opening_are_ignored() -> None:
    """Permits issued while closed, settled after the breaker opened (and closed again), do not count."""
    clock = FakeClock()
    breaker = _breaker(clock)
    stale = [await breaker.acquire() for _ in range(3)]
    await _fail(breaker, 6)  # the threshold, plus the three in flight that could have broken the streak
    assert breaker.state is OPEN
    stale[0].failure()
    stale[1].success()
    assert (breaker.state, breaker.opens) == (OPEN, 1)
    clock.now += 30.0
    async with breaker.permit() as probe:
        probe.success()
    stale[2].failure()
    assert (breaker.state, breaker.consecutive_failures) == (CLOSED, 0)


async def test_the_permit_context_manager_releases_on_error() -> None:
    """An exception in `async with breaker.permit()` releases the probe: the next acquire is the probe."""
    clock = FakeClock()
    breaker = _breaker(clock)
    await _open(breaker)
    clock.now += 30.0
    with pytest.raises(KeyError):
        async with breaker.permit():
            raise KeyError("boom")
    assert (await breaker.acquire()).is_probe
    assert breaker.probes == 2


@pytest.mark.parametrize(
    "options",
    [
        {"failure_threshold": 0},
        {"recovery_timeout": -1.0},
        {"failure_rate": 0.0},
        {"failure_rate": 1.5},
        {"window": 10, "minimum_calls": 11},
        {"half_open_probes": 0},
    ],
)
def test_bad_configuration_is_refused(options: dict[str, float]) -> None:
    """A threshold below 1, a negative timeout, a rate outside (0, 1], minimum_calls over the window, 0 probes."""
    with pytest.raises(ValueError, match="must be"):
        CircuitBreaker(**options)  # type: ignore[arg-type]


def test_defaults() -> None:
    """5 failures, 30 s, 50 % of a window of 100 with 40 calls at least, 3 probes; CLOSED, counters at 0."""
    breaker = CircuitBreaker()
    assert (breaker.failure_threshold, breaker.recovery_timeout, breaker.state) == (5, 30.0, CLOSED)
    assert (breaker.failure_rate, breaker.window, breaker.minimum_calls, breaker.half_open_probes) == (0.5, 100, 40, 3)
    assert (breaker.opens, breaker.probes, breaker.rejections) == (0, 0, 0)


def _rated(clock: FakeClock, **overrides: float) -> CircuitBreaker:
    options: dict[str, float] = {"failure_threshold": 5, "failure_rate": 0.5, "window": 20, "minimum_calls": 10}
    options.update(overrides)
    return CircuitBreaker(recovery_timeout=30.0, clock=clock, **options)  # type: ignore[arg-type]


async def _outcomes(breaker: CircuitBreaker, pattern: str) -> None:
    """'s' a success, 'f' a failure, in order."""
    for mark in pattern:
        permit = await breaker.acquire()
        if mark == "s":
            permit.success()
        else:
            permit.failure()
        permit.release()


async def test_an_outage_on_a_healthy_server_trips_after_exactly_failure_threshold() -> None:
    """30 successes, then failures: the fifth failure in a row opens it."""
    breaker = _rated(FakeClock())
    await _outcomes(breaker, "s" * 30 + "ffff")
    assert breaker.state is CLOSED
    await _outcomes(breaker, "f")
    assert (breaker.state, breaker.opens) == (OPEN, 1)


async def test_an_outage_from_the_first_request_trips_after_failure_threshold() -> None:
    """No call recorded yet: failure_threshold failures open it."""
    breaker = _rated(FakeClock())
    await _outcomes(breaker, "fffff")
    assert breaker.state is OPEN


async def test_a_streak_of_five_on_a_server_failing_a_quarter_at_random_does_not_trip() -> None:
    """A window at 25 % failures: five (and nine) in a row are chance at that rate; ten is not."""
    breaker = _rated(FakeClock(), window=50, minimum_calls=40)
    await _outcomes(breaker, "fsss" * 10)  # 25 % of 40
    await _outcomes(breaker, "f" * 9)
    assert breaker.state is CLOSED
    assert breaker.consecutive_failures == 9
    await _outcomes(breaker, "f")
    assert breaker.state is OPEN


def test_the_streak_needed_grows_with_the_rate_shown_and_is_capped_at_twice_the_threshold() -> None:
    """log(1e-6) / log(p): 5 at 5 %, 8 at 15 %, 10 at 24 %, capped at 10 for threshold 5."""
    breaker = _rated(FakeClock(), window=100, minimum_calls=100)
    needed = {}
    for percent in (0, 5, 15, 24, 40):
        breaker._base_calls, breaker._base_failures = 100, percent
        needed[percent] = breaker._streak_to_trip()
    assert needed == {0: 5, 5: 5, 15: 8, 24: 10, 40: 10}


async def test_the_failure_rate_over_the_window_trips_once_minimum_calls_are_in() -> None:
    """Alternating failures (50 %): nothing before 10 calls; the 10th call (5 of 10 failed) opens it."""
    breaker = _rated(FakeClock())
    await _outcomes(breaker, "sfsfsfsfs")
    assert breaker.state is CLOSED
    await _outcomes(breaker, "f")
    assert (breaker.state, breaker.opens) == (OPEN, 1)


async def test_old_outcomes_leave_the_sliding_window() -> None:
    """Window 20: 6 failures long ago, 20 successes, then 9 failures: the window holds 9 of 20, below 50 %."""
    breaker = _rated(FakeClock(), failure_threshold=10)
    await _outcomes(breaker, "ssf" * 6 + "s" * 20 + "sf" * 9)
    assert (breaker.state, breaker.window_calls, breaker.window_failures) == (CLOSED, 20, 9)


async def test_a_server_answering_seventy_percent_never_opens_it() -> None:
    """1000 calls at a seeded 30 % failure rate through the default breaker: never open."""
    import random

    rng = random.Random(7)
    breaker = CircuitBreaker(clock=FakeClock())
    await _outcomes(breaker, "".join("f" if rng.random() < 0.3 else "s" for _ in range(1000)))
    assert breaker.opens == 0


async def test_half_open_admits_the_configured_probes_and_two_successes_of_three_close_it() -> None:
    """3 probes go, the 4th acquirer waits; a failure and two successes close it; the waiter then goes."""
    clock = FakeClock()
    breaker = _rated(clock, half_open_probes=3)
    await _outcomes(breaker, "fffff")
    clock.now += 30.0
    tasks = [asyncio.create_task(breaker.acquire()) for _ in range(4)]
    await _settle()
    probes = [t.result() for t in tasks[:3]]
    assert all(p.is_probe for p in probes)
    assert not tasks[3].done()
    probes[0].failure()
    probes[1].success()
    await _settle()
    assert breaker.state is HALF_OPEN
    assert not tasks[3].done()
    probes[2].success()
    assert breaker.state is CLOSED
    assert not (await tasks[3]).is_probe


async def test_two_failed_probes_of_three_reopen_it_at_once() -> None:
    """Two failures decide it (the third probe's late outcome is ignored); waiters are refused."""
    clock = FakeClock()
    breaker = _rated(clock, half_open_probes=3)
    await _outcomes(breaker, "fffff")
    clock.now += 30.0
    probes = [await breaker.acquire() for _ in range(3)]
    waiter = asyncio.create_task(breaker.acquire())
    await _settle()
    probes[0].failure()
    probes[1].failure()
    assert (breaker.state, breaker.opens) == (OPEN, 2)
    with pytest.raises(CircuitOpenError):
        await waiter
    probes[2].success()  # late: its half-open period is over
    for probe in probes:
        probe.release()
    assert breaker.state is OPEN


async def test_a_streak_waits_for_the_requests_that_were_already_in_flight() -> None:
    """Fast failures finish before slow successes: 5 failures in a row while 3 requests are in flight do not open
    it (the streak must outnumber them), and one of those succeeding breaks the streak."""
    breaker = _rated(FakeClock(), minimum_calls=20)
    older = [await breaker.acquire() for _ in range(3)]
    await _outcomes(breaker, "fffff")
    assert breaker.state is CLOSED
    older[0].success()
    assert breaker.consecutive_failures == 0
    assert breaker.state is CLOSED


async def test_in_an_outage_the_requests_in_flight_fail_too_and_the_streak_outnumbers_them() -> None:
    """2 in flight, then 5 failures: closed (5 < 5 + 2); one of the two fails: 6 >= 5 + 1, open."""
    breaker = _rated(FakeClock(), minimum_calls=20)
    older = [await breaker.acquire() for _ in range(2)]
    await _outcomes(breaker, "fffff")
    assert breaker.state is CLOSED
    older[0].failure()
    assert breaker.state is OPEN


async def test_an_older_request_given_back_without_outcome_lets_the_streak_trip() -> None:
    """The last older request is cancelled (no outcome): the streak of 5 is now due, and opens it."""
    breaker = _rated(FakeClock())
    older = await breaker.acquire()
    await _outcomes(breaker, "fffff")
    assert breaker.state is CLOSED
    older.release()
    assert breaker.state is OPEN
