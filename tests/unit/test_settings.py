"""Settings: strings in, one frozen typed object out; every bad value named in one line."""

from typing import Any

from async_core.errors import ConfigurationError
from async_core.http.limit import LimitMode
from async_core.http.policy import HttpPolicy
from async_core.http.retry import Jitter, RetryStrategy
from async_core.settings import Settings, moved_key_warnings, parse_settings, schema_selection
from async_core.source import Column, Policy, Source, TableSpec
from tests.devtools import pytest


def test_defaults_follow_the_threaded_example() -> None:
    """An empty configuration gives the threaded example's defaults and the embedded playground."""
    settings, unknown = parse_settings({})
    assert settings == Settings(tables=("users", "posts", "comments"))  # () in Settings: the source's defaults
    assert unknown == []
    assert (settings.max_workers, settings.error_threshold_per_thread, settings.total_error_threshold) == (3, 5, 15)
    assert settings.api_timeout_seconds == 30.0
    assert settings.retry_strategy is RetryStrategy.EXPONENTIAL_BACKOFF
    assert settings.max_retries == 3
    assert settings.tables == ("users", "posts", "comments")
    assert settings.uses_playground


def test_strings_become_typed_values() -> None:
    """Every value arrives as a string and is parsed to its type."""
    settings, _ = parse_settings(
        {
            "base_url": "https://jsonplaceholder.typicode.com/",
            "tables": "todos, photos,todos",
            "page_size": "0",
            "max_workers": "512",
            "enable_circuit_breaker": "FALSE",
            "retry_strategy": "linear_backoff",
            "retry_jitter": "decorrelated",
            "base_delay": "0.25",
            "requests_per_second": "2.5",
        }
    )
    assert settings.base_url == "https://jsonplaceholder.typicode.com"
    assert settings.tables == ("todos", "photos")
    assert settings.page_size == 0
    assert settings.max_workers == 512
    assert settings.enable_circuit_breaker is False
    assert settings.retry_strategy is RetryStrategy.LINEAR_BACKOFF
    assert settings.retry_jitter is Jitter.DECORRELATED
    assert settings.base_delay == 0.25
    assert settings.requests_per_second == 2.5


def test_settings_are_frozen() -> None:
    """Nobody changes the settings of a running sync."""
    settings, _ = parse_settings({})
    with pytest.raises(AttributeError):
        settings.max_workers = 4  # type: ignore[misc]


def test_unknown_keys_are_returned_for_a_warning() -> None:
    """An unknown key is not an error (older deployments); the caller warns about it."""
    _, unknown = parse_settings({"max_worker": "3", "colour": "blue"})
    assert unknown == ["colour", "max_worker"]


BAD = [
    ("max_workers", "abc", "whole number from 1 to 512"),
    ("max_workers", "0", "whole number from 1 to 512"),
    ("max_workers", "5000", "whole number from 1 to 512"),
    ("max_workers", "3.5", "whole number from 1 to 512"),
    ("retry_strategy", "sometimes", "exponential_backoff, fixed_interval, linear_backoff"),
    ("retry_jitter", "lots", "none, full, equal, decorrelated"),
    ("base_url", "ftp://x", "http(s) URL"),
    ("base_url", "http://example.com", "allow_insecure_http"),
    ("base_url", "https://api.example.com/?q=1", "without a query"),
    ("tables", " , ", "comma-separated list"),  # names nothing ("" is the default: test_policy_refusals)
    ("tables", "users,unicorns", "unknown table 'unicorns'"),
    ("page_size", "-1", "whole number from 0 to 10000"),
    ("api_timeout_seconds", "0", "greater than 0"),
    ("api_timeout_seconds", "nan", "greater than 0"),
    ("api_timeout_seconds", "inf", "greater than 0"),
    ("enable_circuit_breaker", "yes", '"true" or "false"'),
    ("failure_threshold", "0", "whole number from 1"),
    ("recovery_timeout", "-5", "greater than 0"),
    ("max_retries", "-1", "whole number from 0 to 100"),
    ("base_delay", "-0.1", "at least 0"),
    ("requests_per_second", "fast", "at least 0"),
    ("retry_budget_percent", "150", "at most 100"),
    ("total_error_threshold", "0", "whole number from 1"),
    ("playground_faults", "chaos", "none, flaky"),
]


@pytest.mark.parametrize(("key", "value", "allowed"), BAD)
def test_a_bad_value_names_key_value_and_what_is_allowed(key: str, value: str, allowed: str) -> None:
    """One line: the key, the value as given, and what would be accepted."""
    with pytest.raises(ConfigurationError) as caught:
        parse_settings({key: value})
    message = str(caught.value)
    assert caught.value.key == key
    assert repr(value) in message
    assert allowed in message
    assert "\n" not in message


def test_a_non_string_value_is_refused() -> None:
    """The SDK passes strings only; a number means the file was written by hand, wrongly."""
    with pytest.raises(ConfigurationError, match="expected a string"):
        parse_settings({"max_workers": 3})


