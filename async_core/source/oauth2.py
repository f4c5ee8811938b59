"""OAuth2 (RFC 6749) for a source: an access token from a token endpoint, renewed before it expires and once on a 401.

    OAuth2ClientCredentials   grant_type=client_credentials (a machine's own id and secret)
    OAuth2RefreshToken        grant_type=refresh_token (a user's grant, given once as a refresh token); when the
                              answer carries a new refresh token (rotation), the old one is dead from then on:
                              the new one is kept in the state for the next sync (`TokenStore`), at once

The token request is a form POST to `token_url` (a path on the base URL, or an absolute URL on the provider's host:
it is declared by the source, so it is trusted like the base URL), with the client's id and secret as HTTP Basic
(`client_auth="basic"`, RFC 6749's default) or in the form (`"post"`). One token per equal declaration is shared by
every table of the sync; concurrent requests wait for the same renewal. Tokens are never logged, never in a URL,
the state or an error message; only a rotated refresh token is written, sealed with the client's secret
(`async_core.source.sealed`), to the state's `refresh_tokens` entry (the README's Authentication section says why
there).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal
from urllib.parse import quote

from async_core.errors import AuthenticationError, ConfigurationError
from async_core.source.auth import ActiveAuth, Auth, Login, TokenStore
from async_core.source.redact import conceal
from async_core.source.sealed import derive_key, seal, unseal

# Renew this long before the server's expiry (or a tenth of the lifetime, for short ones): a request sent just
# before expiry must not arrive just after it.
EARLY_SECONDS = 60.0
# Access tokens of a sync remembered as secrets (renewals are rare: one an hour, or on a 401).
MAX_ISSUED = 16


@dataclasses.dataclass(frozen=True, kw_only=True)
class _OAuth2(Auth):
    token_url: str = ""
    token_url_key: str = ""  # a configuration key whose value, when set, overrides token_url (a tenant's host)
    client_id_key: str = "client_id"
    client_secret_key: str = "client_secret"
    scope: str = ""
    client_auth: Literal["basic", "post"] = "basic"

    def __post_init__(self) -> None:
        if not self.token_url and not self.token_url_key:
            raise ValueError(f"{type(self).__name__}: token_url (a path, or the provider's URL) or token_url_key")
        if self.client_auth not in ("basic", "post"):
            raise ValueError(f"{type(self).__name__}: client_auth {self.client_auth!r}: expected 'basic' or 'post'")

    def config_keys(self) -> tuple[str, ...]:
        return (self.client_id_key, self.client_secret_key, *((self.token_url_key,) if self.token_url_key else ()))

    def _client(self, values: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        """The client's credentials: (form fields, headers), as `client_auth` says."""
        client_id, secret = _secret(values, self.client_id_key), _secret(values, self.client_secret_key)
        if self.client_auth == "post":
            return {"client_id": client_id, "client_secret": secret}, {}
        pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"  # RFC 6749 2.3.1: form-encoded, then Basic
        return {}, {"Authorization": "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")}

    def _url(self, values: Mapping[str, str]) -> str:
        url = values.get(self.token_url_key, "") if self.token_url_key else ""
        if not url and not self.token_url:
            raise ConfigurationError(self.token_url_key, "", "the OAuth2 token endpoint's URL is needed")
        return url or self.token_url

    def _scope(self) -> dict[str, str]:
        return {"scope": self.scope} if self.scope else {}


@dataclasses.dataclass(frozen=True, kw_only=True)
class OAuth2ClientCredentials(_OAuth2):
    """The client credentials grant: `client_id` and `client_secret` from the configuration buy an access token."""

    def start(self, values: Mapping[str, str], *, scope: str = "", store: TokenStore | None = None) -> ActiveAuth:
        form, headers = self._client(values)
        grant = {"grant_type": "client_credentials", **self._scope(), **form}
        hidden = (_secret(values, self.client_secret_key),)
        return ActiveOAuth2(self, self._url(values), lambda: grant, headers, hidden=hidden)


@dataclasses.dataclass(frozen=True, kw_only=True)
class OAuth2RefreshToken(_OAuth2):
    """The refresh token grant: the configuration's `refresh_token` (with the client's id and secret) buys access
    tokens; a rotated refresh token replaces it, kept in the state until the configuration's own changes."""

    refresh_token_key: str = "refresh_token"

    def config_keys(self) -> tuple[str, ...]:
        return (*super().config_keys(), self.refresh_token_key)

    def start(self, values: Mapping[str, str], *, scope: str = "", store: TokenStore | None = None) -> ActiveAuth:
        form, headers = self._client(values)
        configured = _secret(values, self.refresh_token_key)
        # Keyed by what the grant is (endpoint, client, the configured token): a new token set in the configuration
        # starts afresh, and the state never names the token it holds.
        url = self._url(values)
        identity = [scope, url, values.get(self.client_id_key, ""), configured]
        key = "oauth2:" + hashlib.sha256(json.dumps(identity).encode("utf-8")).hexdigest()[:32]
        # Sealed with the client's credentials: the state (printed at each checkpoint by the local runner) never
        # holds the token in the clear, and another client's secret cannot read it.
        sealing = derive_key(values.get(self.client_id_key, ""), _secret(values, self.client_secret_key))
        saved = store.get(key) if store is not None else None
        kept = unseal(sealing, saved) if saved else None
        current = [kept or configured]

        def grant() -> dict[str, str]:
            return {"grant_type": "refresh_token", "refresh_token": current[0], **self._scope(), **form}

        def rotated(token: str) -> None:
            current[0] = token
            if store is not None:
                store.put(key, seal(sealing, token))

        hidden = (_secret(values, self.client_secret_key), configured)
        return ActiveOAuth2(
            self,
            url,
            grant,
            headers,
            on_refresh_token=rotated,
            from_state=kept is not None,
            unreadable=bool(saved) and kept is None,
            hidden=hidden,
        )


