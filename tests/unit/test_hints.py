"""Server wait hints: every header form, dates, garbage, precedence, case; pure parsing with an injected `now`."""

from datetime import UTC, datetime
from email.utils import format_datetime

from aiohttp import web

from async_core.http.hints import parse_wait_hint
from tests.devtools import pytest

NOW = 1_800_000_000.0  # epoch seconds, 2027-01-15


def _http_date(epoch: float) -> str:
    return format_datetime(datetime.fromtimestamp(epoch, UTC), usegmt=True)


def test_no_headers_no_wait() -> None:
    """Nothing asks for a wait: None."""
    assert parse_wait_hint({"Content-Type": "application/json"}, now=NOW) is None


@pytest.mark.parametrize(("value", "expected"), [("120", 120.0), ("0", 0.0), ("1.5", 1.5), (" 7 ", 7.0)])
def test_retry_after_delta_seconds(value: str, expected: float) -> None:
    """Retry-After in seconds, integer or decimal."""
    assert parse_wait_hint({"Retry-After": value}, now=NOW) == expected


def test_retry_after_http_date_in_the_future() -> None:
    """An HTTP-date 90 s from now: 90 s."""
    assert parse_wait_hint({"Retry-After": _http_date(NOW + 90)}, now=NOW) == 90.0


def test_retry_after_http_date_in_the_past_is_zero() -> None:
    """A date already passed: wait 0, not a negative time."""
    assert parse_wait_hint({"Retry-After": _http_date(NOW - 3600)}, now=NOW) == 0.0


def test_retry_after_http_date_without_zone_is_gmt() -> None:
    """ "-0000" parses as a naive datetime; it is read as GMT."""
    value = _http_date(NOW + 30).replace("GMT", "-0000")
    assert parse_wait_hint({"Retry-After": value}, now=NOW) == 30.0


@pytest.mark.parametrize("value", ["soon", "", "-5", "1e3", "inf", "nan", "Wed, 99 Oct 2026 07:28:00 GMT"])
def test_garbage_retry_after_is_ignored(value: str) -> None:
    """An unparsable Retry-After is as if absent."""
    assert parse_wait_hint({"Retry-After": value}, now=NOW) is None


def test_garbage_retry_after_falls_through_to_the_next_header() -> None:
    """Ignored means the rate-limit headers still count."""
    headers = {"Retry-After": "soon", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "8"}
    assert parse_wait_hint(headers, now=NOW) == 8.0


def test_ratelimit_structured_field_exhausted() -> None:
    """RateLimit: "default";r=0;t=10 waits 10 s."""
    assert parse_wait_hint({"RateLimit": '"default";r=0;t=10'}, now=NOW) == 10.0


def test_ratelimit_structured_field_with_quota_left_is_no_wait() -> None:
    """r > 0: the request may go."""
    assert parse_wait_hint({"RateLimit": '"default";r=5;t=10'}, now=NOW) is None


def test_ratelimit_several_policies_wait_for_the_longest_exhausted() -> None:
    """Two exhausted policies: both must reset, so the longer reset; a policy with quota left does not count."""
    value = '"burst";r=0;t=5, "daily";r=0;t=40, "hourly";r=9;t=900'
    assert parse_wait_hint({"RateLimit": value}, now=NOW) == 40.0


def test_ratelimit_older_dictionary_form() -> None:
    """RateLimit: limit=100, remaining=0, reset=12 (an older draft) waits 12 s."""
    assert parse_wait_hint({"RateLimit": "limit=100, remaining=0, reset=12"}, now=NOW) == 12.0


def test_ratelimit_garbage_is_ignored() -> None:
    """An unparsable RateLimit is as if absent."""
    assert parse_wait_hint({"RateLimit": '"default";r=zero;t=later'}, now=NOW) is None


def test_ratelimit_older_separate_fields() -> None:
    """RateLimit-Remaining: 0 with RateLimit-Reset: 10 waits 10 s."""
    assert parse_wait_hint({"RateLimit-Remaining": "0", "RateLimit-Reset": "10"}, now=NOW) == 10.0


def test_x_ratelimit_delta_reset() -> None:
    """X-RateLimit-Remaining: 0 with a delta-seconds reset."""
    assert parse_wait_hint({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "25"}, now=NOW) == 25.0


def test_x_ratelimit_epoch_reset() -> None:
    """A reset above 10^9 is an epoch timestamp: the wait is reset - now."""
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 42)}
    assert parse_wait_hint(headers, now=NOW) == 42.0


def test_x_ratelimit_epoch_reset_in_the_past_is_zero() -> None:
    """An epoch reset already passed: 0."""
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) - 42)}
    assert parse_wait_hint(headers, now=NOW) == 0.0