def test_max_delay_below_base_delay_is_refused() -> None:
    """A cap below the first delay would make every strategy the same."""
    with pytest.raises(ConfigurationError, match="max_delay"):
        parse_settings({"base_delay": "5", "max_delay": "1"})


def test_an_empty_base_url_is_the_sources() -> None:
    """base_url "" takes the source's own base URL (the embedded playground for jsonplaceholder)."""
    settings, _ = parse_settings({"base_url": ""})
    assert (settings.base_url, settings.api_base_url) == ("", "playground")


def test_plain_http_is_allowed_to_loopback_and_when_asked() -> None:
    """http:// is for local servers, or when the user opts in."""
    assert parse_settings({"base_url": "http://127.0.0.1:8000"})[0].base_url == "http://127.0.0.1:8000"
    assert parse_settings({"base_url": "http://localhost:8000"})[0].base_url == "http://localhost:8000"
    opted_in, _ = parse_settings({"base_url": "http://api.internal", "allow_insecure_http": "true"})
    assert opted_in.base_url == "http://api.internal"


def test_api_key_is_not_in_the_repr() -> None:
    """Settings may be logged; a source key (the jsonplaceholder source's api_key) must not be."""
    settings, unknown = parse_settings({"api_key": "s3cr3t-token"})
    assert settings.source_values == {"api_key": "s3cr3t-token"}
    assert unknown == []
    assert "s3cr3t-token" not in repr(settings)


def test_schema_selection_never_raises() -> None:
    """schema() runs before update(); a bad value is reported by update(), not as a schema() traceback."""
    assert schema_selection({"tables": "todos,albums"})[1] == ("todos", "albums")
    assert schema_selection({"tables": "nope"})[1] == ("users", "posts", "comments")
    assert schema_selection({})[1] == ("users", "posts", "comments")
    source, tables = schema_selection({"source": "no_such_api", "tables": "users"})
    assert (source.name, tables) == ("jsonplaceholder", ("users",))


def test_the_source_is_selected_by_name() -> None:
    """`source` names a module of sources/; its tables are the ones `tables` is checked against."""
    settings, _ = parse_settings({"source": "api_playground", "base_url": "http://127.0.0.1:9"})
    assert settings.source == "api_playground"
    assert settings.catalogue.name == "api_playground"
    assert "items_offset" in settings.tables


def test_an_unknown_source_is_refused() -> None:
    """A source that is not a module of sources/ is named, with the known ones."""
    with pytest.raises(
        ConfigurationError, match="no module sources/nope.py; known: api_playground, jsonplaceholder, shop_graphql"
    ):
        parse_settings({"source": "nope"})


def test_tables_are_checked_against_the_selected_source() -> None:
    """A jsonplaceholder table is unknown to the api_playground source."""
    with pytest.raises(ConfigurationError, match="unknown table 'users'"):
        parse_settings({"source": "api_playground", "base_url": "http://127.0.0.1:9", "tables": "users"})


def test_the_new_limits_have_defaults_and_bounds() -> None:
    """max_pages_per_table defaults to 100000 and lost_page_syncs to 3; 0 is refused for both."""
    settings, _ = parse_settings({})
    assert (settings.max_pages_per_table, settings.lost_page_syncs) == (100_000, 3)
    for key in ("max_pages_per_table", "lost_page_syncs"):
        with pytest.raises(ConfigurationError, match=key):
            parse_settings({key: "0"})


@pytest.mark.parametrize(
    "base_url", ["http://svc:hunter2@127.0.0.1:8000", "https://svc:hunter2@api.example.com", "ftp://svc:hunter2@host"]
)
def test_a_base_url_with_credentials_is_refused_in_one_line_without_the_password(base_url: str) -> None:
    """User info in base_url: one line that says to use api_key, and never echoes the password."""
    with pytest.raises(ConfigurationError) as refused:
        parse_settings({"base_url": base_url})
    message = str(refused.value)
    assert "\n" not in message
    assert "hunter2" not in message
    assert "api_key" in message
    assert refused.value.key == "base_url"


# The configuration.json this connector shipped before the keys a user does not decide moved out of it.
PREVIOUS_CONFIGURATION = {
    "base_url": "playground",
    "tables": "users,posts,comments",
    "page_size": "25",
    "max_workers": "3",
    "error_threshold_per_thread": "5",
    "total_error_threshold": "15",
    "api_timeout_seconds": "5",
    "enable_circuit_breaker": "true",
    "failure_threshold": "5",
    "recovery_timeout": "30",
    "retry_strategy": "exponential_backoff",
    "max_retries": "3",
    "base_delay": "1.0",
    "requests_per_second": "0",
    "api_key": "",
    "playground_faults": "flaky",
}


def test_a_previous_configuration_is_accepted_with_one_warning_per_moved_key() -> None:
    """page_size and playground_faults moved: no unknown key, one warning each naming where it lives now."""
    settings, unknown = parse_settings(PREVIOUS_CONFIGURATION)
    assert unknown == []
    assert settings.page_size == 25
    warnings = moved_key_warnings(PREVIOUS_CONFIGURATION)
    assert len(warnings) == 2
    assert warnings[0].startswith("configuration key 'page_size' has moved to the source's declaration: ")
    assert "Source(policy=Policy(page_size=...))" in warnings[0]
    assert warnings[1].startswith("configuration key 'playground_faults' has moved to the playground's own options")
    assert moved_key_warnings({"max_workers": "3", "api_key": "k"}) == []


