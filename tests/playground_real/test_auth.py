"""The four ways the playground authenticates, and how it refuses: what the connector's headers must look like."""

from __future__ import annotations

import base64

import aiohttp

from tests.api_playground_server import ApiPlaygroundServer
from tests.devtools import pytest
from tests.playground_real.support import basic, call, get


def header_for(kind: str, server: ApiPlaygroundServer) -> str:
    credentials = server.credentials
    return {
        "http_basic": basic(credentials.http_basic_username, credentials.http_basic_password),
        "http_bearer": f"Bearer {credentials.http_bearer_token}",
        "api_key": f"apiKey {credentials.api_key}",
    }[kind]


@pytest.mark.parametrize("kind", ["http_basic", "http_bearer", "api_key"])
async def test_the_authorization_header_each_endpoint_accepts(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer, kind: str
) -> None:
    """`Basic base64(user:password)`, `Bearer <token>`, `apiKey <key>`: 200 and {data: 20 items}."""
    reply = await get(
        client, f"{api_playground.base_url}/auth/{kind}", headers={"Authorization": header_for(kind, api_playground)}
    )
    assert reply.status == 200
    assert list(reply.body) == ["data"]
    assert len(reply.body["data"]) == 20


@pytest.mark.parametrize("kind", ["http_basic", "http_bearer", "api_key"])
async def test_a_missing_or_wrong_header_is_a_401_in_html(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer, kind: str
) -> None:
    """Flask's abort(401): an HTML page, not JSON, and no WWW-Authenticate challenge."""
    missing = await get(client, f"{api_playground.base_url}/auth/{kind}")
    wrong = await get(client, f"{api_playground.base_url}/auth/{kind}", headers={"Authorization": "Bearer nope"})
    for reply, why in ((missing, "Authorization header is missing"), (wrong, "Invalid API key or format")):
        assert (reply.status, reply.content_type) == (401, "text/html")
        assert why in reply.body
        assert "WWW-Authenticate" not in reply.headers


async def test_api_key_goes_in_authorization_not_in_its_own_header(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer
) -> None:
    """An X-API-Key header is not read."""
    reply = await get(
        client, f"{api_playground.base_url}/auth/api_key", headers={"X-API-Key": api_playground.credentials.api_key}
    )
    assert reply.status == 401


async def test_session_login_gives_a_token_for_an_hour_that_data_takes_after_token(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer
) -> None:
    """POST JSON {username, password} -> {token, expires_in: 3600}; then `Authorization: Token <token>`."""
    credentials = api_playground.credentials
    login = await call(
        client,
        "POST",
        f"{api_playground.base_url}/auth/session_token/login",
        json={"username": credentials.session_username, "password": credentials.session_password},
    )
    assert login.status == 200
    assert set(login.body) == {"token", "expires_in"}
    assert login.body["expires_in"] == 3600
    # the token is base64("username:password:expiry epoch"): it carries the password, so it is a secret too
    assert base64.b64decode(login.body["token"]).decode().startswith(f"{credentials.session_username}:")
    data = await get(
        client,
        f"{api_playground.base_url}/auth/session_token/data",
        headers={"Authorization": f"Token {login.body['token']}"},
    )
    assert data.status == 200
    assert len(data.body["data"]) == 20


async def test_session_login_refusals_are_json(
    client: aiohttp.ClientSession, api_playground: ApiPlaygroundServer
) -> None:
    """Wrong password: 401; missing field: 400; no token: 400; a token that is not base64 of three fields: 400."""
    base = api_playground.base_url
    wrong = await call(client, "POST", f"{base}/auth/session_token/login", json={"username": "a", "password": "b"})
    missing = await call(client, "POST", f"{base}/auth/session_token/login", json={"username": "a"})
    no_token = await get(client, f"{base}/auth/session_token/data")
    bad_token = await get(client, f"{base}/auth/session_token/data", headers={"Authorization": "Token zzz"})
    assert (wrong.status, wrong.body) == (401, {"error": "Invalid username or password"})
    assert (missing.status, missing.body) == (400, {"error": "Username and password are required"})
    assert (no_token.status, no_token.body) == (400, {"error": "Token is missing"})
    assert (bad_token.status, bad_token.body) == (400, {"error": "Invalid token format"})
