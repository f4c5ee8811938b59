"""The retry decision alone: no I/O, no clock; each report gives an action with the exact delay."""

from __future__ import annotations

import random

from async_core.errors import CircuitOpenError, FatalError, RetryableError, WaitTooLongError
from async_core.http.decision import DoSleep, GiveUp, RetryDecision, RetryRules
from async_core.http.retry import Backoff, Jitter, RetryStrategy
from tests.devtools import pytest


def rules(*, max_retries: int = 3, max_wait: float = 300.0, max_delay: float = 30.0) -> RetryRules:
    backoff = Backoff(RetryStrategy.EXPONENTIAL_BACKOFF, Jitter.NONE, base_delay=1.0, max_delay=max_delay)
    return RetryRules(
        backoff=backoff, max_retries=max_retries, max_delay=max_delay, max_wait_seconds=max_wait, rng=random.Random(1)
    )


def test_retries_follow_the_backoff_then_give_up_after_max_retries() -> None:
    """1, 2, 4 s, then GiveUp; each error carries its attempt number; a success says 4 attempts and what it was."""
    decision = RetryDecision(rules(), spend=lambda: True)
    errors = [RetryableError(f"HTTP 503 #{n}") for n in range(4)]
    actions = [decision.failed(error) for error in errors]
    assert actions == [DoSleep(1.0), DoSleep(2.0), DoSleep(4.0), GiveUp()]
    assert [error.attempts for error in errors] == [1, 2, 3, 4]


def test_a_success_after_retries_says_what_it_recovered_from() -> None:
    decision = RetryDecision(rules(), spend=lambda: True)
    decision.failed(RetryableError("HTTP 503"))
    outcome = decision.succeeded()
    assert (outcome.attempts, outcome.recovered_from, outcome.retried) == (2, "RetryableError: HTTP 503", True)


def test_a_wait_hint_is_never_shortened_and_one_too_long_stops() -> None:
    """Retry-After 7 s beats the 1 s backoff; a hint past max_wait_seconds is WaitTooLongError at once."""
    decision = RetryDecision(rules(max_wait=60), spend=lambda: True)
    assert decision.failed(RetryableError("HTTP 429", status=429, wait_hint=7.0)) == DoSleep(7.0)
    with pytest.raises(WaitTooLongError, match="asked to wait 61 s"):
        decision.failed(RetryableError("HTTP 429", status=429, wait_hint=61.0))


def test_a_spent_budget_defers_the_retry_and_gives_up_past_max_wait() -> None:
    """Budget refused: the retry waits U(max_delay/2, max_delay) (deferred, from the rules' random stream), until
    its deferrals would pass max_wait_seconds: then GiveUp, marked as the budget's."""
    draws = random.Random(1)
    first, second = draws.uniform(5, 10), draws.uniform(5, 10)
    decision = RetryDecision(rules(max_delay=10, max_wait=first + second + 0.5), spend=lambda: False)
    assert decision.failed(RetryableError("HTTP 503")) == DoSleep(first, deferred=True)
    assert decision.failed(RetryableError("HTTP 503")) == DoSleep(second, deferred=True)
    assert decision.failed(RetryableError("HTTP 503")) == GiveUp(budget_spent=True)  # a third wait is >= 5 s


def test_breaker_waits_are_bounded_in_all_and_are_not_retries() -> None:
    """Open breaker: sleep its retry_in (not a retry); past max_wait_seconds of such waits: WaitTooLongError."""
    decision = RetryDecision(rules(max_wait=50), spend=lambda: True)
    assert decision.refused(CircuitOpenError(30.0)) == DoSleep(30.0, retry=False)
    assert decision.retries == 0
    with pytest.raises(WaitTooLongError, match="circuit breaker open"):
        decision.refused(CircuitOpenError(30.0))


def test_a_fatal_error_is_one_more_attempt_and_given_up() -> None:
    decision = RetryDecision(rules(), spend=lambda: True)
    decision.failed(RetryableError("reset"))
    error = FatalError("HTTP 404")
    assert decision.fatal(error) == GiveUp()
    assert error.attempts == 2
