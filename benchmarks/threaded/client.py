"""The threaded example's `RetryableAPIClient`, on async_core's rules: the same request path, blocking.

One request, outermost first, in `async_core.http.client.ApiClient`'s order:
    rate limiter -> shared wait gate -> circuit breaker -> one HTTP attempt (this thread's requests.Session)
and around it the async client's own retry decision (`async_core.http.decision.RetryDecision`: backoff with jitter,
never shorter than the server's hint, a spent `RetryBudget` deferring a retry rather than dropping it), driven
here with blocking sleeps. There is no semaphore: the pool's
`max_workers` threads are the bound on requests in flight.

Differences that belong to the concurrency model and nothing else:
- `requests` applies `api_timeout_seconds` to the connect and to each read, not to the whole exchange as
  `asyncio.timeout` does (this is what the original example does too);
- `trust_env` is off, as aiohttp's session in async_core does not read proxy settings from the environment either
  (with it on, `requests` looks at the environment on every request: slower, and not what we compare).

Tuned as the async side is (issue 13): no cookie jar (`_NoCookies`, as aiohttp's `DummyCookieJar`), the `Link`
header parsed once per page (`response.links` is recomputed on every access), the body read in one call when its
length is known (as `await response.read()`).

requests' exceptions are translated to `async_core.errors` here and nowhere else.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from async_core.errors import (
    CircuitOpenError,
    FatalError,
    FetchError,
    RetryableError,
)
from async_core.http.client import retry_rules, settle
from async_core.http.decision import GiveUp, RetryDecision
from async_core.http.responses import (
    MAX_REDIRECTS,
    REDIRECT_STATUSES,
    check_status,
    decode_rows,
    origin,
    redirect_target,
    too_large,
    total_count,
)
from async_core.http.retry import RetryBudget
from async_core.http.session import SESSION_HEADERS
from async_core.settings import Settings
from benchmarks.devtools import requests
from benchmarks.threaded.breaker import Permit, ThreadedCircuitBreaker
from benchmarks.threaded.counters import SharedCounters
from benchmarks.threaded.limits import ThreadedWaitGate, make_paced_limiter

MIB = 1024 * 1024
# urllib3's exceptions, which `raw.read()` raises as they are (requests wraps them only in `.content`).
_urllib3 = requests.models
Session = Any  # requests.Session (requests is imported by name: see benchmarks/devtools.py)
Response = Any  # requests.Response


class _NoCookies(requests.cookies.RequestsCookieJar):  # type: ignore[misc]
    """A cookie jar that keeps nothing and adds nothing (aiohttp's `DummyCookieJar`): requests otherwise parses
    every response's cookies into the session's jar and writes them back into every request."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def add_cookie_header(self, request: Any) -> None:
        return None


@dataclasses.dataclass(frozen=True)
class Page:
    """A successful response: the rows, and what it says about the rest of the collection."""

    rows: list[Any]
    total: int | None  # X-Total-Count, when the server sends it
    next_url: str | None  # the Link header's rel="next", when the server sends it
    has_links: bool  # the response had a Link header (so no rel="next" means this was the last page)
    attempts: int
    recovered_from: str | None = None  # the last error before success, when a retry was needed


class ThreadedApiClient:
    """Fetches JSON arrays from one host for many worker threads; each thread has its own `requests.Session`."""

    def __init__(
        self,
        settings: Settings,
        *,
        base_url: str,
        counters: SharedCounters,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._counters = counters
        self._sleep = sleep
        self._local = threading.local()
        self._sessions: list[Session] = []
        self._sessions_lock = threading.Lock()
        self._limiter = make_paced_limiter(settings.requests_per_second)
        self.gate = ThreadedWaitGate(sleep=sleep)
        self.breaker = (
            ThreadedCircuitBreaker(
                failure_threshold=settings.failure_threshold, recovery_timeout=settings.recovery_timeout
            )
            if settings.enable_circuit_breaker
            else None
        )
        self.budget = RetryBudget(percent=settings.retry_budget_percent)
        self._budget_lock = threading.Lock()
        self._rules = retry_rules(settings.http_policy(), rng if rng is not None else random.Random())
        self._origin = origin(base_url)
        self._max_bytes = int(settings.max_response_mb * MIB)
        self._timeout = (settings.api_timeout_seconds, settings.api_timeout_seconds)

    def session(self) -> Session:
        """This thread's session (the original example's `requests.Session`, one per thread as they are not
        thread-safe), created on first use."""
        session: Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False
            session.cookies = _NoCookies()
            session.headers.update(SESSION_HEADERS)
            api_key = self._settings.source_values.get("api_key")  # the jsonplaceholder source's key
            if api_key:
                session.headers["Authorization"] = f"Bearer {api_key}"
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        """Closes every thread's session (call after the pool has shut down)."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def fetch(self, url: str) -> Page:
        """GETs `url` until it gives a JSON array, or raises a `FetchError` / `WaitTooLongError`.

        The contract of `async_core.http.client.ApiClient.fetch`, by the same decision (`async_core.http.decision`):
        retries `RetryableError`s up to `max_retries` times, a retry the budget refuses deferred rather than dropped;
        waits for an open breaker for at most `max_wait_seconds` in all.
        """
        with self._budget_lock:
            self.budget.note_request()
        decision = RetryDecision(self._rules, spend=self._spend)  # the async client's decision, driven blocking
        while True:
            if self._limiter is not None:
                self._limiter.acquire()
            waited = self.gate.wait()
            if waited:
                self._counters.add_wait(waited)
            try:
                permit = self.breaker.acquire() if self.breaker else None
            except CircuitOpenError as exc:
                self._counters.add("breaker_rejections")
                self._sleep(decision.refused(exc).seconds)
                continue
            try:
                page = self._attempt(url, permit)
            except RetryableError as exc:
                action = decision.failed(exc)
                if exc.wait_hint is not None:
                    self.gate.pause_for(exc.wait_hint)
                if isinstance(action, GiveUp):
                    if action.budget_spent:
                        self._counters.add("budget_refusals")
                    raise
                if action.deferred:
                    with self._budget_lock:
                        self.budget.spend_deferred()
                    self._counters.add("retries_deferred")
                self._counters.add("retries")
                self._sleep(action.seconds)
                continue
            except FetchError as exc:
                decision.fatal(exc)
                raise
            outcome = decision.succeeded()
            if outcome.retried:
                self._counters.add("retries_succeeded")
            return dataclasses.replace(page, attempts=outcome.attempts, recovered_from=outcome.recovered_from)

    def _spend(self) -> bool:
        """A retry from the shared budget, under its lock (the worker threads share it)."""
        with self._budget_lock:
            return self.budget.try_spend()

    def _attempt(self, url: str, permit: Permit | None) -> Page:
        """One attempt: the request. Settles the breaker permit as async_core does."""
        try:
            self._counters.add("requests")
            page = self._get(url)
        except FetchError as exc:
            settle(permit, exc)
            raise
        else:
            settle(permit, None)
            return page
        finally:
            if permit:
                permit.release()

    def _get(self, url: str) -> Page:
        """The HTTP exchange, with same-origin redirects followed by hand."""
        session = self.session()
        for _ in range(MAX_REDIRECTS + 1):
            try:
                with session.get(url, allow_redirects=False, stream=True, timeout=self._timeout) as response:
                    self._counters.note_status(response.status_code)
                    if response.status_code in REDIRECT_STATUSES:
                        location = response.headers.get("Location")
                        url = redirect_target(url, response.status_code, location, self._origin)
                        continue
                    return self._read_page(response)
            except (requests.Timeout, _urllib3.ReadTimeoutError) as exc:
                raise RetryableError(f"no response within {self._settings.api_timeout_seconds:g} s") from exc
            except (
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
                _urllib3.ProtocolError,  # from `raw.read()`: a body shorter than its Content-Length, a reset
                _urllib3.DecodeError,
            ) as exc:
                raise RetryableError(f"response body cut short: {exc}") from exc
            except requests.ConnectionError as exc:
                raise RetryableError(f"connection failed: {type(exc).__name__}: {exc}") from exc
            except requests.RequestException as exc:
                raise RetryableError(f"request failed: {type(exc).__name__}: {exc}") from exc
        raise FatalError(f"more than {MAX_REDIRECTS} redirects")

    def _read_page(self, response: Response) -> Page:
        status = response.status_code
        check_status(status, response.headers)
        rows = decode_rows(status, self._read_body(response))
        links = response.links  # a property that parses the header again on every access
        next_link = links.get("next")
        next_url = str(next_link.get("url")) if next_link else None
        total = total_count(response.headers)
        return Page(rows=rows, total=total, next_url=next_url, has_links=bool(links), attempts=1)

    def _read_body(self, response: Response) -> bytes:
        """The body, refused as soon as it is larger than `max_response_mb`."""
        limit = self._max_bytes
        refused = too_large(response.status_code, f"max_response_mb ({self._settings.max_response_mb:g} MB)")
        length = response.headers.get("Content-Length", "")
        if length.strip().isdigit():
            if int(length) > limit:
                raise refused
            body: bytes = response.raw.read(decode_content=True)  # one read, as aiohttp's `read()`
            return body
        buffer = bytearray()
        for chunk in response.iter_content(chunk_size=64 * 1024):
            buffer += chunk
            if len(buffer) > limit:
                raise refused
        return bytes(buffer)
