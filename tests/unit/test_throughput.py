"""The throughput meter: cohorts of grants, measured by Little's law when their last request is released."""

from async_core.http.throughput import Measurement, ThroughputMeter
from tests.devtools import pytest
from tests.unit.simulated_server import VirtualClock


def _meter(size: int = 4, limit: int = 4, skip: int = 0) -> tuple[ThroughputMeter, VirtualClock]:
    clock = VirtualClock(now=100.0)
    meter = ThroughputMeter(clock, size=size, limit=limit)
    meter.restart(size, limit, skip_size=skip)
    return meter, clock


def test_a_cohort_is_measured_by_littles_law_when_its_last_request_is_released() -> None:
    """4 grants at once, answered after 10, 10, 30 and 30 ms with 4, 3, 2 and 1 in flight: 10 / 0.08 s = 125 per
    second, a mean latency of 20 ms; nothing before the last answer."""
    meter, clock = _meter()
    tickets = [meter.grant(in_flight) for in_flight in (1, 2, 3, 4)]
    clock.now += 0.010
    assert meter.release(tickets[0], 4, True) is None
    assert meter.release(tickets[1], 3, True) is None
    clock.now += 0.020
    assert meter.release(tickets[2], 2, True) is None
    measurement = meter.release(tickets[3], 1, True)
    assert measurement is not None
    assert measurement.throughput == pytest.approx(10 / 0.08)
    assert measurement.latency == pytest.approx(0.02)
    assert measurement.in_use


def test_fast_answers_do_not_close_a_cohort_without_its_slow_ones() -> None:
    """Three fast answers and a slow one still out: no measurement until the slow one is back, and then its 1 s
    weighs in (a window closed on the first answers would have seen only the fast ones)."""
    meter, clock = _meter()
    tickets = [meter.grant(4) for _ in range(4)]
    clock.now += 0.01
    assert all(meter.release(ticket, 4, True) is None for ticket in tickets[:3])
    clock.now += 0.99
    measurement = meter.release(tickets[3], 4, True)
    assert measurement is not None
    assert measurement.latency == pytest.approx((3 * 0.01 + 1.0) / 4)


def test_the_first_cohort_after_a_restart_is_skipped() -> None:
    """restart() (skipping a cohort of 4): the first cohort is not measured, the second is."""
    meter, clock = _meter(skip=4)
    results: list[Measurement | None] = []
    for _ in range(2):
        tickets = [meter.grant(4) for _ in range(4)]
        clock.now += 0.01
        results.extend(meter.release(ticket, 4, True) for ticket in tickets)
    measured = [result for result in results if result is not None]
    assert len(measured) == 1
    assert results[-1] is measured[0]


def test_requests_granted_before_a_restart_do_not_count() -> None:
    """A request granted before restart() is released after it: ignored, and the new cohort is measured alone."""
    meter, clock = _meter()
    old = meter.grant(1)
    meter.restart(4, 4, skip_size=0)
    tickets = [meter.grant(4) for _ in range(4)]
    clock.now += 0.01
    assert meter.release(old, 5, True) is None
    results = [meter.release(ticket, 4, True) for ticket in tickets]
    assert results[-1] is not None
    assert results[-1].throughput == pytest.approx(4 / 0.01)


def test_tickets_strictly_increase_when_the_clock_stands_still() -> None:
    """Eight grants in one clock tick: eight different tickets, in order, so each belongs to one cohort."""
    meter, _ = _meter()
    tickets = [meter.grant(1) for _ in range(8)]
    assert tickets == sorted(set(tickets))


def test_a_cohort_of_mostly_errors_measures_nothing() -> None:
    """3 of 4 requests failed: no measurement (the limit's other signals judge failures)."""
    meter, clock = _meter()
    tickets = [meter.grant(4) for _ in range(4)]
    clock.now += 0.01
    outcomes = (True, False, False, False)
    results = [meter.release(ticket, 4, good) for ticket, good in zip(tickets, outcomes, strict=True)]
    assert results == [None] * 4


def test_a_limit_that_was_never_full_is_not_in_use() -> None:
    """Limit 8, never more than 5 in flight at a grant: in_use is False; 7 of 8 (one just freed) counts as full."""
    for peak, in_use in ((5, False), (7, True)):
        meter, clock = _meter(size=4, limit=8)
        tickets = [meter.grant(in_flight) for in_flight in (1, 2, 3, peak)]
        clock.now += 0.01
        results = [meter.release(ticket, 4, True) for ticket in tickets]
        assert results[-1] is not None
        assert results[-1].in_use is in_use


def test_the_skipped_cohort_may_have_its_own_size() -> None:
    """restart(size 2, skip_size 6): the burst of 6 grants is skipped, then cohorts of 2 are measured."""
    meter, clock = _meter(size=2, limit=8)
    meter.restart(2, 8, skip_size=6)
    burst = [meter.grant(8) for _ in range(6)]
    cohort = [meter.grant(8) for _ in range(2)]
    clock.now += 0.01
    assert all(meter.release(ticket, 8, True) is None for ticket in burst)
    assert meter.release(cohort[0], 8, True) is None
    assert meter.release(cohort[1], 8, True) is not None
