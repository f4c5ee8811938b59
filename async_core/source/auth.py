"""Authentication, declared per source (overridable per table): which headers a request carries.

    NoAuth          nothing
    BearerAuth      Authorization: Bearer <token>
    BasicAuth       Authorization: Basic base64(user:password)
    ApiKeyAuth      <header>: <prefix> <key>     (the api-playground: "Authorization: apiKey <key>"),
                    or ?<param>=<key> in the query string (`param`)
    SessionAuth     POST a login, send the token it returns; log in again on expiry or on a 401
    OAuth2ClientCredentials, OAuth2RefreshToken   in `async_core.source.oauth2`

Secrets are read from configuration keys (named by the declaration) when the sync starts. The headers are handed to
the client as the request's *credentials*, which it sends only to the source's origin; they are never logged. A key
in the query string is a *secret parameter*: the client adds it as the request leaves and strips it from the links
a server echoes it into, so no URL in a log, an error, the state or a saved link holds it.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import time
from collections.abc import Awaitable, Mapping
from typing import Any, Protocol

from async_core.errors import AuthenticationError, ConfigurationError
from async_core.source.records import compile_path, dig


class Login(Protocol):
    """What an auth needs from the HTTP layer to log in: POST a body to a path (or to an absolute URL the source
    declares, such as a token endpoint on another host), get the decoded JSON back. `form`: the body goes form-
    encoded (OAuth2) instead of as JSON; `headers`: sent with it (a client's Basic credentials). With `form`, a 400
    or 401 answer's JSON is returned too (an OAuth2 error document says why)."""

    def __call__(
        self, path: str, body: Mapping[str, Any], *, form: bool = False, headers: Mapping[str, str] | None = None
    ) -> Awaitable[Any]: ...


class TokenStore(Protocol):
    """Where a credential the server replaces (a rotated OAuth2 refresh token) is kept for the next sync: the
    state's `refresh_tokens` entry (see `async_core.run.state`). Keys are digests, never the secret itself."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str) -> None: ...


class Auth:
    """The interface. `start` binds the secrets from the configuration; `headers` gives a request's headers."""

    def config_keys(self) -> tuple[str, ...]:
        """The configuration keys this auth reads (all secrets)."""
        return ()

    def start(self, values: Mapping[str, str], *, scope: str = "", store: TokenStore | None = None) -> ActiveAuth:
        """`scope` names where the credentials are used (the base URL): a session token is reused within it.
        `store` keeps what the server rotates (OAuth2 refresh tokens) for the next sync."""
        return ActiveAuth({})


class ActiveAuth:
    """An auth bound to its secrets, for one sync."""

    def __init__(self, headers: Mapping[str, str], params: Mapping[str, str] | None = None) -> None:
        self._headers = dict(headers)
        self._params = dict(params or {})

    async def headers(self, login: Login) -> Mapping[str, str]:
        return self._headers

    @property
    def secret_params(self) -> Mapping[str, str]:
        """Query parameters that carry a secret (an API key in the URL): added by the client as a request leaves."""
        return self._params

    def refresh_on_401(self) -> bool:
        """Whether a 401 should lead to a new login and one more try (session tokens)."""
        return False

    def valid_until(self) -> float | None:
        """time.monotonic() at which the current headers expire (the client does not send them later), or None."""
        return None

    def secrets(self) -> tuple[str, ...]:
        """What must never be saved or logged: each header's value and its token ("Token abc" gives "abc"), so
        that a link echoing a session token is saved without it (`async_core.source.redact`)."""
        found: list[str] = []
        for value in self._headers.values():
            found.append(value)
            token = value.rpartition(" ")[2]
            if token != value:
                found.append(token)
        found.extend(self._params.values())
        return tuple(found)

    def expire(self, headers: Mapping[str, str]) -> None:
        """The server refused these headers: the next `headers` call logs in again (session tokens)."""

    def __repr__(self) -> str:
        shown = len(self._headers) + len(self._params)
        return f"{type(self).__name__}(<{shown} credential(s) redacted>)"


def _secret(values: Mapping[str, str], key: str) -> str:
    value = values.get(key, "")
    if not value:
        raise ConfigurationError(key, "", "this source needs it (a credential); set it in the configuration")
    return value


@dataclasses.dataclass(frozen=True)
class NoAuth(Auth):
    pass


@dataclasses.dataclass(frozen=True)
class BearerAuth(Auth):
    token_key: str = "bearer_token"
    optional: bool = False  # no token configured: send nothing (a public API that takes a key if given)

    def config_keys(self) -> tuple[str, ...]:
        return (self.token_key,)

    def start(self, values: Mapping[str, str], *, scope: str = "", store: TokenStore | None = None) -> ActiveAuth:
        if self.optional and not values.get(self.token_key):
            return ActiveAuth({})
        return ActiveAuth({"Authorization": f"Bearer {_secret(values, self.token_key)}"})


@dataclasses.dataclass(frozen=True)
class BasicAuth(Auth):
    username_key: str = "basic_username"
    password_key: str = "basic_password"

    def config_keys(self) -> tuple[str, ...]:
        return (self.username_key, self.password_key)

    def start(self, values: Mapping[str, str], *, scope: str = "", store: TokenStore | None = None) -> ActiveAuth:
        pair = f"{_secret(values, self.username_key)}:{_secret(values, self.password_key)}"
        return ActiveAuth({"Authorization": "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")})


