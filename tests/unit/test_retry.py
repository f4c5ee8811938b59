"""Backoff schedules, jitter bounds, the server's hint, and the retry budget: pure functions, no sleeping."""

import random

from async_core.http.retry import Backoff, Jitter, RetryBudget, RetryStrategy, base_backoff, server_delay
from tests.devtools import pytest


def _schedule(strategy: RetryStrategy, retries: int = 7, *, base: float = 1.0, cap: float = 30.0) -> list[float]:
    return [base_backoff(strategy, n, base_delay=base, max_delay=cap) for n in range(retries)]


def test_exponential_schedule_doubles_up_to_the_cap() -> None:
    """Base 1, max 30: 1, 2, 4, 8, 16, 30, 30."""
    assert _schedule(RetryStrategy.EXPONENTIAL_BACKOFF) == [1, 2, 4, 8, 16, 30, 30]


def test_fixed_schedule_is_constant() -> None:
    """Base 1.5: 1.5 every time."""
    assert _schedule(RetryStrategy.FIXED_INTERVAL, 4, base=1.5) == [1.5, 1.5, 1.5, 1.5]


def test_linear_schedule_grows_by_base_up_to_the_cap() -> None:
    """Base 2, max 7: 2, 4, 6, 7, 7."""
    assert _schedule(RetryStrategy.LINEAR_BACKOFF, 5, base=2.0, cap=7.0) == [2, 4, 6, 7, 7]


def test_fixed_interval_is_capped_too() -> None:
    """A base above the cap gives the cap."""
    assert base_backoff(RetryStrategy.FIXED_INTERVAL, 0, base_delay=5.0, max_delay=3.0) == 3.0


def test_huge_retry_numbers_stay_at_the_cap() -> None:
    """No overflow far down the schedule."""
    assert base_backoff(RetryStrategy.EXPONENTIAL_BACKOFF, 10_000, base_delay=1.0, max_delay=30.0) == 30.0


def test_zero_base_delay_gives_zero() -> None:
    """base_delay 0 (used by fast tests) means no wait at all."""
    assert _schedule(RetryStrategy.EXPONENTIAL_BACKOFF, 3, base=0.0, cap=0.0) == [0, 0, 0]


def test_strategy_accepts_its_string_value() -> None:
    """The enums are str enums: "linear_backoff" works like the member."""
    assert base_backoff("linear_backoff", 2, base_delay=1.0, max_delay=30.0) == 3.0  # type: ignore[arg-type]


@pytest.mark.parametrize(("retry_number", "base", "cap"), [(-1, 1.0, 30.0), (0, -1.0, 30.0), (0, 1.0, -1.0)])
def test_negative_inputs_are_refused(retry_number: int, base: float, cap: float) -> None:
    """A negative retry number or delay is a bug: ValueError."""
    with pytest.raises(ValueError, match=">= 0"):
        base_backoff(RetryStrategy.FIXED_INTERVAL, retry_number, base_delay=base, max_delay=cap)


@pytest.mark.parametrize("strategy", list(RetryStrategy))
def test_no_jitter_is_the_base_schedule_exactly(strategy: RetryStrategy) -> None:
    """Jitter.NONE returns base_backoff unchanged."""
    backoff = Backoff(strategy, Jitter.NONE, base_delay=1.0, max_delay=30.0, rng=random.Random(1))
    assert [backoff.delay(n) for n in range(7)] == _schedule(strategy)


def test_full_jitter_lies_between_zero_and_the_base_delay() -> None:
    """FULL: uniform(0, d), and it does vary."""
    backoff = Backoff(
        RetryStrategy.EXPONENTIAL_BACKOFF, Jitter.FULL, base_delay=1.0, max_delay=30.0, rng=random.Random(7)
    )
    for n, d in enumerate(_schedule(RetryStrategy.EXPONENTIAL_BACKOFF)):
        values = [backoff.delay(n) for _ in range(200)]
        assert all(0.0 <= v <= d for v in values)
        assert max(values) - min(values) > d / 2


def test_equal_jitter_lies_between_half_and_the_whole_base_delay() -> None:
    """EQUAL: d/2 + uniform(0, d/2)."""
    backoff = Backoff(RetryStrategy.LINEAR_BACKOFF, Jitter.EQUAL, base_delay=1.0, max_delay=30.0, rng=random.Random(7))
    for n, d in enumerate(_schedule(RetryStrategy.LINEAR_BACKOFF)):
        values = [backoff.delay(n) for _ in range(200)]
        assert all(d / 2 <= v <= d for v in values)
        assert max(values) - min(values) > d / 4


