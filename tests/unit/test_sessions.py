"""The sync's auth sessions (`async_core.run.sessions`): one active auth per distinct declaration."""

from collections.abc import Mapping
from typing import Any

from async_core.run.sessions import AuthSessions
from async_core.source import BearerAuth, SessionAuth
from async_core.source.auth import ActiveAuth, Auth

VALUES = {"session_username": "u", "session_password": "p", "bearer_token": "t", "other_token": "o"}


def test_equal_declarations_share_one_active_auth_and_different_ones_do_not() -> None:
    sessions = AuthSessions(VALUES, scope="https://api.example")
    first = sessions.start(SessionAuth(login_path="/login"))
    assert sessions.start(SessionAuth(login_path="/login")) is first  # another instance, the same declaration
    assert sessions.start(SessionAuth(login_path="/v2/login")) is not first
    assert sessions.start(BearerAuth()) is not sessions.start(BearerAuth(token_key="other_token"))
    assert len(sessions) == 4


class Unhashable(Auth):
    """A source's own auth class that does not hash (it holds a dict): shared by identity only."""

    __hash__ = None  # type: ignore[assignment]

    def __init__(self) -> None:
        self.extra: dict[str, str] = {}

    def start(self, values: Mapping[str, str], *, scope: str = "", **_: Any) -> ActiveAuth:
        return ActiveAuth({"X-Key": "k"})


def test_an_auth_that_does_not_hash_is_shared_by_identity() -> None:
    sessions = AuthSessions(VALUES, scope="https://api.example")
    auth = Unhashable()
    assert sessions.start(auth) is sessions.start(auth)
    assert sessions.start(Unhashable()) is not sessions.start(auth)
