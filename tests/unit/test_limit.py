"""The adaptive concurrency limit, driven with injected signals and latencies (no clock, no server)."""

import asyncio

from async_core.http.limit import ConcurrencyLimit, LimitMode
from async_core.http.signals import Signal
from tests.devtools import pytest

MS = 0.001


async def _round(limit: ConcurrencyLimit, signal: Signal = Signal.OK, latency: float = 10 * MS) -> int:
    """Fill the limit, then settle every request with `signal` and `latency`; returns how many went."""
    epochs = [await limit.acquire() for _ in range(int(limit.limit))]
    for epoch in epochs:
        limit.release(epoch, signal, latency)
    return len(epochs)


async def test_fixed_mode_is_max_workers_whatever_happens() -> None:
    """fixed: the limit is the maximum from the start and no signal moves it."""
    limit = ConcurrencyLimit(maximum=16, mode=LimitMode.FIXED)
    assert limit.limit == 16
    for signal in (Signal.THROTTLED, Signal.TIMEOUT, Signal.OK):
        await _round(limit, signal, latency=1.0)
    assert limit.limit == 16


async def test_adaptive_starts_at_initial_and_slow_start_doubles_it_each_round() -> None:
    """initial 4, maximum 64: 4, 8, 16, 32, 64, then stays at the ceiling."""
    limit = ConcurrencyLimit(maximum=64, initial=4)
    seen = [limit.limit]
    for _ in range(5):
        await _round(limit)
        seen.append(limit.limit)
    assert seen == [4, 8, 16, 32, 64, 64]


async def test_initial_above_the_maximum_starts_at_the_maximum() -> None:
    """max_workers 3 (the default): the limit starts, and stays, at 3 on a healthy server."""
    limit = ConcurrencyLimit(maximum=3, initial=8)
    await _round(limit)
    assert limit.limit == 3


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
    limit = ConcurrencyLimit(maximum=16, initial=8)
    await _round(limit, signal)
    assert limit.limit == 8


async def test_after_a_decrease_it_grows_by_one_per_round_trip() -> None:
    """Halved to 8: each full round of good responses adds 8 · 1/limit, about 1."""
    limit = ConcurrencyLimit(maximum=64, initial=16)
    await _round(limit, Signal.THROTTLED)
    await _round(limit)
    assert limit.limit == pytest.approx(8.96, abs=0.01)
    for _ in range(5):
        await _round(limit)
    assert 12.5 < limit.limit < 13.5


async def test_rising_latency_shrinks_it_gently() -> None:
    """A steady 10 ms, then 40 ms: the limit goes down by 10 %, not half."""
    seen: list[float] = []
    limit = ConcurrencyLimit(maximum=32, initial=32, on_change=seen.append)
    for _ in range(10):
        await _round(limit, latency=10 * MS)
    assert seen == [32]
    await _round(limit, latency=40 * MS)
    assert seen[1] == pytest.approx(28.8)


async def test_latency_jitter_under_two_ms_is_not_congestion() -> None:
    """0.5 ms then 1.5 ms (3x, but only 1 ms more): the limit stays."""
    limit = ConcurrencyLimit(maximum=32, initial=32)
    for _ in range(10):
        await _round(limit, latency=0.5 * MS)
    for _ in range(20):
        await _round(limit, latency=1.5 * MS)
    assert limit.limit == 32


async def test_it_grows_only_while_at_least_half_of_it_is_used() -> None:
    """One request at a time under a limit of 8: no growth, however many succeed."""
    limit = ConcurrencyLimit(maximum=64, initial=8)
    for _ in range(50):
        limit.release(await limit.acquire(), Signal.OK, 10 * MS)
    assert limit.limit == 8


async def test_a_capacity_bound_server_keeps_the_limit_in_a_band_around_its_capacity() -> None:
    """A simulated server of capacity 32: 10 ms up to 32 in flight, then 10 ms · (1 + (n - 32) / 8), and 503s
    above 64. From 8, with a ceiling of 256, the limit settles within ±30 % of 32 over 300 round trips."""
    limit = ConcurrencyLimit(maximum=256, initial=8)
    path = []
    for _ in range(300):
        n = int(limit.limit)
        latency = 10 * MS * (1 + max(0, n - 32) / 8)
        await _round(limit, Signal.UNAVAILABLE if n > 64 else Signal.OK, latency)
        path.append(limit.limit)
    settled = path[100:]
    assert min(settled) >= 0.7 * 32, settled
    assert max(settled) <= 1.3 * 32, settled


async def test_acquire_waits_in_order_when_the_limit_is_reached() -> None:
    """Limit 2: the third and fourth acquirers wait, and go in order as slots free."""
    limit = ConcurrencyLimit(maximum=2, mode=LimitMode.FIXED)
    first, second = await limit.acquire(), await limit.acquire()
    order: list[int] = []

    async def waiter(i: int) -> None:
        epoch = await limit.acquire()
        order.append(i)
        limit.release(epoch, Signal.NONE, 0.0)

    third = asyncio.create_task(waiter(3))
    fourth = asyncio.create_task(waiter(4))
    await asyncio.sleep(0)
    assert order == []
    assert limit.in_flight == 2
    limit.release(first, Signal.NONE, 0.0)
    limit.release(second, Signal.NONE, 0.0)
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
    limit.release(held, Signal.NONE, 0.0)  # grants `granted`
    granted.cancel()  # before it ran
    await asyncio.gather(waiting, granted, return_exceptions=True)
    assert limit.in_flight == 0
    assert await limit.acquire() == 0


async def test_on_change_sees_each_whole_step() -> None:
    """The hook gets the start and every change of the whole part of the limit."""
    seen: list[float] = []
    limit = ConcurrencyLimit(maximum=8, initial=2, on_change=seen.append)
    await _round(limit)
    await _round(limit, Signal.THROTTLED)
    assert seen == [2, 3, 4, 2]


def test_bad_bounds_are_refused() -> None:
    """minimum above maximum, initial 0, tolerance 1: ValueError."""
    for options in ({"maximum": 2, "minimum": 3}, {"maximum": 2, "initial": 0}, {"maximum": 2, "latency_tolerance": 1}):
        with pytest.raises(ValueError, match="must be|expected"):
            ConcurrencyLimit(**options)  # type: ignore[arg-type]


async def test_random_timeouts_and_503s_among_good_responses_do_not_sink_the_limit() -> None:
    """One TIMEOUT or 503 in every 12 responses (8 %, spread out): the limit still reaches its ceiling of 16."""
    limit = ConcurrencyLimit(maximum=16, initial=8)
    signals = [Signal.TIMEOUT if i % 24 == 0 else Signal.UNAVAILABLE if i % 12 == 0 else Signal.OK for i in range(600)]
    for signal in signals:
        limit.release(await limit.acquire(), signal, 10 * MS)
        if limit.limit < 16:
            await _round(limit)
    assert limit.limit == 16


async def test_a_waiter_cancelled_after_a_wake_up_skipped_it_leaves_nothing_behind() -> None:
    """A waiter's future is cancelled, a release pops and skips it, then its task handles the cancellation."""
    limit = ConcurrencyLimit(maximum=1, mode=LimitMode.FIXED)
    held = await limit.acquire()
    waiting = asyncio.create_task(limit.acquire())
    await asyncio.sleep(0)
    waiting.cancel()  # cancels the future it awaits; the task has not run its handler yet
    limit.release(held, Signal.NONE, 0.0)  # pops the cancelled future
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert limit.in_flight == 0
    assert await limit.acquire() == 0
