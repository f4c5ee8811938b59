"""The adaptive concurrency limit: its explicit signals driven by hand, its throughput search against servers
simulated in virtual time (tests/unit/simulated_server.py: no clock, no sleep, no network)."""

import asyncio

from async_core.http.limit import ConcurrencyLimit, LimitMode
from async_core.http.signals import Signal
from tests.devtools import pytest
from tests.unit.simulated_server import VirtualClock, capacity_latency, queue_latency, simulate

UNLIMITED = 10**9  # a server with no capacity bound: 50 ms whatever the load


def clean(n: int) -> float:
    return 0.05


def refuses_above(k: int):  # type: ignore[no-untyped-def]
    return lambda n: Signal.UNAVAILABLE if n > k else Signal.OK


async def _round(limit: ConcurrencyLimit, signal: Signal = Signal.OK, clock: VirtualClock | None = None) -> int:
    """Fill the limit, then settle every request with `signal` (10 ms later on `clock`); returns how many went."""
    tickets = [await limit.acquire() for _ in range(limit.limit)]
    if clock is not None:
        clock.now += 0.01
    for ticket in tickets:
        limit.release(ticket, signal)
    return len(tickets)


# -- fixed mode, bounds, the semaphore


async def test_fixed_mode_is_max_workers_whatever_happens() -> None:
    """fixed: the limit is the maximum from the start and no signal moves it."""
    limit = ConcurrencyLimit(maximum=16, mode=LimitMode.FIXED)
    assert limit.limit == 16
    for signal in (Signal.THROTTLED, Signal.TIMEOUT, Signal.OK):
        await _round(limit, signal)
    assert limit.limit == 16


def test_fixed_mode_is_max_workers_against_a_server_past_its_knee() -> None:
    """fixed 256 against a capacity of 32: it stays at 256 (and the server is slow for it)."""
    run = simulate(capacity_latency(32), mode=LimitMode.FIXED, requests=2_000)
    assert {limit for _, limit in run.path} == {256}


def test_initial_above_the_maximum_starts_at_the_maximum() -> None:
    """max_workers 3 (the default), initial 8: the limit starts at 3 and stays there (no probe below a handful)."""
    run = simulate(clean, maximum=3, initial=8, requests=3_000)
    assert run.path == [(0.0, 3)]


def test_bad_bounds_are_refused() -> None:
    """minimum above maximum, initial 0, a gain of 0 or of 1: ValueError."""
    for options in (
        {"maximum": 2, "minimum": 3},
        {"maximum": 2, "initial": 0},
        {"maximum": 2, "min_gain": 0},
        {"maximum": 2, "min_gain": 1},
    ):
        with pytest.raises(ValueError, match="must be|expected"):
            ConcurrencyLimit(**options)  # type: ignore[arg-type]


async def test_acquire_waits_in_order_when_the_limit_is_reached() -> None:
    """Limit 2: the third and fourth acquirers wait, and go in order as slots free."""
    limit = ConcurrencyLimit(maximum=2, mode=LimitMode.FIXED)
    first, second = await limit.acquire(), await limit.acquire()
    order: list[int] = []

    async def waiter(i: int) -> None:
        ticket = await limit.acquire()
        order.append(i)
        limit.release(ticket, Signal.NONE)

    third = asyncio.create_task(waiter(3))
    fourth = asyncio.create_task(waiter(4))
    await asyncio.sleep(0)
    assert order == []
    assert limit.in_flight == 2
    limit.release(first, Signal.NONE)
    limit.release(second, Signal.NONE)
    await asyncio.gather(third, fourth)
    assert order == [3, 4]
    assert limit.in_flight == 0


async def test_a_cancelled_waiter_leaves_no_slot_taken() -> None:
    """A waiter cancelled while waiting, and one cancelled just after being granted: in_flight returns to 0."""
    limit = ConcurrencyLimit(maximum=1, mode=LimitMode.FIXED)
    held = await limit.acquire()
    waiting = asyncio.create_task(limit.acquire())
    granted = asyncio.create_task(limit.acquire())
    await asyncio.sleep(0)
    waiting.cancel()
    await asyncio.sleep(0)
    limit.release(held, Signal.NONE)  # grants `granted`
    granted.cancel()  # before it ran
    await asyncio.gather(waiting, granted, return_exceptions=True)
    assert limit.in_flight == 0
    await limit.acquire()
    assert limit.in_flight == 1


