# mypy: disable-error-code="valid-type,misc,name-defined"
# (authlib is imported by name, tests/devtools.py says why: its classes are untyped bases here)
"""A real OAuth2 authorization server, authlib's Flask integration, served in-process on 127.0.0.1 for tests.

    with oauth2_server(lifetime=2) as server:
        refresh = server.issue_refresh_token()      # what a user's authorisation would have given
        ... POST server.token_url (client credentials, or the refresh token), then GET server.base_url + "/orders"

The client credentials and refresh token grants (the refresh grant rotates: each answer carries a new refresh token
and the old one is revoked, so using it again is `invalid_grant`), short access token lifetimes, and a resource
endpoint `/orders` (page-numbered, `total` in the body, a `next` link that echoes the token) that checks the
bearer token. Tokens are held in memory by
`Tokens`, which other servers of the test (the GraphQL one) ask to check a bearer token.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from tests import devtools

# Dev-only packages, imported by name (tests/devtools.py says why).
_flask_oauth2 = devtools.module("authlib.integrations.flask_oauth2")
_rfc6749 = devtools.module("authlib.oauth2.rfc6749")
_flask = devtools.module("flask")
AuthorizationServer, ResourceProtector = _flask_oauth2.AuthorizationServer, _flask_oauth2.ResourceProtector
ClientMixin, TokenMixin, grants = _rfc6749.ClientMixin, _rfc6749.TokenMixin, _rfc6749.grants
BearerTokenValidator = devtools.module("authlib.oauth2.rfc6750").BearerTokenValidator
Flask, jsonify, request = _flask.Flask, _flask.jsonify, _flask.request

HOST = "127.0.0.1"
CLIENT_ID = "test-client"
CLIENT_SECRET = "s3cret-client-value"  # a test fixture


@dataclasses.dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return ""

    def get_allowed_scope(self, scope: str) -> str:
        return scope or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("client_credentials", "refresh_token")


@dataclasses.dataclass
class Token(TokenMixin):
    access_token: str
    refresh_token: str | None
    expires_in: int
    issued_at: float
    scope: str = ""
    revoked: bool = False  # the refresh token was used (rotation) or revoked

    def check_client(self, client: Any) -> bool:
        return bool(client.client_id == CLIENT_ID)

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return False  # an access token stays valid until it expires; `revoked` is about the refresh token


@dataclasses.dataclass
class Tokens:
    """Every token issued, and what the server saw."""

    issued: list[Token] = dataclasses.field(default_factory=list)
    grants: list[str] = dataclasses.field(default_factory=list)  # grant_type of each token request that succeeded
    refused: list[str] = dataclasses.field(default_factory=list)  # why each refused request was refused
    resource_requests: int = 0  # requests to /orders
    # /orders requests (from 1) before which every access token issued so far expires (a server that revokes early)
    expire_at: set[int] = dataclasses.field(default_factory=set)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def by_access(self, value: str) -> Token | None:
        with self.lock:
            return next((t for t in self.issued if t.access_token == value), None)

    def by_refresh(self, value: str) -> Token | None:
        with self.lock:
            return next((t for t in self.issued if t.refresh_token == value and not t.revoked), None)

    def check(self, authorization: str | None) -> bool:
        """Whether an `Authorization` header carries a live access token (for the other servers of a test)."""
        if not authorization or not authorization.startswith("Bearer "):
            self.refused.append("no bearer token")
            return False
        token = self.by_access(authorization.removeprefix("Bearer "))
        if token is None or token.is_expired():
            self.refused.append("expired" if token else "unknown token")
            return False
        return True


class _Validator(BearerTokenValidator):
    def __init__(self, tokens: Tokens) -> None:
        super().__init__()
        self._tokens = tokens

    def authenticate_token(self, token_string: str) -> Token | None:
        token = self._tokens.by_access(token_string)
        if token is None or token.is_expired():
            self._tokens.refused.append("expired" if token else "unknown token")
        return token


@dataclasses.dataclass
class OAuth2Server:
    base_url: str
    tokens: Tokens
    orders: list[dict[str, Any]]
    lifetime: int

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth/token"

    def issue_refresh_token(self) -> str:
        """A refresh token as a user's authorisation (the authorization code grant, not run here) gives one."""
        token = Token(secrets.token_urlsafe(16), secrets.token_urlsafe(24), self.lifetime, time.time())
        with self.tokens.lock:
            self.tokens.issued.append(token)
        assert token.refresh_token is not None
        return token.refresh_token

    def live_refresh_tokens(self) -> list[str]:
        with self.tokens.lock:
            return [t.refresh_token for t in self.tokens.issued if t.refresh_token and not t.revoked]


