"""The aiohttp session of a sync: its pool, its default headers, and no cookies, proxies from the environment,
automatic decompression or timeouts of its own (the client bounds each attempt and each decoded body itself)."""

from __future__ import annotations

import aiohttp

from async_core.http.body import ACCEPT_ENCODING
from async_core.http.policy import HttpPolicy

SESSION_HEADERS = {
    "Accept": "application/json",
    "Accept-Encoding": ACCEPT_ENCODING,
    "User-Agent": "fivetran-asyncio-connector/1.0",
}


# aiohttp's own timeouts are off: every exchange runs inside its attempt's `asyncio.timeout(api_timeout_seconds)`
# (`ApiClient._attempt`), which bounds the connect, the request and the whole body. aiohttp's default (300 s total,
# 30 s to connect) would only add two timers to every request (measured: about 5 % of the loop's CPU per request).
NO_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=None, sock_read=None, sock_connect=None)


def make_session(policy: HttpPolicy) -> aiohttp.ClientSession:
    """The session of a sync: as many pooled connections as workers, no cookies kept, no env proxies, no
    automatic decompression (the client decodes with a bound on the decoded size: `http/body.py`), and no
    timeouts of aiohttp's own (each attempt has one: `NO_TIMEOUT`)."""
    connector = aiohttp.TCPConnector(limit=policy.max_workers, limit_per_host=policy.max_workers)
    return aiohttp.ClientSession(
        connector=connector,
        headers=SESSION_HEADERS,
        cookie_jar=aiohttp.DummyCookieJar(),
        raise_for_status=False,
        auto_decompress=False,
        timeout=NO_TIMEOUT,
    )