async def test_a_waiter_cancelled_after_a_wake_up_skipped_it_leaves_nothing_behind() -> None:
    """A waiter's future is cancelled, a release pops and skips it, then its task handles the cancellation."""
    limit = ConcurrencyLimit(maximum=1, mode=LimitMode.FIXED)
    held = await limit.acquire()
    waiting = asyncio.create_task(limit.acquire())
    await asyncio.sleep(0)
    waiting.cancel()  # cancels the future it awaits; the task has not run its handler yet
    limit.release(held, Signal.NONE)  # pops the cancelled future
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert limit.in_flight == 0
    await limit.acquire()
    assert limit.in_flight == 1


# -- the explicit signals


async def test_a_window_of_throttles_halves_the_limit_once() -> None:
    """16 in flight all answered 429: 8, not 1 (requests of one window decrease once)."""
    limit = ConcurrencyLimit(maximum=16, initial=16)
    await _round(limit, Signal.THROTTLED)
    assert limit.limit == 8


@pytest.mark.parametrize("signal", [Signal.THROTTLED, Signal.UNAVAILABLE, Signal.TIMEOUT])
async def test_each_overload_signal_halves_it_and_the_next_window_halves_again(signal: Signal) -> None:
    """16 -> 8 -> 4 -> 2 -> 1 -> 1: never below the minimum."""
    limit = ConcurrencyLimit(maximum=16, initial=16)
    seen = []
    for _ in range(5):
        await _round(limit, signal)
        seen.append(limit.limit)
    assert seen == [8, 4, 2, 1, 1]


@pytest.mark.parametrize("signal", [Signal.FAILED, Signal.NONE])
async def test_a_broken_response_or_our_own_refusal_does_not_move_it(signal: Signal) -> None:
    """500s and resets say the server is broken, not loaded; a refused origin says nothing."""
    clock = VirtualClock()
    limit = ConcurrencyLimit(maximum=64, initial=8, clock=clock)
    for _ in range(10):
        await _round(limit, signal, clock)
    assert limit.limit == 8


async def test_a_spent_retry_budget_shrinks_it_by_a_tenth_once() -> None:
    """overload(): 20 -> 18, and again only after another signal has shrunk it."""
    limit = ConcurrencyLimit(maximum=64, initial=20)
    limit.overload()
    limit.overload()
    assert limit.limit == 18
    await _round(limit, Signal.THROTTLED)
    assert limit.limit == 9
    limit.overload()
    assert limit.limit == 8


def test_random_timeouts_and_503s_among_good_answers_do_not_sink_the_limit() -> None:
    """One 503 in every 12 answers (8 %, spread out) from a server with no bound: the limit still climbs to its
    ceiling of 64 and ends there."""
    signals = iter(Signal.UNAVAILABLE if i % 12 == 0 else Signal.OK for i in range(10**6))
    run = simulate(clean, maximum=64, requests=10_000, signal=lambda n: next(signals))
    assert max(limit for _, limit in run.path) == 64
    assert run.path[-1][1] >= 56


# -- the throughput search


def test_slow_start_doubles_the_limit_while_throughput_follows() -> None:
    """A server with no bound: 8, 16, 32, 64, 128, 256, each about one round trip (50 ms) apart, and 256 within
    half a second."""
    run = simulate(clean, maximum=256, requests=5_000)
    limits = [limit for _, limit in run.path]
    assert limits[:6] == [8, 16, 32, 64, 128, 256]
    assert run.path[5][0] < 0.5


def test_it_grows_only_while_the_limit_is_in_use() -> None:
    """One request at a time under a limit of 8: it never changes, however many succeed."""

    async def one_at_a_time() -> ConcurrencyLimit:
        clock = VirtualClock()
        limit = ConcurrencyLimit(maximum=64, initial=8, clock=clock)
        for _ in range(500):
            ticket = await limit.acquire()
            clock.now += 0.01
            limit.release(ticket, Signal.OK)
        return limit

    assert asyncio.run(one_at_a_time()).limit == 8


