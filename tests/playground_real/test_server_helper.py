"""tests/api_playground_server.py: serves the real package, then leaves the global app as it found it."""

from __future__ import annotations

import socket

import aiohttp

from tests import devtools
from tests.api_playground_server import CONFIG_KEYS, RateLimit, api_playground_server
from tests.devtools import pytest
from tests.playground_real.support import get


def config_now() -> dict[str, object]:
    app = devtools.api_playground().app
    return {key: app.config.get(key, "absent") for key in CONFIG_KEYS}


def test_config_and_token_bucket_are_restored_after_a_rate_limited_server() -> None:
    """What the package had before (keys absent, no bucket) is what it has after."""
    before = (config_now(), devtools.api_playground_rate_limiter()._bucket)
    with api_playground_server(rate_limit=RateLimit(capacity=5, per_second=1)):
        assert config_now() == {"RATE_LIMITING_ENABLED": True, "RATE_LIMIT_CAPACITY": 5, "RATE_LIMIT_RPS": 1}
    assert (config_now(), devtools.api_playground_rate_limiter()._bucket) == before


async def test_each_server_gets_a_bucket_of_its_own_capacity(client: aiohttp.ClientSession) -> None:
    """The package builds its bucket once; the helper resets it, so a second capacity is honoured."""
    for capacity in (1, 3):
        with api_playground_server(rate_limit=RateLimit(capacity=capacity, per_second=0.5)) as playground:
            statuses = [(await get(client, f"{playground.base_url}/cursors/companies")).status for _ in range(4)]
        assert statuses.count(200) == capacity


def test_after_the_block_nothing_listens_on_the_port() -> None:
    """The listening socket is closed when the block ends."""
    with api_playground_server() as playground:
        port = int(playground.base_url.rsplit(":", 1)[1])
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_a_second_server_at_the_same_time_is_refused() -> None:
    """Their rate limits would share one global config."""
    with (
        api_playground_server(),
        pytest.raises(RuntimeError, match="one api playground server at a time"),
        api_playground_server(),
    ):
        pass


def test_credentials_are_the_packages() -> None:
    """The helper hands on the module's generated credentials."""
    package = devtools.api_playground()
    with api_playground_server() as playground:
        assert playground.credentials.api_key == package.API_KEY
        assert playground.credentials.session_password == package.SESSION_AUTH_PASSWORD
