"""Measuring what a concurrency limit delivers: answers per second, one cohort of requests at a time. Pure.

A cohort is `size` consecutive grants of a slot. It is measured when the last of its requests has been released,
so it holds slow answers and fast ones alike. (A window closed by counting answers would close on the fastest
ones and flatter a limit above a server's knee, where some requests wait much longer than others.)

Its throughput comes from Little's law: answers per second = requests in flight / seconds each held its slot,
averaged over its good answers. That holds for any pattern of arrivals, where counting answers over a span of
time would see a train of requests as a burst, and it needs no span of time at all: one clock reading at each
grant (the ticket) and one at each good answer.

A cohort one of whose requests waited out a pause the server asked for (the shared wait gate, after a 429 or a
Retry-After) measures the pause, not the limit: it is dropped. Waits the client imposes at a steady pace (the
rate limiter, the server's announced quota) stay in: they are the throughput a sync gets.

Cohorts overlap by one (the next forms while the last answers); a third waits, so a release looks at two at most.
`restart` forgets them all: the limit changed, and what follows measures the new one, from its second cohort on.
The first pays for the change itself: after a rise the new slots are granted at once (a burst the server meets
together, on new connections), after a fall the requests already in flight still crowd it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

MAX_CLOSED = 2  # cohorts fully granted and waiting for answers; while there are this many, grants go unmeasured
TICKET_STEP = 1e-9  # tickets strictly increase, so that each belongs to one cohort even within one clock tick


class Measurement(NamedTuple):
    """What one cohort delivered."""

    throughput: float  # good answers per second
    latency: float  # the seconds a good answer held its slot, on average
    in_use: bool  # the limit was full at some grant (but for one slot, the one just freed): the limit was the bound


class _Cohort:
    __slots__ = ("answers", "done", "end", "granted", "held", "in_flight", "paused", "peak", "size", "skipped", "start")

    def __init__(self, start: float, size: int, skipped: bool) -> None:
        self.start = start
        self.size = size  # grants
        self.skipped = skipped  # formed to be forgotten: the transition after a restart
        self.end = math.inf
        self.granted = 0
        self.done = 0  # released, whatever their outcome
        self.answers = 0  # good answers among them
        self.held = 0.0  # seconds the good answers held their slots
        self.in_flight = 0  # requests in flight at each good answer, summed
        self.peak = 0  # the most requests in flight at one of its grants
        self.paused = False  # one of its requests waited out a pause the server asked for


class ThroughputMeter:
    """`grant(in_flight)` returns a ticket (the grant's time); `release(ticket, in_flight, good)` returns a
    `Measurement` when the release completes a cohort, else None. `restart(size, limit)` after each change of the
    limit; `in_flight` is the count including the request granted or released."""

    __slots__ = ("_clock", "_closed", "_forming", "_last", "_limit", "_size", "_skip_size")

    def __init__(self, clock: Callable[[], float], *, size: int, limit: int) -> None:
        self._clock = clock
        self._last = -math.inf
        self._closed: list[_Cohort] = []
        self._forming: _Cohort | None = None
        self._size = size
        self._limit = limit
        self._skip_size = 0  # the size of the next cohort, to be skipped (0: none)

    def restart(self, size: int, limit: int, *, skip_size: int | None = None) -> None:
        """Forget every cohort; measure cohorts of `size` grants from now on, after one of `skip_size` (by
        default `size`) that is not measured."""
        self._closed.clear()
        self._forming = None
        self._size = size
        self._limit = limit
        self._skip_size = size if skip_size is None else skip_size

    def now(self) -> float:
        return self._clock()

    def grant(self, in_flight: int) -> float:
        ticket = self._clock()
        if ticket <= self._last:
            ticket = self._last + TICKET_STEP
        self._last = ticket
        cohort = self._forming
        if cohort is None:
            if len(self._closed) >= MAX_CLOSED:
                return ticket
            skip_size = self._skip_size
            self._skip_size = 0
            cohort = self._forming = _Cohort(ticket, skip_size or self._size, skip_size > 0)
        cohort.granted += 1
        if in_flight > cohort.peak:
            cohort.peak = in_flight
        if cohort.granted >= cohort.size:
            cohort.end = ticket
            self._closed.append(cohort)
            self._forming = None
        return ticket

    def release(self, ticket: float, in_flight: int, good: bool, paused: bool = False) -> Measurement | None:
        cohort = self._forming
        if cohort is None or ticket < cohort.start:
            for cohort in self._closed:
                if cohort.start <= ticket <= cohort.end:
                    break
            else:
                return None  # granted before the last restart, or while no cohort was forming
        cohort.done += 1
        if paused:
            cohort.paused = True
        if good:
            cohort.answers += 1
            cohort.held += self._clock() - ticket
            cohort.in_flight += in_flight
        if cohort.end == math.inf or cohort.done < cohort.granted:
            return None
        self._closed.remove(cohort)
        if cohort.skipped:
            return None
        if cohort.answers * 2 < cohort.granted or cohort.held <= 0 or cohort.paused:
            # Mostly errors (the limit's other signals judge those), or no time passed, or the time includes a
            # pause the server asked for (a 429's Retry-After): none of it measures this limit.
            return None
        return Measurement(cohort.in_flight / cohort.held, cohort.held / cohort.answers, cohort.peak + 1 >= self._limit)