def test_decorrelated_jitter_lies_between_base_and_three_times_the_previous() -> None:
    """DECORRELATED: uniform(base, 3 · previous), capped at max; each delay feeds the next."""
    rng = random.Random(11)
    backoff = Backoff(RetryStrategy.EXPONENTIAL_BACKOFF, Jitter.DECORRELATED, base_delay=1.0, max_delay=30.0, rng=rng)
    previous: float | None = None
    for n in range(200):
        value = backoff.delay(n, previous)
        high = min(30.0, 3 * (1.0 if previous is None else previous))
        assert 1.0 <= value <= high
        previous = value


def test_decorrelated_jitter_starts_from_the_base_delay() -> None:
    """Without a previous delay, the first one lies in [base, 3 · base]."""
    backoff = Backoff(
        RetryStrategy.FIXED_INTERVAL, Jitter.DECORRELATED, base_delay=2.0, max_delay=30.0, rng=random.Random(3)
    )
    assert all(2.0 <= backoff.delay(0) <= 6.0 for _ in range(100))


def test_decorrelated_jitter_is_capped() -> None:
    """A previous delay far above the cap still gives at most max_delay."""
    backoff = Backoff(
        RetryStrategy.FIXED_INTERVAL, Jitter.DECORRELATED, base_delay=1.0, max_delay=5.0, rng=random.Random(3)
    )
    assert all(1.0 <= backoff.delay(3, 100.0) <= 5.0 for _ in range(100))


def test_a_seeded_rng_gives_a_reproducible_schedule() -> None:
    """Same seed, same delays."""

    def delays(seed: int) -> list[float]:
        backoff = Backoff(
            RetryStrategy.EXPONENTIAL_BACKOFF, Jitter.FULL, base_delay=1.0, max_delay=30.0, rng=random.Random(seed)
        )
        return [backoff.delay(n) for n in range(7)]

    assert delays(5) == delays(5)
    assert delays(5) != delays(6)


def test_backoff_refuses_negative_delays() -> None:
    """Negative configuration is a ValueError at construction."""
    with pytest.raises(ValueError, match=">= 0"):
        Backoff(RetryStrategy.FIXED_INTERVAL, Jitter.NONE, base_delay=-1.0, max_delay=1.0)


@pytest.mark.parametrize(
    ("backoff_delay", "hint", "expected"),
    [(3.0, None, 3.0), (3.0, 10.0, 10.0), (12.0, 10.0, 12.0), (0.0, 0.0, 0.0), (2.0, -5.0, 2.0), (0.0, -5.0, 0.0)],
)
def test_server_delay_is_the_longer_of_backoff_and_hint(
    backoff_delay: float, hint: float | None, expected: float
) -> None:
    """max(hint, backoff); the backoff alone without a hint; a negative hint counts as 0."""
    assert server_delay(backoff_delay, hint) == expected


def test_server_delay_never_shortens_the_hint() -> None:
    """Whatever the jitter draws, the delay is at least the server's wait."""
    backoff = Backoff(
        RetryStrategy.EXPONENTIAL_BACKOFF, Jitter.FULL, base_delay=1.0, max_delay=30.0, rng=random.Random(2)
    )
    for n in range(7):
        for hint in (0.5, 4.0, 17.0, 60.0):
            assert server_delay(backoff.delay(n), hint) >= hint


def test_budget_floor_allows_ten_retries_before_any_request() -> None:
    """Floor 10, 20 %, no requests: 10 retries granted, the 11th refused."""
    budget = RetryBudget(percent=20.0, floor=10)
    assert [budget.try_spend() for _ in range(11)] == [True] * 10 + [False]
    assert (budget.requests, budget.retries, budget.refusals) == (0, 10, 1)


def test_budget_grows_with_requests() -> None:
    """After 100 requests: 10 + 20 % of 100 = 30 retries in total, then refusals."""
    budget = RetryBudget(percent=20.0, floor=10)
    for _ in range(100):
        budget.note_request()
    granted = sum(budget.try_spend() for _ in range(40))
    assert granted == 30
    assert (budget.requests, budget.retries, budget.refusals) == (100, 30, 10)


def test_budget_defaults_are_twenty_percent_and_a_floor_of_ten() -> None:
    """RetryBudget() is the gRPC-like default."""
    budget = RetryBudget()
    assert (budget.percent, budget.floor) == (20.0, 10)


def test_budget_reopens_as_requests_come_in() -> None:
    """Refused at the limit; five more requests (20 %) buy exactly one more retry."""
    budget = RetryBudget(percent=20.0, floor=0)
    assert not budget.try_spend()
    for _ in range(5):
        budget.note_request()
    assert [budget.try_spend(), budget.try_spend()] == [True, False]


def test_budget_compares_whole_percentages_exactly() -> None:
    """7 % of 100 requests is 7 retries, not 8 (0.07 · 100 is 7.000000000000001 in floating point)."""
    budget = RetryBudget(percent=7.0, floor=0)
    for _ in range(100):
        budget.note_request()
    assert sum(budget.try_spend() for _ in range(10)) == 7
