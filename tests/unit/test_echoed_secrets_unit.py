"""Error messages that quote a secret (`async_core.source.redact.conceal`, OAuth2's refusal): never shown."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from async_core.errors import AuthenticationError
from async_core.source import OAuth2ClientCredentials, OAuth2RefreshToken, SessionAuth
from async_core.source.redact import conceal
from tests.devtools import pytest

SECRET = "cs-4b9e2d7f0a1c"
REFRESH = "rt-81c2e6d3aa9f40"


def test_a_secret_in_any_encoding_and_a_cut_secret_at_the_end_are_concealed() -> None:
    assert conceal("bad key a+b/c= (a%2Bb%2Fc%3D)", ["a+b/c="]) == "bad key <redacted> (<redacted>)"
    cut = f"token {SECRET}"[:12]  # a message cut to its first characters, inside the token
    assert conceal(cut, [SECRET]) == "token <redacted>"
    assert conceal("token missing", [SECRET, ""]) == "token missing"  # no secret, nothing touched


def refusal(spec: Any, values: Mapping[str, str], echo: Any) -> str:
    async def login(path: str, body: Mapping[str, Any], **_: Any) -> Any:
        return {"error": echo(body)}

    auth = spec.start(values)
    with pytest.raises(AuthenticationError) as caught:
        asyncio.run(auth.headers(login))
    return str(caught.value)


@pytest.mark.parametrize("client_auth", ["basic", "post"])
def test_a_token_endpoint_that_echoes_the_clients_secret_in_its_code_shows_no_secret(client_auth: Any) -> None:
    spec = OAuth2ClientCredentials(token_url="/token", client_auth=client_auth)
    message = refusal(spec, {"client_id": "c1", "client_secret": SECRET}, lambda body: f"bad_secret:{SECRET}")
    assert SECRET[:4] not in message
    assert "refused the OAuth2ClientCredentials grant" in message


def test_a_long_refresh_token_echoed_in_the_code_is_not_shown_cut_either() -> None:
    token = REFRESH * 4  # longer than the 40 characters of a code shown
    values = {"client_id": "c1", "client_secret": SECRET, "refresh_token": token}
    message = refusal(OAuth2RefreshToken(token_url="/token"), values, lambda body: body["refresh_token"])
    assert REFRESH[:6] not in message
    assert "(<redacted>)" in message


class Store:
    def __init__(self) -> None:
        self.saved: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.saved.get(key)

    def put(self, key: str, value: str) -> None:
        self.saved[key] = value


def test_a_kept_token_sealed_under_another_client_secret_is_named_when_the_configured_one_is_refused() -> None:
    """The client's secret changed after a rotation: the state's token cannot be unsealed, the configured (dead)
    one is tried, and the refusal said only "the configured one" was revoked, hiding why the kept one was not
    used."""
    spec = OAuth2RefreshToken(token_url="/token")
    store = Store()
    values = {"client_id": "c1", "client_secret": SECRET, "refresh_token": REFRESH}

    async def rotate(path: str, body: Mapping[str, Any], **_: Any) -> Any:
        return {"access_token": "a1", "refresh_token": "rt-rotated-2", "expires_in": 3600}

    asyncio.run(spec.start(values, store=store).headers(rotate))
    assert len(store.saved) == 1

    async def refuse(path: str, body: Mapping[str, Any], **_: Any) -> Any:
        assert body["refresh_token"] == REFRESH  # the kept one could not be read
        return {"error": "invalid_grant"}

    changed = {**values, "client_secret": "cs-new-secret"}
    with pytest.raises(AuthenticationError, match="could not be read") as caught:
        asyncio.run(spec.start(changed, store=store).headers(refuse))
    assert "'client_secret'" in str(caught.value)
    tampered = {key: value[:-4] + "AAAA" for key, value in store.saved.items()}
    store.saved = tampered
    with pytest.raises(AuthenticationError, match="could not be read"):
        asyncio.run(spec.start(values, store=store).headers(refuse))


def test_a_token_type_that_quotes_a_token_is_not_shown() -> None:
    """The refusal of a token_type other than Bearer quoted it: an endpoint putting a token there showed it."""

    async def login(path: str, body: Mapping[str, Any], **_: Any) -> Any:
        return {"access_token": "at-0c9d8e7f6a5b", "token_type": f"{body['refresh_token']}", "refresh_token": "x"}

    values = {"client_id": "c1", "client_secret": SECRET, "refresh_token": REFRESH}
    with pytest.raises(AuthenticationError, match="only Bearer") as caught:
        asyncio.run(OAuth2RefreshToken(token_url="/token").start(values).headers(login))
    assert REFRESH[:6] not in str(caught.value)


def test_an_access_token_replaced_during_the_sync_is_still_kept_out_of_saved_links() -> None:
    """A page fetched with token A is delivered (its link saved) after a renewal to B: `secrets()` named only B,
    so a link echoing A (still valid until it expires) was saved with it."""
    issued = iter(["at-first-1a2b3c", "at-second-4d5e6f"])

    async def login(path: str, body: Mapping[str, Any], **_: Any) -> Any:
        return {"access_token": next(issued), "expires_in": 3600}

    auth = OAuth2ClientCredentials(token_url="/token").start({"client_id": "c1", "client_secret": SECRET})
    first = asyncio.run(auth.headers(login))
    auth.expire(first)
    asyncio.run(auth.headers(login))
    assert {"at-first-1a2b3c", "at-second-4d5e6f"} <= set(auth.secrets())


def test_a_session_token_replaced_during_the_sync_is_still_kept_out_of_saved_links() -> None:
    issued = iter(["st-first-9z8y7x", "st-second-6w5v4u"])

    async def login(path: str, body: Mapping[str, Any], **_: Any) -> Any:
        return {"token": next(issued)}

    values = {"session_username": "ann-renewed", "session_password": SECRET}
    auth = SessionAuth(login_path="/login").start(values, scope="https://api.example")
    first = asyncio.run(auth.headers(login))
    auth.expire(first)
    asyncio.run(auth.headers(login))
    assert {"st-first-9z8y7x", "st-second-6w5v4u"} <= set(auth.secrets())