def test_a_moved_key_is_still_honoured_and_validated() -> None:
    """Each moved key still sets its value this release (over the source's policy), and a bad one is still refused
    naming the key."""
    configuration = {
        "page_size": "0",
        "max_delay": "60",
        "retry_jitter": "none",
        "concurrency": "fixed",
        "breaker_window": "20",
        "breaker_minimum_calls": "10",
        "checkpoint_every_rows": "7",
        "allow_insecure_http": "true",
        "playground_faults": "none",
        "playground_scale": "4",
        "playground_seed": "1",
    }
    settings, unknown = parse_settings(configuration)
    assert unknown == []
    assert (settings.page_size, settings.max_delay, settings.retry_jitter) == (0, 60.0, Jitter.NONE)
    assert (settings.concurrency.value, settings.breaker_window, settings.breaker_minimum_calls) == ("fixed", 20, 10)
    assert (settings.checkpoint_every_rows, settings.allow_insecure_http) == (7, True)
    assert (settings.playground_faults, settings.playground_scale, settings.playground_seed) == ("none", 4, 1)
    assert len(moved_key_warnings(configuration)) == len(configuration)
    with pytest.raises(ConfigurationError, match="'breaker_window' has value '0'"):
        parse_settings({"breaker_window": "0"})


def test_the_sources_policy_sets_what_the_configuration_does_not(monkeypatch: Any) -> None:
    """A source that declares Policy(page_size=100, max_wait_seconds=60) gets them; a moved key still wins."""
    import async_core.settings as settings_module

    declared = Source(
        name="my_api",
        base_url="https://api.example.com",
        policy=Policy(page_size=100, max_wait_seconds=60, concurrency=LimitMode.FIXED),
        tables=(TableSpec(name="orders", path="/orders", columns=(Column("id", "id", "INT"),)),),
    )
    monkeypatch.setattr(settings_module, "load_source", lambda name=None: declared)
    settings, _ = parse_settings({"source": "my_api"})
    assert (settings.page_size, settings.max_wait_seconds, settings.concurrency) == (100, 60.0, LimitMode.FIXED)
    assert settings.max_delay == Policy().max_delay
    assert parse_settings({"source": "my_api", "page_size": "10"})[0].page_size == 10


def test_a_bad_policy_is_refused_when_the_source_is_declared() -> None:
    """Like every declaration mistake: a ValueError naming the field, at import of the source module."""
    with pytest.raises(ValueError, match="max_delay is -1"):
        Policy(max_delay=-1)
    with pytest.raises(ValueError, match="page_size must be a whole number"):
        Policy(page_size=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="breaker_minimum_calls"):
        Policy(breaker_window=10, breaker_minimum_calls=20)


def test_the_http_client_gets_one_policy_of_the_users_keys_and_the_sources() -> None:
    """Settings.http_policy(): the user's max_workers and retries, the source's (or a moved key's) tuning."""
    settings, _ = parse_settings({"max_workers": "8", "max_retries": "1", "max_delay": "60"})
    policy = settings.http_policy()
    assert policy == HttpPolicy(max_workers=8, max_retries=1, max_delay=60.0)
    assert policy.breaker_window == Policy().breaker_window


def test_a_shard_is_k_of_n_and_splits_parents_by_a_stable_hash() -> None:
    """`2/8` parses; each parent key belongs to exactly one of n shards, by BLAKE2b (the same in every process:
    Python's hash() is salted per process, and would move parents between connections from one sync to the next)."""
    from async_core.source.shard import Shard, parse_shard

    assert parse_shard("shard", " 2 / 8 ") == Shard(2, 8)
    assert not parse_shard("shard", "1/1").splits
    for bad in ("0/2", "3/2", "2", "a/b", "1/2000"):
        with pytest.raises(ConfigurationError, match="'shard'"):
            parse_shard("shard", bad)
    units = [str(n) for n in range(1000)]
    owners = [[Shard(k, 3).owns(unit) for k in (1, 2, 3)] for unit in units]
    assert all(sum(row) == 1 for row in owners)
    assert all(250 < sum(row[k] for row in owners) < 420 for k in range(3))
    # pinned: a change of the hash would move parents between the connections of a running deployment
    assert [unit for unit in units[:12] if Shard(1, 2).owns(unit)] == ["1", "2", "4", "5", "6", "7", "8", "10", "11"]


def test_a_shard_refuses_tables_that_would_land_whole_in_every_shard() -> None:
    """Only child tables and their parents split; the default tables of jsonplaceholder have no parent."""
    settings, _ = parse_settings({"source": "api_playground", "tables": "companies,departments", "shard": "2/8"})
    assert str(settings.shard) == "2/8"
    with pytest.raises(ConfigurationError, match="users, posts, comments would land whole in every shard"):
        parse_settings({"shard": "1/2"})