def test_x_ratelimit_with_quota_left_is_no_wait() -> None:
    """Remaining > 0: no wait, whatever the reset says."""
    assert parse_wait_hint({"X-RateLimit-Remaining": "3", "X-RateLimit-Reset": "25"}, now=NOW) is None


def test_x_ratelimit_exhausted_without_reset_is_no_hint() -> None:
    """Remaining 0 but no usable reset: no wait can be derived."""
    assert parse_wait_hint({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "tomorrow"}, now=NOW) is None
    assert parse_wait_hint({"X-RateLimit-Remaining": "0"}, now=NOW) is None


def test_retry_after_takes_precedence() -> None:
    """Retry-After wins over RateLimit and X-RateLimit."""
    headers = {
        "Retry-After": "3",
        "RateLimit": '"default";r=0;t=10',
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "20",
    }
    assert parse_wait_hint(headers, now=NOW) == 3.0


def test_ratelimit_takes_precedence_over_x_ratelimit() -> None:
    """The IETF field wins over the X- headers."""
    headers = {"RateLimit": '"default";r=0;t=10', "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "20"}
    assert parse_wait_hint(headers, now=NOW) == 10.0


def test_header_names_are_case_insensitive_in_a_plain_dict() -> None:
    """retry-after, RETRY-AFTER, x-ratelimit-remaining: all found."""
    assert parse_wait_hint({"retry-after": "4"}, now=NOW) == 4.0
    assert parse_wait_hint({"RETRY-AFTER": "4"}, now=NOW) == 4.0
    assert parse_wait_hint({"x-ratelimit-remaining": "0", "X-RATELIMIT-RESET": "6"}, now=NOW) == 6.0


def test_aiohttp_headers_work() -> None:
    """aiohttp's case-insensitive CIMultiDict is read the same way (multidict is not imported: pipreqs)."""
    headers = web.Response(headers={"rEtRy-AfTeR": "9"}).headers
    assert type(headers).__name__ == "CIMultiDict"
    assert parse_wait_hint(headers, now=NOW) == 9.0


def test_never_negative() -> None:
    """Every form yields a wait of at least 0."""
    for headers in (
        {"Retry-After": _http_date(NOW - 10)},
        {"X-RateLimit-Remaining": "-1", "X-RateLimit-Reset": str(int(NOW) - 10)},
        {"RateLimit": f'"default";r=0;t={int(NOW) - 10}'},
    ):
        hint = parse_wait_hint(headers, now=NOW)
        assert hint is not None
        assert hint >= 0.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"RateLimit": '"default";r=7;t=3'}, (7.0, 3.0)),
        ({"RateLimit": '"hour";r=50;t=600, "second";r=2;t=1'}, (2.0, 1.0)),
        ({"RateLimit-Remaining": "4", "RateLimit-Reset": "2"}, (4.0, 2.0)),
        ({"X-RateLimit-Remaining": "9", "X-RateLimit-Reset": str(NOW + 30)}, (9.0, 30.0)),
        ({"X-RateLimit-Remaining": "9"}, None),
        ({"Content-Type": "application/json"}, None),
    ],
)
def test_parse_quota_reads_remaining_and_reset(headers: dict[str, str], expected: tuple[float, float] | None) -> None:
    """The quota a response announces: (remaining, seconds to reset), the scarcest policy, or None."""
    from async_core.http.hints import parse_quota

    assert parse_quota(headers, now=NOW) == expected


def test_has_rate_headers_is_a_cheap_presence_test() -> None:
    """True for any header a hint or a quota is read from (case-insensitive in aiohttp's headers)."""
    from async_core.http.hints import has_rate_headers

    def headers(values: dict[str, str]) -> object:
        return web.Response(headers=values).headers  # aiohttp's case-insensitive multidict

    assert has_rate_headers(headers({"X-RateLimit-Remaining": "3"}))  # type: ignore[arg-type]
    assert has_rate_headers(headers({"retry-after": "3"}))  # type: ignore[arg-type]
    assert not has_rate_headers(headers({"Content-Type": "application/json", "X-Total-Count": "3"}))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reset", "expected"),
    [
        (str(int((NOW + 200) * 1000)), 200.0),  # epoch milliseconds (Date.now()), not 53,000 years
        (str(int(NOW + 200)), 200.0),  # epoch seconds
        ("86400", 86400.0),  # delta-seconds, however long
    ],
    ids=["epoch-ms", "epoch-s", "delta"],
)
def test_a_reset_in_epoch_milliseconds_seconds_or_a_delay_is_read_as_such(reset: str, expected: float) -> None:
    from async_core.http.hints import parse_quota

    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    assert parse_wait_hint(headers, now=NOW) == pytest.approx(expected)
    quota = parse_quota({**headers, "X-RateLimit-Remaining": "1"}, now=NOW)
    assert quota is not None
    assert quota[1] == pytest.approx(expected)
