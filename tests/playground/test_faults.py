"""Fault profiles and the per-request decision, without a server."""

import dataclasses
import itertools
from collections import Counter

from async_core.playground import PROFILES, RANDOM_FAULTS, FaultDecider, FaultProfile, choose_fault, profile
from tests.devtools import pytest


def test_named_profiles() -> None:
    assert set(PROFILES) == {"none", "flaky"}
    assert profile("none") == FaultProfile()
    assert profile("none").total_rate == 0
    flaky = profile("flaky")
    assert 0.08 <= flaky.total_rate <= 0.10
    assert all(rate > 0 for rate in flaky.rates().values())
    assert (flaky.retry_after_seconds, flaky.stall_seconds, flaky.stall) == (1, 60.0, 0.005)


def test_an_unknown_profile_names_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match="unknown fault profile 'chaos'; expected one of none, flaky"):
        profile("chaos")


def test_variants_are_derived_with_replace_and_validated() -> None:
    variant = dataclasses.replace(profile("flaky"), server_error=0.5, latency_ms=50)
    assert (variant.server_error, variant.latency_ms, variant.reset) == (0.5, 50, 0.01)
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultProfile(reset=1.5)
    with pytest.raises(ValueError, match="add up to 1.2"):
        FaultProfile(reset=0.6, stall=0.6)
    with pytest.raises(ValueError, match="outage window"):
        FaultProfile(outages=((5.0, 5.0),))
    with pytest.raises(ValueError, match="must not be negative"):
        FaultProfile(latency_ms=-1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        variant.reset = 0.2  # type: ignore[misc]


def test_forcing_and_with_rates() -> None:
    forced = dataclasses.replace(profile("flaky"), seed=4).forcing("truncated")
    assert forced.rates() == {kind: 1.0 if kind == "truncated" else 0.0 for kind in RANDOM_FAULTS}
    assert (forced.seed, forced.stall_seconds) == (4, 60.0)
    assert FaultProfile().with_rates({"reset": 0.25}).reset == 0.25
    with pytest.raises(ValueError, match="unknown fault 'explode'"):
        FaultProfile().with_rates({"explode": 0.1})
    with pytest.raises(ValueError, match="only a drawn fault can be forced"):
        FaultProfile().forcing("outage")


def test_choose_fault_stacks_the_rates_in_order() -> None:
    fault_profile = FaultProfile(rate_limit_seconds=0.1, server_error=0.2, reset=0.1)
    assert choose_fault(fault_profile, 0.0, 0.0) == "rate_limit_seconds"
    assert choose_fault(fault_profile, 0.099, 0.0) == "rate_limit_seconds"
    assert choose_fault(fault_profile, 0.1, 0.0) == "server_error"
    assert choose_fault(fault_profile, 0.299, 0.0) == "server_error"
    assert choose_fault(fault_profile, 0.301, 0.0) == "reset"
    assert choose_fault(fault_profile, 0.401, 0.0) is None
    assert choose_fault(fault_profile, 0.999, 0.0) is None


def test_a_rate_of_one_always_applies() -> None:
    for kind in RANDOM_FAULTS:
        decider = FaultDecider(FaultProfile(seed=9, stall_seconds=2).forcing(kind))
        assert {decider.decide(0.0) for _ in range(50)} == {kind}


def test_outage_windows_win_inside_and_only_inside() -> None:
    fault_profile = FaultProfile(outages=((1.0, 2.0), (5.0, 6.5)))
    decider = FaultDecider(fault_profile)
    assert [decider.decide(t) for t in (0.0, 0.99, 1.0, 1.5, 1.99, 2.0, 4.9, 5.0, 6.49, 6.5)] == [
        None,
        None,
        "outage",
        "outage",
        "outage",
        None,
        None,
        "outage",
        "outage",
        None,
    ]
    assert choose_fault(fault_profile, 0.5, 1.5) == "outage"


def test_same_seed_same_sequence_other_seed_other_sequence() -> None:
    def sequence(seed: int) -> list[str | None]:
        decider = FaultDecider(dataclasses.replace(profile("flaky"), seed=seed))
        return [decider.decide(0.0) for _ in range(2000)]

    assert sequence(7) == sequence(7)
    assert sequence(7) != sequence(8)


def test_rates_are_honoured_and_a_retry_usually_succeeds() -> None:
    """Decisions are drawn per request, not keyed on the URL: after a fault the next draw is usually clean."""
    decider = FaultDecider(dataclasses.replace(profile("flaky"), seed=3))
    decisions = [decider.decide(0.0) for _ in range(20_000)]
    counts = Counter(decisions)
    assert 0.08 <= 1 - counts[None] / len(decisions) <= 0.10
    assert set(counts) == {None, *RANDOM_FAULTS}
    after_fault = [b for a, b in itertools.pairwise(decisions) if a is not None]
    assert sum(b is None for b in after_fault) / len(after_fault) > 0.85


def test_a_fault_free_profile_draws_nothing() -> None:
    decider = FaultDecider(FaultProfile(seed=1))
    assert [decider.decide(0.0) for _ in range(10)] == [None] * 10


def test_capacity_delay_grows_above_capacity_and_refuses_above_twice_it() -> None:
    """Capacity 32, base 20 ms: nothing up to 32, +2.5 ms per request above it (20 ms more at 40), 503 above 64."""
    from async_core.playground import capacity_delay

    bounded = FaultProfile(capacity=32)
    assert capacity_delay(bounded, 32) == 0.0
    assert capacity_delay(bounded, 40) == pytest.approx(0.020)
    assert capacity_delay(bounded, 64) == pytest.approx(0.080)
    assert capacity_delay(bounded, 65) is None
    assert capacity_delay(FaultProfile(capacity=32, latency_ms=100), 40) == pytest.approx(0.100)
    assert capacity_delay(FaultProfile(), 10_000) == 0.0
    with pytest.raises(ValueError, match="capacity"):
        FaultProfile(capacity=-1)
