"""The sync's auth sessions, keyed by what they are: equal declarations share one active auth.

Two tables declaring `SessionAuth(login_path="/login")` each are one login, not two: an API that keeps one session
per user answers 401s to the older token otherwise. Auth declarations are frozen dataclasses, so equal values hash
equal; the registry belongs to one sync (the engine), and every auth kind (a login, an OAuth2 token) shares it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from async_core.source.auth import ActiveAuth, Auth, TokenStore


class AuthSessions:
    """The active auth of each distinct auth declaration of one sync, started on first use."""

    def __init__(self, values: Mapping[str, str], *, scope: str, store: TokenStore | None = None) -> None:
        self._values = values
        self._scope = scope
        self._store = store  # where a rotated OAuth2 refresh token is kept for the next sync (the state)
        self._active: dict[Any, ActiveAuth] = {}

    def start(self, auth: Auth) -> ActiveAuth:
        """The active auth for `auth`: the one already started for an equal declaration, or a new one."""
        key = _key(auth)
        active = self._active.get(key)
        if active is None:
            active = self._active[key] = auth.start(self._values, scope=self._scope, store=self._store)
        return active

    def __len__(self) -> int:
        return len(self._active)


def _key(auth: Auth) -> Any:
    """The declaration itself when it hashes by value (every frozen dataclass of `async_core.source.auth`); an auth
    class of a source's own that does not hash is shared only by identity."""
    try:
        hash(auth)
    except TypeError:
        return ("identity", id(auth))
    return auth
