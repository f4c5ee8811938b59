"""The setup form's connection test with OAuth2 (a real authorization server, authlib): client credentials are
tried (a token, then the first page); a rotating refresh token is left alone (nowhere to keep the new one)."""

from __future__ import annotations

from typing import Any

from async_core.setup import test_connection as check_connection
from async_core.source import Column, OAuth2ClientCredentials, OAuth2RefreshToken, PageNumber, TableSpec
from tests.integration.declared import FAST, declare
from tests.oauth2_server import CLIENT_ID, CLIENT_SECRET, oauth2_server

PAGES = PageNumber(page_param="page", size_param="per_page", total_path="total", page_size=5)


def orders(auth: Any) -> TableSpec:
    return TableSpec(
        name="orders", path="/orders", columns=(Column("id", "id", "INT"),), records="data", paginator=PAGES, auth=auth
    )


def test_client_credentials_are_tried_and_a_wrong_secret_is_reported(monkeypatch: Any) -> None:
    """A good secret passes (one token request); a wrong one is a failure naming the keys, not the secret."""
    name = declare(monkeypatch, orders(OAuth2ClientCredentials(token_url="/oauth/token")))
    with oauth2_server() as server:
        good = {"source": name, "base_url": server.base_url, **FAST, "client_id": CLIENT_ID}
        assert check_connection({**good, "client_secret": CLIENT_SECRET}) is None
        assert server.tokens.grants == ["client_credentials"]
        problem = check_connection({**good, "client_secret": "a-wrong-secret"})
    assert problem is not None
    assert "invalid_client" in problem
    assert "a-wrong-secret" not in problem


def test_a_rotating_refresh_token_is_not_spent_by_the_connection_test(monkeypatch: Any) -> None:
    """No token request: the configured refresh token stays live for the first sync."""
    name = declare(monkeypatch, orders(OAuth2RefreshToken(token_url="/oauth/token")))
    with oauth2_server() as server:
        refresh = server.issue_refresh_token()
        configuration = {"source": name, "base_url": server.base_url, **FAST, "client_id": CLIENT_ID}
        assert check_connection({**configuration, "client_secret": CLIENT_SECRET, "refresh_token": refresh}) is None
        assert server.tokens.grants == []
        assert server.live_refresh_tokens() == [refresh]