@dataclasses.dataclass(frozen=True)
class ApiKeyAuth(Auth):
    """The key from configuration key `key`, in a header (`<header>: <prefix> <key>`), or, with `param`, in that
    query parameter (`?api_key=<key>`: kept out of every URL the connector logs or saves)."""

    key: str = "api_key"
    header: str = "Authorization"
    prefix: str = ""  # e.g. "apiKey": the header is "apiKey <key>"
    param: str = ""  # e.g. "api_key": the key goes in the query string instead of a header

    def config_keys(self) -> tuple[str, ...]:
        return (self.key,)

    def start(self, values: Mapping[str, str], *, scope: str = "", store: TokenStore | None = None) -> ActiveAuth:
        secret = _secret(values, self.key)
        if self.param:
            return ActiveAuth({}, {self.param: secret})
        return ActiveAuth({self.header: f"{self.prefix} {secret}" if self.prefix else secret})


@dataclasses.dataclass(frozen=True)
class SessionAuth(Auth):
    """POST `{username_field: ..., password_field: ...}` to `login_path`; the token at `token_path` is sent as
    `<header>: <prefix> <token>` until `expires_in_path` seconds pass (when given) or the server answers 401."""

    login_path: str
    username_key: str = "session_username"
    password_key: str = "session_password"
    username_field: str = "username"
    password_field: str = "password"
    token_path: str = "token"
    expires_in_path: str = "expires_in"
    header: str = "Authorization"
    prefix: str = "Token"

    def config_keys(self) -> tuple[str, ...]:
        return (self.username_key, self.password_key)

    def start(self, values: Mapping[str, str], *, scope: str = "", store: TokenStore | None = None) -> ActiveAuth:
        body = {self.username_field: _secret(values, self.username_key), self.password_field: ""}
        body[self.password_field] = _secret(values, self.password_key)
        digest = hashlib.sha256(json.dumps([scope, self.login_path, body], sort_keys=True).encode()).hexdigest()
        return _ActiveSession(self, body, cache_key=digest)


# Session tokens still valid, by (scope, login path, credentials) digest: a sync reuses the token an earlier sync
# of this process got, as a browser would, instead of logging in every time. Held in memory only: a token is a
# secret and is never written to the state or a log.
_TOKENS: dict[str, tuple[dict[str, str], float]] = {}


class _ActiveSession(ActiveAuth):
    """One login shared by every request of the sync; concurrent requests wait for the same login."""

    def __init__(self, spec: SessionAuth, body: Mapping[str, Any], *, cache_key: str) -> None:
        super().__init__({})
        self._spec = spec
        self._body = body
        self._cache_key = cache_key
        self._expires_at = 0.0
        cached = _TOKENS.get(cache_key)
        if cached is not None and time.monotonic() < cached[1]:
            self._headers, self._expires_at = dict(cached[0]), cached[1]
        self._lock: asyncio.Lock | None = None
        # The tokens of this sync (a cached one too), the last 16: see `secrets`.
        self._issued: list[str] = [value.rpartition(" ")[2] for value in self._headers.values()]

    async def headers(self, login: Login) -> Mapping[str, str]:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not self._headers or time.monotonic() >= self._expires_at:
                await self._login(login)
        return self._headers

    async def _login(self, login: Login) -> None:
        answer = await login(self._spec.login_path, self._body)
        token = dig(answer, compile_path(self._spec.token_path))
        if not isinstance(token, str) or not token:
            raise AuthenticationError(f"the login answered no token at {self._spec.token_path!r}")
        expires_in = dig(answer, compile_path(self._spec.expires_in_path))
        lifetime = float(expires_in) if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) else 0
        # Log in again a little before the server's expiry; without one, only a 401 makes us log in again.
        self._expires_at = time.monotonic() + lifetime * 0.9 if lifetime > 0 else float("inf")
        prefix = self._spec.prefix
        self._headers = {self._spec.header: f"{prefix} {token}" if prefix else token}
        _TOKENS[self._cache_key] = (dict(self._headers), self._expires_at)
        self._issued = [*self._issued[-15:], token]

    def secrets(self) -> tuple[str, ...]:
        """The current token and the sync's earlier ones: a page fetched before a new login may echo its token in
        the link saved after it."""
        return (*super().secrets(), *self._issued)

    def refresh_on_401(self) -> bool:
        return True

    def expire(self, headers: Mapping[str, str]) -> None:
        if dict(headers) == self._headers:  # not if another request already logged in again
            self._headers = {}
            _TOKENS.pop(self._cache_key, None)