class ActiveOAuth2(ActiveAuth):
    """One access token for the sync, renewed `EARLY_SECONDS` (or a tenth of its lifetime) before it expires, and
    when the server answers 401 with it (once per request: the engine retries a 401 once)."""

    def __init__(
        self,
        spec: _OAuth2,
        token_url: str,
        grant: Callable[[], dict[str, str]],
        client_headers: Mapping[str, str],
        *,
        on_refresh_token: Callable[[str], None] | None = None,
        from_state: bool = False,
        unreadable: bool = False,
        hidden: tuple[str, ...] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__({})
        self._spec = spec
        self._token_url = token_url
        self._grant = grant
        self._client_headers = dict(client_headers)
        self._on_refresh_token = on_refresh_token
        self._from_state = from_state
        self._unreadable = unreadable  # the state kept a token this client's secret cannot unseal
        self._hidden = hidden  # the configuration's secrets: never in an error message
        self._clock = clock
        self._expires_at = 0.0
        self._lock: asyncio.Lock | None = None
        self.renewals = 0  # token requests made (tests and the summary read it)
        self._issued: list[str] = []  # the access tokens of this sync, the last MAX_ISSUED: see `secrets`

    async def headers(self, login: Login) -> Mapping[str, str]:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not self._headers or self._clock() >= self._expires_at:
                await self._renew(login)
        return self._headers

    async def _renew(self, login: Login) -> None:
        started = self._clock()
        answer = await login(self._token_url, self._grant(), form=True, headers=self._client_headers)
        self.renewals += 1
        if not isinstance(answer, Mapping):
            raise AuthenticationError("the token endpoint answered no JSON object")
        if "error" in answer:
            raise AuthenticationError(self._refused(answer))
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise AuthenticationError("the token endpoint answered no access_token")
        kind = answer.get("token_type", "Bearer")
        if not isinstance(kind, str) or kind.lower() != "bearer":
            issued = answer.get("refresh_token")
            secrets = (*self._hidden, token, self._grant().get("refresh_token", ""), str(issued or ""))
            shown = conceal(repr(kind), secrets)
            raise AuthenticationError(f"the token endpoint answered token_type {shown}; only Bearer is supported")
        refresh = answer.get("refresh_token")
        if isinstance(refresh, str) and refresh and self._on_refresh_token is not None:
            self._on_refresh_token(refresh)  # rotation: the old refresh token is dead from now on
        lifetime = answer.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) and not isinstance(lifetime, bool) else 0.0
        early = min(EARLY_SECONDS, seconds / 10)
        # Without an expiry, only a 401 renews the token.
        self._expires_at = started + seconds - early if seconds > 0 else float("inf")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._issued = [*self._issued[-(MAX_ISSUED - 1) :], token]

    def _refused(self, answer: Mapping[str, Any]) -> str:
        """Why the token endpoint refused, and the fix (RFC 6749 5.2 error codes). Never echoes a token."""
        # The code is the endpoint's: it could quote what it was sent (the client's secret, the refresh token).
        sent = [*self._hidden, self._grant().get("refresh_token", "")]
        sent += [value.rpartition(" ")[2] for value in self._client_headers.values()]
        code = conceal(conceal(str(answer.get("error")), sent)[:40], sent)
        what = f"the token endpoint refused the {type(self._spec).__name__} grant ({code})"
        if code == "invalid_client":
            return f"{what}: check {self._spec.client_id_key!r} and {self._spec.client_secret_key!r}"
        if code == "invalid_grant" and isinstance(self._spec, OAuth2RefreshToken):
            where = "the one kept in the state" if self._from_state else "the configured one"
            why = (
                f" (the one kept in the state could not be read: it was sealed under another "
                f"{self._spec.client_secret_key!r}, or altered)"
                if self._unreadable
                else ""
            )
            return (
                f"{what}: the refresh token ({where}) was revoked, expired or already used{why}; authorise again and "
                f"set the new refresh token in {self._spec.refresh_token_key!r}"
            )
        return f"{what}; check the source's OAuth2 declaration (token_url, scope) and the client's credentials"

    def refresh_on_401(self) -> bool:
        return True

    def secrets(self) -> tuple[str, ...]:
        """The current token and the earlier ones of the sync: a page fetched with a token that was renewed before
        the page was delivered may echo it in the link then saved (it stays valid until it expires)."""
        return (*super().secrets(), *self._issued)

    def valid_until(self) -> float | None:
        return self._expires_at if self._headers and self._expires_at != float("inf") else None

    def expire(self, headers: Mapping[str, str]) -> None:
        if dict(headers).get("Authorization") == self._headers.get("Authorization"):  # not if renewed meanwhile
            self._headers = {}


def _secret(values: Mapping[str, str], key: str) -> str:
    value = values.get(key, "")
    if not value:
        raise ConfigurationError(key, "", "this source needs it (an OAuth2 credential); set it in the configuration")
    return value
