"""The concurrency limit of one host: how many requests may be in flight at once, adapted to what the server takes.

It replaces a fixed `asyncio.Semaphore(max_workers)`: `max_workers` becomes the ceiling, and in `adaptive` mode the
limit moves between 1 and that ceiling. Two kinds of signal move it:

The server's explicit signals (http/signals.py), as TCP treats a loss:
    THROTTLED (429, 503 with a wait hint)   limit × 0.5: the server said so; then one request is taken back per
                                            good answer, up to the limit it throttled (TCP's slow start after a
                                            loss): random 429s do not sink the limit for good
    TIMEOUT, UNAVAILABLE (503 without a     limit × 0.5, but only while they are more than OVERLOAD_SHARE (25 %)
    hint, 502, 504)                         of the last ~32 outcomes (an average of weight 1/32): a few at random
                                            say the server is flaky, not overloaded, and halving on each would
                                            sink the limit to ~2 on a server failing 10 % at random; what follows
                                            is measured, not taken back
    the retry budget running out            limit × 0.9 (`overload`), once until another signal shrinks it
A request that started before the last decrease cannot decrease again: a burst of 429s from one window of requests
halves the limit once, not down to 1.

Throughput, measured: the limit is worth raising only while more requests in flight bring more answers per second.
Past a server's knee every extra request only waits in a queue (latency rises, throughput does not), and on a
server that thrashes it slows all the others (throughput falls). So the limit climbs a hill, measuring each step
(http/throughput.py: cohorts of one limit's worth of grants, answers per second by Little's law once the last of a
cohort is back; the cohort right after a change is skipped, it measures the change; a cohort that waited out a
429's pause is dropped):

    slow start   from `initial`, the limit doubles on each burst (its new slots, measured at once) whose latency
                 is within SLOW_START_FLAT (1.5) × the fastest seen: no queue yet, so more requests can only bring
                 more answers (TCP's HyStart watches the same). When two cohorts in a row are slower than that, a
                 queue has begun: from then on each doubling is measured (two cohorts of a quarter limit, after its
                 burst) and kept while it brings SLOW_START_GAIN (10 %) more throughput; one that loses CLEAR_LOSS
                 (10 %) goes back, one in between stays, and slow start ends
    hold         at least HOLD_WINDOWS (3) cohorts at the limit; the best of the last three is the reference, and
                 their spread (best minus worst, over best) the noise. After each probe that finds nothing the hold
                 doubles, up to MAX_HOLD_WINDOWS (32) limits' worth of requests; a cohort CLEAR_LOSS below the
                 reference (the server changed) brings the next probe back soon, downwards first
    probe        one step away from the limit, up and down in turn, for PROBE_WINDOWS (2) cohorts (one if it
                 loses CLEAR_LOSS); the step starts at FIRST_STEP (12.5 %) of the limit, at least one request,
                 doubles after a probe that is kept (up to 50 %) and halves after one that is not. A kept probe is
                 followed at once by another the same way; else the limit goes back
                     up    kept if it beats the reference by `min_gain` (3 %) and by the noise, whichever is more:
                           more requests that pay for themselves, beyond the noise of the measurement
                     down  kept if it loses nothing against the reference: as many answers with fewer requests (the
                           rest only queued, or crowded a thrashing server). Not below SMALLEST_PROBED_DOWN (4):
                           a step down from a handful is a third of it

Why not a latency threshold (TCP Vegas, Netflix's Gradient2) or AIMD's saw-tooth: latency is not the cost. On two
cores a clean server's latency triples from 16 to 256 requests in flight while its throughput still grows by half,
so a latency threshold stops far too early (measured: 580 against 1,510 answers per second at 256 workers); and
past a thrashing server's knee (the embedded playground's capacity model doubles the latency at 1.25 × its
capacity) a saw-tooth that probes 10 % over the knee on every cycle loses a fifth of the throughput (measured: AIMD
settled at 35 to 39 against a capacity of 32, 0.82 × the best fixed setting). Throughput is what a sync wants;
probing for it costs one step away from a measured limit, ever more rarely while the steps find nothing.

What it gives up: on a server that only queues, a step down that loses nothing is kept, so the limit comes down to
near the knee; but a step is judged on two cohorts, so a server whose throughput swings by more than the steps'
effect (a noisy shared machine) keeps the limit where slow start left it, which is the safe side.

The limit grows (in slow start or by a probe) only while it is in use: a cohort in which the limit was never full
does not probe at all, so an idle connector does not claim a limit it never tested, nor give up one it will need
when the next table fans out.

`fixed` mode is the semaphore of old: always `maximum`. The cost per request in `adaptive` mode is two readings of
the clock and a few integer and float operations; a future is allocated only when a request has to wait for a slot.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import math
import time
from collections.abc import Callable

from async_core.http.signals import OVERLOAD, Signal
from async_core.http.throughput import Measurement, ThroughputMeter

THROTTLE_BACKOFF = 0.5
BUDGET_BACKOFF = 0.9
OVERLOAD_WEIGHT = 1 / 32
OVERLOAD_SHARE = 0.25
MIN_WINDOW = 8
SLOW_START_GAIN = 0.1
SLOW_START_WINDOWS = 2
SLOW_START_FLAT = 1.5  # a burst within this multiple of the fastest latency doubles the limit unmeasured
HOLD_WINDOWS = 3
MAX_HOLD_WINDOWS = 32
PROBE_WINDOWS = 2
CLEAR_LOSS = 0.1
FIRST_STEP = 0.125
MAX_STEP = 0.5
SMALLEST_PROBED_DOWN = 4


class LimitMode(enum.StrEnum):
    """How the concurrency limit behaves."""

    ADAPTIVE = "adaptive"  # between 1 and max_workers, on the server's signals and the measured throughput
    FIXED = "fixed"  # always max_workers


class _Phase(enum.Enum):
    SLOW_START = "slow start"
    HOLD = "hold"
    PROBE = "probe"


class ConcurrencyLimit:
    """A semaphore whose size follows the server (see the module docstring).

        `ConcurrencyLimit(*, maximum, initial=8, minimum=1, mode=ADAPTIVE, min_gain=0.03, on_change=None,
        clock=time.monotonic)`: the limit starts at min(initial, maximum) (at `maximum` in FIXED mode) and stays in
        [minimum, maximum]; `on_change(limit)` is called with the new limit each time it changes.

            ticket = await limit.acquire()         # waits while `in_flight` >= the limit
            ... the request ...
            limit.release(ticket, signal)          # always, in a finally (Signal.NONE when it says nothing)

    A ticket is the time the slot was granted: it tells how long the slot was held, and whether the request
    started before the limit last decreased.

    Single event loop only.
    """

    __slots__ = (
        "_blind",
        "_budget_mark",
        "_decreased_at",
        "_decreases",
        "_fastest",
        "_gain",
        "_hold_for",
        "_in_flight",
        "_limit",
        "_measured",
        "_meter",
        "_on_change",
        "_overload_share",
        "_phase",
        "_probe_from",
        "_probe_up",
        "_recover_to",
        "_reference",
        "_slow_start_from",
        "_step",
        "_waiters",
        "maximum",
        "min_gain",
        "minimum",
        "mode",
    )

    def __init__(
        self,
        *,
        maximum: int,
        initial: int = 8,
        minimum: int = 1,
        mode: LimitMode = LimitMode.ADAPTIVE,
        min_gain: float = 0.03,
        on_change: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= minimum <= maximum:
            raise ValueError(f"expected 1 <= minimum <= maximum, got minimum={minimum}, maximum={maximum}")
        if initial < 1:
            raise ValueError(f"initial must be >= 1, got {initial}")
        if not 0 < min_gain < 1:
            raise ValueError(f"min_gain must be > 0 and < 1, got {min_gain}")
        self.maximum = maximum
        self.minimum = minimum
        self.mode = LimitMode(mode)
        self.min_gain = min_gain
        start = maximum if self.mode is LimitMode.FIXED else max(minimum, min(initial, maximum))
        self._limit = start
        self._in_flight = 0
        self._phase = _Phase.SLOW_START
        self._blind = True  # slow start doubles on the bursts' latency until a queue shows
        self._meter = ThroughputMeter(clock, size=self._window_size(start), limit=start)
        self._decreased_at = -math.inf  # when the limit last decreased: earlier tickets cannot decrease it again
        self._decreases = 0
        self._budget_mark = -1  # `_decreases` when the retry budget last shrank the limit
        self._overload_share = 0.0  # the share of TIMEOUT and UNAVAILABLE among recent outcomes (~32)
        self._fastest = 0.0  # the lowest latency of a cohort in slow start
        self._slow_start_from: tuple[int, float] | None = None  # the limit before the last doubling, its throughput
        self._measured: list[float] = []  # the throughputs of this phase's cohorts
        self._reference = 0.0  # the throughput of the held limit
        self._gain = min_gain  # the gain a probe must bring to be kept
        self._hold_for = HOLD_WINDOWS  # cohorts to hold before the next probe
        self._probe_from = start  # the held limit a probe started from
        self._probe_up = True  # the direction of the next probe
        self._recover_to = 0  # after the server asked for less: the limit to take back, a request per good answer
        self._step = FIRST_STEP
        self._waiters: collections.deque[asyncio.Future[float]] = collections.deque()
        self._on_change = on_change
        if on_change is not None:
            on_change(start)

    def __repr__(self) -> str:
        return (
            f"<ConcurrencyLimit {self.mode.value} {self._limit} in [{self.minimum}, {self.maximum}], "
            f"{self._in_flight} in flight, {len(self._waiters)} waiting, {self._phase.value}, "
            f"reference {self._reference:.0f}/s>"
        )

    @property
    def limit(self) -> int:
        """The current limit: the number of requests that may be in flight at once."""
        return self._limit

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def acquire(self) -> float:
        """Waits for a slot (FIFO); returns the ticket to hand back to `release`."""
        if self._in_flight < self._limit and not self._waiters:
            self._in_flight += 1
            return self._meter.grant(self._in_flight) if self.mode is LimitMode.ADAPTIVE else 0.0
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                # Granted, then cancelled before it ran: give the slot on, as a release that says nothing (its
                # cohort waits for every request it granted).
                self.release(future.result(), Signal.NONE)
            else:
                with contextlib.suppress(ValueError):  # already popped (and skipped) by a wake-up
                    self._waiters.remove(future)
            raise

    def release(self, ticket: float, signal: Signal, *, paused: bool = False) -> None:
        """Frees the slot and learns from the attempt's signal (and from how long it held the slot, unless it
        waited out a pause the server asked for: `paused`)."""
        in_flight = self._in_flight
        self._in_flight = in_flight - 1
        if self.mode is LimitMode.ADAPTIVE:
            good = False
            if signal is Signal.THROTTLED:
                self._throttled(ticket, asked=True)
            elif signal in OVERLOAD:  # TIMEOUT, UNAVAILABLE: overload only when they are a share, not a few
                self._overload_share += (1.0 - self._overload_share) * OVERLOAD_WEIGHT
                if self._overload_share > OVERLOAD_SHARE:
                    self._throttled(ticket)
            else:
                self._overload_share -= self._overload_share * OVERLOAD_WEIGHT
                good = signal is Signal.OK or signal is Signal.REFUSED
                if good and self._limit < self._recover_to:
                    self._recover(ticket)
            measurement = self._meter.release(ticket, in_flight, good, paused)
            if measurement is not None:
                self._measure(measurement)
        if self._waiters:
            self._wake()

    def overload(self) -> None:
        """A signal from outside an attempt (the retry budget ran out): shrink by a gentle step, at most once
        until some other signal has shrunk the limit (the budget stays spent for a while; one step is the news,
        and the failures that spent it have already been judged on their own)."""
        if self.mode is LimitMode.ADAPTIVE and self._budget_mark != self._decreases:
            self._decrease(BUDGET_BACKOFF)
            self._budget_mark = self._decreases

    # -- the explicit signals

    def _throttled(self, ticket: float, *, asked: bool = False) -> None:
        if ticket >= self._decreased_at:  # else it started before the last decrease: that window was answered
            limit = self._limit
            self._decrease(THROTTLE_BACKOFF)
            # The server asked (a 429, a 503 with a wait hint): give it half, then take back one request per
            # good answer (doubling per round trip, as TCP's slow start after a loss), up to where it asked. A
            # share of timeouts and 503s is overload instead: what follows is measured, not taken back.
            self._recover_to = limit if asked else 0

    def _decrease(self, factor: float) -> None:
        self._decreases += 1
        self._recover_to = 0
        self._hold_for = HOLD_WINDOWS
        self._step = FIRST_STEP
        self._probe_up = True  # the server asked for less; whether it takes more again is the next question
        self._decreased_at = self._meter.now()
        self._hold(max(self.minimum, int(self._limit * factor)))

    def _recover(self, ticket: float) -> None:
        if ticket >= self._decreased_at:  # an answer to a request sent at the halved limit
            limit = self._limit + 1
            if limit >= self._recover_to:
                self._recover_to = 0
            self._hold(limit)

    # -- the throughput

    def _measure(self, measurement: Measurement) -> None:
        throughput, in_use = measurement.throughput, measurement.in_use
        phase = self._phase
        if phase is _Phase.SLOW_START:
            self._slow_start(measurement)
            return
        measured = self._measured
        measured.append(throughput)
        if phase is _Phase.HOLD:
            if throughput < self._reference * (1 - CLEAR_LOSS) and self._hold_for > HOLD_WINDOWS:
                # Much less than the limit gave before: the server changed. Look again soon, below first.
                self._hold_for = HOLD_WINDOWS
                self._probe_up = False
                self._step = max(self._step, FIRST_STEP)
            # Hold for `_hold_for` limits' worth of requests: at a small limit a cohort is MIN_WINDOW requests,
            # more than one limit, so it takes fewer cohorts.
            if len(measured) >= max(HOLD_WINDOWS, self._hold_for * self._limit // self._window_size(self._limit)):
                # A probe must beat the best of the last few, by more than min_gain and by more than their
                # spread: a gain within the noise of the measurement is no gain.
                recent = measured[-HOLD_WINDOWS:]
                best = max(recent)
                self._reference = best
                self._gain = max(self.min_gain, (best - min(recent)) / best)
                self._probe(in_use)
        elif len(measured) >= PROBE_WINDOWS or throughput < self._reference * (1 - CLEAR_LOSS):
            self._judge_probe(sum(measured) / len(measured), in_use)  # (a clear loss needs no second cohort)

    def _slow_start(self, measurement: Measurement) -> None:
        if not measurement.in_use:
            return  # the requests do not fill the limit yet (a sync's first pages): nothing to learn about it
        throughput, latency = measurement.throughput, measurement.latency
        limit = self._limit
        if self._blind:
            # Each doubling is judged by its own burst, at once: while its latency stays within
            # SLOW_START_FLAT of the fastest cohort's, the server queues nothing, and more requests can only
            # bring more answers (TCP's HyStart watches the same).
            if not self._fastest or latency < self._fastest:
                self._fastest = latency
            if latency <= self._fastest * SLOW_START_FLAT:
                if limit < self.maximum:
                    self._measured = []
                    self._slow_start_from = (limit, throughput)
                    self._set(min(self.maximum, limit * 2))
                else:
                    self._hold(limit)
                return
            self._measured.append(latency)
            if len(self._measured) < SLOW_START_WINDOWS:
                return  # one slow burst may be the new connections' cost: judge the next cohort too
            # A queue has begun: from here a doubling is measured once its transition has passed (the burst's
            # requests met a server still filling up, and flatter the limit past a knee).
            self._blind = False
            self._measured = []
            self._set(limit)
            return
        measured = self._measured
        measured.append(throughput)
        if len(measured) < SLOW_START_WINDOWS:
            return
        mean = sum(measured) / len(measured)
        before = self._slow_start_from
        if before is None or mean >= before[1] * (1 + SLOW_START_GAIN):
            if limit < self.maximum:
                self._slow_start_from = (limit, mean)
                self._measured = []
                self._set(min(self.maximum, limit * 2))
            else:
                self._hold(limit)
        elif mean < before[1] * (1 - CLEAR_LOSS):
            self._hold(before[0])  # the doubling lost throughput: back to the limit that paid
        else:
            self._probe_up = False  # it paid too little: stop here, and look below first
            self._hold(limit)

    def _probe(self, in_use: bool) -> None:
        limit = self._limit
        if not in_use:
            self._measured = []  # the requests do not fill the limit: nothing to learn, keep measuring
            return
        up = limit < self.maximum if limit <= self.minimum else self._probe_up and limit < self.maximum
        if not up and limit <= max(self.minimum, SMALLEST_PROBED_DOWN):
            # A step down from a handful is a third of it, too dear to take often; a server that thrashes at
            # three requests says so with its 503s and timeouts.
            self._measured = []
            return
        step = max(1, round(limit * self._step))
        self._probe_up = up
        self._probe_from = limit
        self._phase = _Phase.PROBE
        self._measured = []
        self._set(min(self.maximum, limit + step) if up else max(self.minimum, limit - step))

    def _judge_probe(self, throughput: float, in_use: bool) -> None:
        reference = self._reference
        # Up: more requests that pay, beyond the noise. Down: as many answers with fewer requests (the rest only
        # queued, or crowded a thrashing server).
        up_paid = in_use and throughput >= reference * (1 + self._gain)
        kept = up_paid if self._probe_up else throughput >= reference
        if kept:
            self._hold_for = HOLD_WINDOWS
            self._step = min(MAX_STEP, self._step * 2)
            self._reference = throughput
            self._probe(in_use)  # the same way again, from the kept limit
            return
        self._step = max(1 / self.maximum, self._step / 2)
        self._hold_for = min(MAX_HOLD_WINDOWS, self._hold_for * 2)  # probe less often where probes find nothing
        self._probe_up = not self._probe_up
        self._hold(self._probe_from)

    def _hold(self, limit: int) -> None:
        self._phase = _Phase.HOLD
        self._measured = []
        self._set(limit)

    def _window_size(self, limit: int) -> int:
        """Grants per cohort: one round trip's worth (a quarter in slow start, to climb fast), and at least
        MIN_WINDOW."""
        if self._phase is _Phase.SLOW_START:
            return max(MIN_WINDOW, limit // 2 if self._blind else limit // 4)
        return max(MIN_WINDOW, limit)

    def _set(self, limit: int) -> None:
        # What follows measures the new limit, once the change has passed: the first cohort, not measured, is
        # the burst of new slots after a rise in slow start (so that the climb waits no longer than that), and a
        # whole cohort otherwise.
        size = self._window_size(limit)
        if self._phase is _Phase.SLOW_START and self._blind:
            skip = 0  # the burst is the measurement
        elif self._phase is _Phase.SLOW_START:
            skip = max(limit - self._limit, size)  # the burst of new slots, at least a cohort
        else:
            skip = size
        self._meter.restart(size, limit, skip_size=skip)
        if limit != self._limit:
            self._limit = limit
            if self._on_change is not None:
                self._on_change(limit)
            if self._waiters:
                self._wake()

    def _wake(self) -> None:
        waiters = self._waiters
        adaptive = self.mode is LimitMode.ADAPTIVE
        while waiters and self._in_flight < self._limit:
            future = waiters.popleft()
            if not future.done():
                self._in_flight += 1
                future.set_result(self._meter.grant(self._in_flight) if adaptive else 0.0)
