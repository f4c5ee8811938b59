"""Fivetran's own mock API, the `fivetran-api-playground` package, served in-process on 127.0.0.1 for tests.

`playground start` runs Flask's reloader (two processes) after a version check against PyPI; tests serve the
package's Flask `app` with werkzeug's `make_server` on an ephemeral port, on a thread, instead:

    with api_playground_server(rate_limit=RateLimit(capacity=3, per_second=1)) as playground:
        ... requests to playground.base_url + "/pagination/offset", with playground.credentials ...

What is global, and why this helper owns it: the package is one module with one `app`, one data set (generated at
import, unseeded) and one set of credentials per process. Rate limiting is read from `app.config` on each request,
but its token bucket is a module global built on the first limited request and never rebuilt, so the helper resets
it and puts config and bucket back as they were when it stops. One server at a time: a second one would share the
config. The data are shared by every server of the process, and requests change them (cursors bump `updatedAt`,
unfiltered requests re-sort the item list in place).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests import devtools

HOST = "127.0.0.1"
CONFIG_KEYS = ("RATE_LIMITING_ENABLED", "RATE_LIMIT_CAPACITY", "RATE_LIMIT_RPS")
_ABSENT = object()
_one_at_a_time = threading.Lock()


@dataclasses.dataclass(frozen=True)
class RateLimit:
    """The playground's token bucket: `capacity` requests at once, refilled at `per_second` tokens a second."""

    capacity: int = 20  # the package's default
    per_second: float = 10  # the package's default (its CLI always uses 10)


@dataclasses.dataclass(frozen=True)
class Credentials:
    """What the playground accepts, generated anew in each process that imports it."""

    http_basic_username: str
    http_basic_password: str
    http_bearer_token: str
    api_key: str
    session_username: str
    session_password: str


@dataclasses.dataclass(frozen=True)
class ApiPlaygroundServer:
    base_url: str  # http://127.0.0.1:<port>, no trailing slash
    credentials: Credentials
    rate_limit: RateLimit | None


def credentials_of(package: Any) -> Credentials:
    return Credentials(
        http_basic_username=package.HTTP_BASIC_USERNAME,
        http_basic_password=package.HTTP_BASIC_PASSWORD,
        http_bearer_token=package.HTTP_BEARER_TOKEN,
        api_key=package.API_KEY,
        session_username=package.SESSION_AUTH_USERNAME,
        session_password=package.SESSION_AUTH_PASSWORD,
    )


def _quiet_request_handler(serving: Any) -> Any:
    """werkzeug's handler without the access log line per request (errors are still logged)."""

    class QuietRequestHandler(serving.WSGIRequestHandler):  # type: ignore[misc]
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass

    return QuietRequestHandler


@contextmanager
def api_playground_server(*, rate_limit: RateLimit | None = None) -> Iterator[ApiPlaygroundServer]:
    """Serves the real package on 127.0.0.1, port 0; rate limited with `rate_limit`, or not at all with None.

    On exit the server has stopped listening, its thread has ended, and `app.config` and the token bucket are as
    they were before. Raises RuntimeError if another one is running in this process.
    """
    if not _one_at_a_time.acquire(blocking=False):
        raise RuntimeError("one api playground server at a time: the package's app config is global")
    try:
        package = devtools.api_playground()
        limiter: Any = devtools.api_playground_rate_limiter()
        serving = devtools.werkzeug_serving()
        app = package.app
        saved_config = {key: app.config.get(key, _ABSENT) for key in CONFIG_KEYS}
        saved_bucket = limiter._bucket
        app.config["RATE_LIMITING_ENABLED"] = rate_limit is not None
        if rate_limit is not None:
            app.config["RATE_LIMIT_CAPACITY"] = rate_limit.capacity
            app.config["RATE_LIMIT_RPS"] = rate_limit.per_second
        limiter._bucket = None  # built from the config above on the first limited request
        try:
            server = serving.make_server(HOST, 0, app, threaded=True, request_handler=_quiet_request_handler(serving))
            # serve_forever checks for shutdown() every poll_interval (0.5 s by default: half a second per test)
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="api-playground", daemon=True
            )
            thread.start()
            try:
                yield ApiPlaygroundServer(
                    base_url=f"http://{HOST}:{server.server_port}",
                    credentials=credentials_of(package),
                    rate_limit=rate_limit,
                )
            finally:
                server.shutdown()
                thread.join(timeout=10)
                server.server_close()
        finally:
            for key, value in saved_config.items():
                if value is _ABSENT:
                    app.config.pop(key, None)
                else:
                    app.config[key] = value
            limiter._bucket = saved_bucket
    finally:
        _one_at_a_time.release()