@pytest.mark.parametrize("jitter", [0.0, 0.05, 0.2])
def test_against_a_server_that_thrashes_past_its_capacity_it_finds_the_capacity(jitter: float) -> None:
    """The playground's capacity model, K = 32 (twice the latency at 40, 503 above 64), max_workers 256: the limit
    spends the second half of the sync within ±15 % of 32 and delivers at least 0.93 × fixed 32's throughput."""
    latency, signal = capacity_latency(32), refuses_above(64)
    adaptive = simulate(latency, signal=signal, jitter=jitter)
    best_fixed = simulate(latency, signal=signal, jitter=jitter, mode=LimitMode.FIXED, maximum=32)
    settled = adaptive.limits_between(adaptive.seconds / 2, adaptive.seconds)
    assert all(27 <= limit <= 37 for limit in settled), sorted(set(settled))
    assert adaptive.throughput >= 0.93 * best_fixed.throughput


def test_against_a_server_with_no_bound_it_stays_near_the_ceiling() -> None:
    """No capacity bound, max_workers 256: at least 0.9 × fixed 256 (the climb costs the rest), and the limit
    spends the second half of the sync within 10 % of 256."""
    adaptive = simulate(clean, jitter=0.1)
    fixed = simulate(clean, jitter=0.1, mode=LimitMode.FIXED)
    assert adaptive.throughput >= 0.9 * fixed.throughput
    assert min(adaptive.limits_between(adaptive.seconds / 2, adaptive.seconds)) >= 230


def test_against_a_server_that_only_queues_it_comes_down_to_the_knee() -> None:
    """A server answering at most 2,000 requests a second at 50 ms (its knee: 100 in flight), max_workers 256:
    the limit leaves the queue, ending the sync between 90 and 140, with 0.95 × fixed 256's throughput."""
    latency = queue_latency(2_000)
    adaptive = simulate(latency, jitter=0.05)
    fixed = simulate(latency, jitter=0.05, mode=LimitMode.FIXED)
    assert adaptive.throughput >= 0.95 * fixed.throughput
    assert all(90 <= limit <= 140 for limit in adaptive.limits_between(adaptive.seconds - 2, adaptive.seconds))


def test_a_server_whose_capacity_halves_is_followed_down_and_back_up() -> None:
    """Capacity 32, then 16 from 5 s: from 7 s later on the limit stays within ±25 % of 16. And 16, then 32 from
    5 s: from 7 s later on it stays within ±25 % of 32."""
    down = simulate(capacity_latency(32), requests=20_000, change_at=5.0, latency_after=capacity_latency(16))
    assert all(12 <= limit <= 20 for limit in down.limits_between(12, down.seconds - 1)), down.path
    up = simulate(capacity_latency(16), requests=20_000, change_at=5.0, latency_after=capacity_latency(32))
    assert all(24 <= limit <= 40 for limit in up.limits_between(12, up.seconds - 1)), up.path


async def test_on_change_sees_each_change() -> None:
    """The hook gets the start and every change of the limit."""
    seen: list[float] = []
    clock = VirtualClock()
    limit = ConcurrencyLimit(maximum=8, initial=2, on_change=seen.append, clock=clock)
    await _round(limit, Signal.THROTTLED)
    assert seen == [2, 1]


async def test_a_waiter_cancelled_after_its_grant_still_completes_its_cohort() -> None:
    """A waiter is granted a slot and cancelled before it runs: its cohort must count it as done, or it would wait
    for it forever (and two such cohorts would stop every measurement). White-box: no cohort is left waiting."""
    clock = VirtualClock()
    limit = ConcurrencyLimit(maximum=8, initial=8, clock=clock)
    await _round(limit, clock=clock)  # slow start ends at the ceiling: holding, measuring cohorts of 8
    tickets = [await limit.acquire() for _ in range(8)]
    waiter = asyncio.create_task(limit.acquire())
    await asyncio.sleep(0)
    clock.now += 0.01
    limit.release(tickets.pop(), Signal.OK)  # grants the waiter
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    for ticket in tickets:
        limit.release(ticket, Signal.OK)
    assert limit.in_flight == 0
    meter = limit._meter
    assert not meter._closed, [(cohort.granted, cohort.done) for cohort in meter._closed]
    assert meter._forming is None or meter._forming.done == meter._forming.granted
