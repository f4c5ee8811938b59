"""The shared wait gate (fake clock, recorded sleeps) and the proactive rate limiter (loop time, briefly real)."""

import asyncio
from collections.abc import Callable
from typing import Any

from async_core.http.pacing import WaitGate, make_rate_limiter
from tests.devtools import pytest


class FakeTime:
    """A clock that only moves when the recorded sleep is awaited; `on_sleep` runs before the clock moves."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[float], None] | None = None

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.on_sleep is not None:
            self.on_sleep(seconds)
        self.now += seconds


def _gate(fake: FakeTime) -> WaitGate:
    return WaitGate(clock=fake.clock, sleep=fake.sleep)


async def test_an_open_gate_does_not_sleep() -> None:
    """Never paused: wait returns 0 at once and counts nothing."""
    fake = FakeTime()
    gate = _gate(fake)
    assert await gate.wait() == 0.0
    assert (fake.sleeps, gate.waits, gate.waited_seconds) == ([], 0, 0.0)


async def test_a_pause_that_is_over_does_not_sleep() -> None:
    """pause_for(2), then 3 s pass: open again."""
    fake = FakeTime()
    gate = _gate(fake)
    gate.pause_for(2.0)
    fake.now += 3.0
    assert gate.is_open()
    assert await gate.wait() == 0.0
    assert fake.sleeps == []


async def test_pause_for_makes_a_waiter_sleep_exactly_that_long() -> None:
    """pause_for(2): one sleep of exactly 2 s, reported and counted."""
    fake = FakeTime()
    gate = _gate(fake)
    gate.pause_for(2.0)
    assert not gate.is_open()
    assert await gate.wait() == 2.0
    assert fake.sleeps == [2.0]
    assert (gate.waits, gate.waited_seconds) == (1, 2.0)


async def test_a_waiter_sleeps_only_the_rest_of_the_pause() -> None:
    """pause_for(5), 1.5 s later a request arrives: it sleeps 3.5 s."""
    fake = FakeTime()
    gate = _gate(fake)
    gate.pause_for(5.0)
    fake.now += 1.5
    assert await gate.wait() == 3.5
    assert fake.sleeps == [3.5]


async def test_pause_until_an_absolute_deadline() -> None:
    """pause_until(clock + 4) is the same as pause_for(4)."""
    fake = FakeTime()
    gate = _gate(fake)
    gate.pause_until(fake.now + 4.0)
    assert gate.reopen_at == 104.0
    assert await gate.wait() == 4.0


async def test_a_pause_extended_during_a_wait_is_honoured() -> None:
    """pause_for(2); while the waiter sleeps, another request learns of a 5 s pause: it sleeps 2, then 5."""
    fake = FakeTime()
    gate = _gate(fake)
    gate.pause_for(2.0)

    def extend_once(_: float) -> None:
        fake.on_sleep = None
        gate.pause_for(5.0)  # at t = 100: reopen at 105

    fake.on_sleep = extend_once
    assert await gate.wait() == 5.0
    assert fake.sleeps == [2.0, 3.0]
    assert fake.now == 105.0
    assert (gate.waits, gate.waited_seconds) == (1, 5.0)


async def test_a_shorter_pause_never_shortens_the_gate() -> None:
    """pause_for(10) then pause_for(3) (and a deadline in the past): still closed for 10 s."""
    fake = FakeTime()
    gate = _gate(fake)
    gate.pause_for(10.0)
    gate.pause_for(3.0)
    gate.pause_until(fake.now - 50.0)
    assert gate.reopen_at == 110.0
    assert await gate.wait() == 10.0


async def test_a_negative_pause_does_not_close_the_gate() -> None:
    """pause_for(-1) counts as 0."""
    fake = FakeTime()
    gate = _gate(fake)
    gate.pause_for(-1.0)
    assert await gate.wait() == 0.0


async def test_a_sleep_that_does_not_move_the_clock_still_ends_the_wait() -> None:
    """A test's sleep that records but does not advance time: the wait ends after the pause, no endless loop."""
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    gate = WaitGate(clock=lambda: 0.0, sleep=record)
    gate.pause_for(2.0)
    assert await gate.wait() == 2.0
    assert slept == [2.0]


async def test_concurrent_waiters_all_wait_for_the_same_reopen_time() -> None:
    """Three waiters with the real loop clock and a recorded sleep: each sleeps the pause once."""
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    gate = WaitGate(sleep=record)  # default clock: the running loop's time
    gate.pause_for(60.0)
    waited = await asyncio.gather(gate.wait(), gate.wait(), gate.wait())
    assert all(59.0 < w <= 60.0 for w in waited)
    assert len(slept) == 3
    assert gate.waits == 3


def test_no_limiter_at_zero_requests_per_second() -> None:
    """rps 0 means no proactive limit: None."""
    assert make_rate_limiter(0) is None
    assert make_rate_limiter(0.0) is None


def test_negative_rate_is_refused() -> None:
    """A negative rate is a bug: ValueError."""
    with pytest.raises(ValueError, match=">= 0"):
        make_rate_limiter(-1.0)


