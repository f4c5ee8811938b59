"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator

from tests.api_playground_server import ApiPlaygroundServer, api_playground_server
from tests.devtools import pytest


@pytest.fixture
def api_playground() -> Iterator[ApiPlaygroundServer]:
    """Fivetran's mock API (the real fivetran-api-playground package) on 127.0.0.1, not rate limited."""
    with api_playground_server() as server:
        yield server