def make_app(tokens: Tokens, orders: list[dict[str, Any]], *, lifetime: int) -> Any:
    app = Flask("oauth2_test_server")
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"client_credentials": lifetime, "refresh_token": lifetime}
    app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True
    clients = {CLIENT_ID: Client(CLIENT_ID, CLIENT_SECRET)}

    def save_token(token: dict[str, Any], req: Any) -> None:
        issued = Token(
            token["access_token"],
            token.get("refresh_token"),
            int(token["expires_in"]),
            time.time(),
            token.get("scope", ""),
        )
        with tokens.lock:
            tokens.issued.append(issued)
            tokens.grants.append(str(req.payload.grant_type))

    server = AuthorizationServer(app, query_client=clients.get, save_token=save_token)

    class ClientCredentials(grants.ClientCredentialsGrant):
        TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]

    class RefreshToken(grants.RefreshTokenGrant):
        TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]
        INCLUDE_NEW_REFRESH_TOKEN = True  # rotation

        def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
            found = tokens.by_refresh(refresh_token)
            if found is None:
                tokens.refused.append("refresh token revoked or unknown")
            return found

        def authenticate_user(self, credential: Token) -> object:
            return {"id": 1}

        def revoke_old_credential(self, credential: Token) -> None:
            credential.revoked = True

    server.register_grant(ClientCredentials)
    server.register_grant(RefreshToken)
    protect = ResourceProtector()
    protect.register_token_validator(_Validator(tokens))

    @app.route("/oauth/token", methods=["POST"])
    def issue_token() -> Any:
        return server.create_token_response()

    @app.before_request
    def expire_early() -> None:
        if request.path == "/orders":
            with tokens.lock:
                tokens.resource_requests += 1
                if tokens.resource_requests in tokens.expire_at:
                    for token in tokens.issued:
                        token.expires_in = 0

    @app.route("/orders")
    @protect()
    def list_orders() -> Any:
        page, size = int(request.args.get("page", "1")), int(request.args.get("per_page", "10"))
        rows = orders[(page - 1) * size : page * size]
        # The next page's link echoes the caller's token, as some APIs do (Facebook's Graph API): a client that
        # saves links must take it out.
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        following = (
            f"/orders?page={page + 1}&per_page={size}&access_token={token}" if page * size < len(orders) else None
        )
        return jsonify({"data": rows, "total": len(orders), "page": page, "next": following})

    return app


def sample_orders(count: int) -> list[dict[str, Any]]:
    return [{"id": n, "customer": f"customer {n}", "amount": n * 10} for n in range(1, count + 1)]


@contextmanager
def oauth2_server(*, lifetime: int = 3600, orders: list[dict[str, Any]] | None = None) -> Iterator[OAuth2Server]:
    """Serves the authorization server (and its `/orders`) on an ephemeral port for the `with` block."""
    tokens = Tokens()
    data = orders if orders is not None else sample_orders(25)
    app = make_app(tokens, data, lifetime=lifetime)
    server = devtools.werkzeug_serving().make_server(HOST, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield OAuth2Server(f"http://{HOST}:{server.server_port}", tokens, data, lifetime)
    finally:
        server.shutdown()
        thread.join(10)
