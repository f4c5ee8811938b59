"""The client's per-request shortcuts (issue 21's hot path) decide exactly as the full checks do."""

from __future__ import annotations

from typing import Any

from async_core.errors import ForeignOriginError
from async_core.http.client import ApiClient
from async_core.http.exchange import LazyLinks, home_prefix
from async_core.run.metrics import Metrics
from async_core.settings import Settings
from tests.devtools import pytest

CREDENTIALS = {"Authorization": "Bearer k"}


def client(base_url: str) -> ApiClient:
    return ApiClient(Settings(), None, base_url=base_url, metrics=Metrics())  # type: ignore[arg-type]


def test_the_home_prefix_is_the_authority_as_base_url_spells_it() -> None:
    assert home_prefix("https://api.example.com/v1") == "https://api.example.com"
    assert home_prefix("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert home_prefix("https://user:pw@api.example.com") is None


@pytest.mark.parametrize(
    ("url", "sends"),
    [
        ("https://api.example.com/v1/items?page=2", True),
        ("https://api.example.com?page=2", True),
        ("https://api.example.com", True),
        ("https://API.example.com:443/v1", True),  # not the shortcut: the full check, same origin
        ("https://api.example.com@evil.example/", False),  # user info: the shortcut must not take it
        ("https://api.example.com.evil.example/", False),
        ("https://api.example.com:8443/", False),
        ("http://api.example.com/", False),
    ],
)
def test_credentials_go_only_to_the_home_origin_with_or_without_the_shortcut(url: str, sends: bool) -> None:
    home = client("https://api.example.com/v1")
    if sends:
        assert home._headers_for(url, CREDENTIALS) == CREDENTIALS
    else:
        with pytest.raises(ForeignOriginError):
            home._headers_for(url, CREDENTIALS)


class CountingResponse:
    """Stands for aiohttp's response: `links` parses the header on every access."""

    def __init__(self) -> None:
        self.parses = 0

    @property
    def links(self) -> dict[str, dict[str, Any]]:
        self.parses += 1
        return {"next": {"url": "https://api.example.com/v1/items?page=3"}, "": {"url": "x"}}


def test_links_are_parsed_once_and_only_when_read() -> None:
    response = CountingResponse()
    links = LazyLinks(response)  # type: ignore[arg-type]
    assert response.parses == 0
    assert links == {"next": "https://api.example.com/v1/items?page=3"}
    assert links.get("next") == "https://api.example.com/v1/items?page=3"
    assert response.parses == 1