@pytest.mark.parametrize("rps", [0.5, 2.5, 50.0, 1000.0])
async def test_the_limiter_spaces_acquisitions_by_exactly_one_period(rps: float, monkeypatch: Any) -> None:
    """With the loop's clock frozen: the first goes at once, the next only a full 1/rps later (fractional too).

    "A full 1/rps" to within a nanosecond: the bucket drains in floating point, and a residue of one ulp would
    only make aiolimiter set one more, immediate, timer.
    """
    limiter = make_rate_limiter(rps)
    assert limiter is not None
    loop = asyncio.get_running_loop()
    now = 1000.0
    monkeypatch.setattr(loop, "time", lambda: now)
    try:
        assert limiter.has_capacity()
        for _ in range(3):
            await limiter.acquire()  # no wait: the bucket had room
            acquired_at = now
            assert not limiter.has_capacity()  # no burst
            now = acquired_at + 0.999 / rps
            assert not limiter.has_capacity()
            now = acquired_at + 1 / rps + 1e-9
            assert limiter.has_capacity()
    finally:
        monkeypatch.undo()  # the loop's own timers need the real clock back before anything sleeps


async def test_no_burst_and_the_configured_rate_in_real_time() -> None:
    """40 acquisitions at 50 rps: the first 5 take at least 4/50 s; all 40 take 39/50 s within 5 %."""
    limiter = make_rate_limiter(50.0)
    assert limiter is not None
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def acquire() -> None:
        await limiter.acquire()
        times.append(loop.time())

    await asyncio.gather(*(acquire() for _ in range(40)))
    assert times[4] - times[0] >= 4 / 50
    assert abs((times[-1] - times[0]) - 39 / 50) <= 0.05 * 39 / 50


def _pace(fake: FakeTime) -> Any:
    from async_core.http.pacing import ServerPace

    return ServerPace(clock=fake.clock, sleep=fake.sleep)


async def test_server_pace_is_off_while_the_quota_is_plentiful() -> None:
    """20 remaining with a limit of 8 (at least twice it): no sleep at all."""
    fake = FakeTime()
    pace = _pace(fake)
    pace.observe(20, 2.0, 8)
    assert [await pace.wait() for _ in range(5)] == [0.0] * 5
    assert fake.sleeps == []


async def test_server_pace_spreads_the_last_requests_of_a_quota_until_its_reset() -> None:
    """4 remaining, reset in 2 s: one request every 0.5 s, the first at once (a fake clock; no real sleep)."""
    fake = FakeTime()
    pace = _pace(fake)
    pace.observe(4, 2.0, 8)
    departures = []
    for _ in range(4):
        await pace.wait()
        departures.append(fake.now)
    assert departures == [100.0, 100.5, 101.0, 101.5]
    assert pace.interval == 0.5


async def test_server_pace_follows_each_announcement_and_leaves_a_spent_quota_to_the_gate() -> None:
    """A new announcement changes the interval; remaining 0 turns pacing off (the gate holds until the reset)."""
    fake = FakeTime()
    pace = _pace(fake)
    pace.observe(2, 1.0, 8)
    assert pace.interval == 0.5
    pace.observe(0, 1.0, 8)
    assert pace.interval == 0.0


async def test_a_pause_longer_than_max_wait_raises_instead_of_sleeping() -> None:
    """A pause of 50 s with max_wait 10: WaitTooLongError naming the wait, no sleep; within 10 s it sleeps."""
    from async_core.errors import WaitTooLongError

    fake = FakeTime()
    gate = _gate(fake)
    gate.pause_for(50)
    with pytest.raises(WaitTooLongError, match=r"50 s, more than max_wait_seconds \(10 s\)"):
        await gate.wait(10)
    assert fake.sleeps == []
    assert await gate.wait(60) == 50.0


async def test_a_pause_extended_past_max_wait_raises_at_the_extension() -> None:
    """Each pause within the bound, but extended while it is slept: the total would pass it, so it raises."""
    from async_core.errors import WaitTooLongError

    fake = FakeTime()
    gate = _gate(fake)
    gate.pause_for(8)
    fake.on_sleep = lambda seconds: gate.pause_for(seconds + 8)
    with pytest.raises(WaitTooLongError):
        await gate.wait(10)
    assert fake.sleeps == [8.0]


async def test_a_server_pace_beyond_max_wait_raises_and_reserves_nothing() -> None:
    """One request left until a reset a day away: the next departure is a day off; with max_wait 5 the wait
    raises naming the quota, and leaves the pace as it was (a later request is refused the same way)."""
    from async_core.errors import WaitTooLongError
    from async_core.http.pacing import ServerPace

    fake = FakeTime()
    pace = ServerPace(clock=fake.clock, sleep=fake.sleep)
    pace.observe(1, 86400, concurrency=4)
    assert await pace.wait(5) == 0.0  # the one request left goes at once
    for _ in range(2):
        with pytest.raises(WaitTooLongError, match=r"1 requests left until it resets in 86400 s"):
            await pace.wait(5)
    assert fake.sleeps == []
