"""The resilient HTTP client: every request of a sync goes through here.

One request, outermost first:
    concurrency limit (`http/limit.py`: adaptive between 1 and `max_workers`, or fixed at `max_workers`)
    -> shared wait gate (a server's wait hint, on any response, pauses every request to the host)
    -> server pace (the last requests of an announced quota are spread until it resets; only without
       `requests_per_second`)
    -> rate limiter (`requests_per_second`, aiolimiter, no burst) -> the gate again, if a pause began meanwhile
    -> circuit breaker (open: refused locally, and we wait for the probe instead of burning retries)
    -> one HTTP attempt bounded by `api_timeout_seconds`, connect to last byte; the body decoded with a bound
and around it the retry loop: backoff with jitter, never shorter than the server's hint; when the retry budget is
spent, the retry is deferred (it waits, and the concurrency limit shrinks) instead of the page being lost.

Every attempt ends in one `Signal` (`http/signals.py`) that the breaker and the concurrency limit both read: one
model of "the server is struggling".

aiohttp's exceptions are translated to `async_core.errors` here and nowhere else.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp
from aiohttp import hdrs

from async_core.errors import (
    CircuitOpenError,
    CredentialsExpired,
    FatalError,
    FetchError,
    ForeignOriginError,
    RetryableError,
)
from async_core.http.body import BodyTooLarge, BoundedBody
from async_core.http.breaker import CircuitBreaker
from async_core.http.decision import GiveUp, RetryDecision, RetryRules
from async_core.http.exchange import LazyLinks, Request, Response, home_prefix
from async_core.http.hints import has_rate_headers, parse_quota, parse_wait_hint
from async_core.http.limit import ConcurrencyLimit
from async_core.http.pacing import ServerPace, WaitGate, make_rate_limiter
from async_core.http.policy import Counters, HttpPolicy
from async_core.http.responses import (
    MAX_REDIRECTS,
    REDIRECT_STATUSES,
    Origin,
    api_error_code,
    check_status,
    decode_json,
    decode_judged,
    origin,
    redirect_target,
    too_large,
)
from async_core.http.retry import Backoff, RetryBudget
from async_core.http.secret_params import cause, hide, with_params, without_params
from async_core.http.signals import BREAKER_FAILURES, BREAKER_SUCCESSES, Signal, classify

MIB = 1024 * 1024
# A body value this long found inside an error code is taken for an echoed secret (a shorter one must be the code).
MIN_ECHO = 6


class ApiClient:
    """Fetches JSON documents from one origin, with every resilience mechanism of the connector.

    One breaker, one wait gate and one limiter per client; a sync has one client per source, so they are per
    host. Only the event loop thread uses it.

    Every URL is checked against the home origin (scheme, host, port of `base_url`) before it leaves: a URL on
    another origin is refused (`ForeignOriginError`) unless its host is in `allowed_hosts`, and even then it goes
    without the request's credentials. Its knobs are one `HttpPolicy`; it reports into `metrics`, any `Counters`.
    """

    def __init__(
        self,
        policy: HttpPolicy,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        metrics: Counters,
        allowed_hosts: frozenset[str] = frozenset(),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._policy = policy
        self._session = session
        self._metrics = metrics
        self._sleep = sleep
        self._random = rng if rng is not None else random.Random()
        self.limit = ConcurrencyLimit(
            maximum=policy.max_workers,
            initial=policy.concurrency_initial,
            mode=policy.concurrency,
            min_gain=policy.concurrency_min_gain_percent / 100,
            on_change=metrics.concurrency.record,
        )
        metrics.concurrency.mode = policy.concurrency.value
        self._limiter = make_rate_limiter(policy.requests_per_second)
        self.gate = WaitGate(sleep=sleep)
        self.pace = ServerPace(sleep=sleep) if policy.requests_per_second == 0 else None
        self.breaker = (
            CircuitBreaker(
                failure_threshold=policy.failure_threshold,
                recovery_timeout=policy.recovery_timeout,
                failure_rate=policy.breaker_failure_percent / 100,
                window=policy.breaker_window,
                minimum_calls=policy.breaker_minimum_calls,
                half_open_probes=policy.breaker_half_open_probes,
            )
            if policy.enable_circuit_breaker
            else None
        )
        self.budget = RetryBudget(percent=policy.retry_budget_percent)
        self._rules = retry_rules(policy, self._random)
        self._origin = origin(base_url)
        self._home_prefix = home_prefix(base_url)
        self._allowed_hosts = frozenset(host.lower() for host in allowed_hosts)
        # A body larger than the whole memory budget could never be held: refused while streaming, like one over
        # max_response_mb, naming whichever bound is the smaller.
        self._max_bytes = int(min(policy.max_response_mb, policy.memory_budget_mb) * MIB)
        self._size_bound = (
            f"max_response_mb ({policy.max_response_mb:g} MB)"
            if policy.max_response_mb <= policy.memory_budget_mb
            else f"the memory budget (memory_budget_mb, {policy.memory_budget_mb:g} MB)"
        )

    async def fetch(
        self,
        request: Request | str,
        *,
        check: Callable[[Response], None] | None = None,
        judged: frozenset[int] = frozenset(),
    ) -> Response:
        """Sends `request` until it gives a JSON document, or raises a `FetchError` / `WaitTooLongError`.

        Retries `RetryableError`s up to `max_retries` times. A retry the budget refuses is deferred, not dropped:
        it waits max(backoff, U(max_delay / 2, max_delay)), the concurrency limit shrinks, and it goes; the page
        is given up only when its `max_retries` are spent, or when its deferrals would pass `max_wait_seconds`.
        Waits for an open breaker (not an attempt) for at most `max_wait_seconds` in all. `check` judges a
        response that arrived (the source layer's "an empty page inside the total is not the end"): what it
        raises is handled like the same error from the server, so a `RetryableError` from it is retried. A
        response whose status is in `judged` is not classified here: it goes to `check` with its status and its
        body (JSON, or None), and `check` must raise for what it does not accept (a source's error rules read
        these; the breaker and the limit count such a response as the server having answered).
        """
        if isinstance(request, str):
            request = Request(request)
        self.budget.note_request()
        decision = RetryDecision(self._rules, spend=self.budget.try_spend)  # what to do next: `http/decision.py`
        while True:
            try:
                response = await self._attempt(request, judged)
                if check is not None:
                    check(response)
            except CircuitOpenError as exc:  # refused locally: not an attempt, not a retry; wait for the probe
                self._metrics.breaker_rejections += 1
                await self._sleep(decision.refused(exc).seconds)
                continue
            except RetryableError as exc:
                action = decision.failed(exc)
                if exc.wait_hint is not None:
                    self.gate.pause_for(exc.wait_hint)
                if isinstance(action, GiveUp):
                    if action.budget_spent:
                        self._metrics.budget_refusals += 1
                    raise
                if action.deferred:
                    self.budget.spend_deferred()
                    self.limit.overload()
                    self._metrics.retries_deferred += 1
                self._metrics.retries += 1
                await self._sleep(action.seconds)
                continue
            except FetchError as exc:
                decision.fatal(exc)
                raise
            outcome = decision.succeeded()
            if outcome.retried:
                self._metrics.retries_succeeded += 1
            if outcome.recovered_from is None and outcome.attempts == response.attempts:
                return response  # the first attempt answered: nothing to add (the common case, per page)
            return dataclasses.replace(
                response,
                attempts=outcome.attempts,
                recovered_from=outcome.recovered_from,
                recovered_rule=outcome.recovered_rule,
            )

    async def _attempt(self, request: Request, judged: frozenset[int] = frozenset()) -> Response:
        """One attempt. Inside a slot of the concurrency limit, in this order: the shared wait gate, the server's
        pace, the rate limiter (and the gate again if a pause began while waiting there), the breaker (raises
        `CircuitOpenError`), the request. The gate and the breaker are asked last, right before the request
        leaves, so that requests queued for a slot when a 429 or an outage arrived do not slip through; the gate
        comes before the limiter, so that requests held by a pause leave at the limiter's pace when it ends.
        """
        limit = self.limit
        ticket = await limit.acquire()
        signal = Signal.NONE
        paused = False  # waited out a server's pause: this attempt's time says nothing about concurrency
        try:
            max_wait = self._policy.max_wait_seconds  # every wait bounded: past it, the page is given up
            while True:
                waited = await self.gate.wait(max_wait)
                if waited:
                    paused = True
                    self._metrics.gate_waits += 1
                    self._metrics.gate_wait_seconds += waited
                if self.pace is not None:
                    await self.pace.wait(max_wait)
                if self._limiter is None:
                    break
                await self._limiter.acquire()
                if self.gate.is_open():
                    break
            if request.valid_until is not None and time.monotonic() >= request.valid_until:
                raise CredentialsExpired("the token expired while the request waited; not sent")
            permit = await self.breaker.acquire() if self.breaker else None
            metrics = self._metrics
            metrics.requests += 1
            metrics.in_flight += 1
            try:
                async with asyncio.timeout(self._policy.api_timeout_seconds):
                    response = await self._exchange(request, judged)
            except TimeoutError as exc:
                signal = Signal.TIMEOUT
                raise RetryableError(f"no complete response within {self._policy.api_timeout_seconds:g} s") from exc
            except FetchError as exc:
                signal = classify(exc)
                raise
            else:
                signal = Signal.OK
                if has_rate_headers(response.headers):
                    self._learn_quota(response.headers)
                return response
            finally:
                metrics.in_flight -= 1
                if permit:
                    if signal in BREAKER_SUCCESSES:
                        permit.success()
                    elif signal in BREAKER_FAILURES:
                        permit.failure()
                    permit.release()  # frees a probe slot whose outcome was not recorded (cancelled, throttled)
        finally:
            limit.release(ticket, signal, paused=paused)

    def _learn_quota(self, headers: Mapping[str, str]) -> None:
        """A successful response that speaks of the server's quota: a spent one closes the gate until its reset
        (if that is within max_wait_seconds; a longer one is met by the next request's 429), and an announced one
        sets the server pace."""
        now = time.time()
        hint = parse_wait_hint(headers, now=now)
        if hint is not None and 0 < hint <= self._policy.max_wait_seconds:
            self.gate.pause_for(hint)
        if self.pace is not None:
            quota = parse_quota(headers, now=now)
            if quota is not None:
                self.pace.observe(quota[0], quota[1], self.limit.limit)

    async def _exchange(self, request: Request, judged: frozenset[int] = frozenset()) -> Response:
        """The HTTP exchange, with redirects followed by hand under the same origin policy as any other URL."""
        url = request.url
        method = request.method
        body, form = request.json_body, request.form_body
        own_home = origin(request.home) if request.home else None  # a login's own origin, else the client's
        home = own_home or self._origin
        secret = request.secret_params
        for _ in range(MAX_REDIRECTS + 1):
            # None for the client's own origin: `_headers_for` then checks the URL by its prefix, without a parse
            headers = self._headers_for(url, request.credentials, own_home)
            if (body is not None or form is not None) and origin(url) != home:  # a login body is a credential too
                raise ForeignOriginError(f"refused to send a request body to another origin ({origin(url)[1]})")
            sent = with_params(url, secret) if secret and origin(url) == home else url
            try:
                async with self._session.request(
                    method, sent, headers=headers, json=body, data=form, allow_redirects=False
                ) as response:
                    if response.status in REDIRECT_STATUSES:
                        target = redirect_target(url, response.status, response.headers.get("Location"))
                        # A server that echoes the key in a Location (a link to another origin must not carry it)
                        url = without_params(target, secret.keys(), values=secret.values())
                        if response.status in (301, 302, 303) and method != "GET":
                            method, body, form = "GET", None, None  # as browsers do: only 307 and 308 repeat it
                        continue
                    status = response.status
                    try:
                        check_status(status, response.headers, judged=judged)
                    except FatalError as exc:
                        if 400 <= status < 500:  # what the API calls its error, for sync_errors
                            code = await self._error_code(response)
                            if code is not None and not _echoes(code, request, secret):
                                exc.args = (f"{exc} (API error code {code!r})",)
                        raise
                    raw = await self._read_body(response)
                    body = (
                        decode_judged(raw)
                        if status in judged
                        else decode_json(status, raw, parse_float=request.parse_float)
                    )
                    links = LazyLinks(response)
                    return Response(
                        body=body, headers=response.headers, url=url, links=links, status=status, size=len(raw)
                    )
            except aiohttp.ClientPayloadError as exc:
                raise RetryableError(hide(f"response body cut short: {exc}", secret)) from cause(exc, secret)
            except aiohttp.ClientConnectionError as exc:
                what = f"connection failed: {type(exc).__name__}: {exc}"
                raise RetryableError(hide(what, secret)) from cause(exc, secret)
            except aiohttp.ClientResponseError as exc:
                what = f"malformed response: {exc.message}"
                raise RetryableError(hide(what, secret), status=exc.status) from cause(exc, secret)
            except aiohttp.ClientError as exc:  # InvalidURL among them: its message is the URL, key and all
                what = f"request failed: {type(exc).__name__}: {exc}"
                raise RetryableError(hide(what, secret)) from cause(exc, secret)
            except ValueError as exc:  # aiohttp refuses the URL itself (a malformed link): the same every time
                raise FatalError(hide(f"refused URL: {exc}", secret)) from cause(exc, secret)
        raise FatalError(f"more than {MAX_REDIRECTS} redirects")

    def _headers_for(
        self, url: str, credentials: Mapping[str, str], home: Origin | None = None
    ) -> Mapping[str, str] | None:
        """The request's credentials when `url` is on the home origin; none on an allowed host; refused elsewhere.
        A URL with user info is refused wherever it points: it would carry a credential of its own."""
        prefix = self._home_prefix if home is None else None
        if prefix is not None and url.startswith(prefix) and url[len(prefix) : len(prefix) + 1] in ("/", "?", "#", ""):
            return credentials or None  # the home authority, as base_url spells it: no parse needed (hot path)
        parts = urlsplit(url)
        if parts.username is not None or parts.password is not None:
            raise ForeignOriginError("refused a URL with user info (user:password@): credentials come from the source")
        target = origin(url)
        if target == (home or self._origin):
            return credentials or None
        if target[1] in self._allowed_hosts and target[0] == "https":
            return None
        raise ForeignOriginError(
            f"refused a URL on another origin ({target[0]}://{target[1]}:{target[2]}); only "
            f"{self._origin[0]}://{self._origin[1]}:{self._origin[2]} is trusted: pagination links and redirects "
            "must stay there (or the host must be listed as allowed, and then no credentials are sent)"
        )

    async def _error_code(self, response: aiohttp.ClientResponse) -> str | None:
        """The error code in a 4xx response's JSON body, or None (no JSON, too large, cut short: the status says
        enough, and reading an error body must never hide the error)."""
        if "json" not in response.headers.get("Content-Type", "").lower():
            return None
        try:
            return api_error_code(await self._read_body(response))
        except Exception:
            return None

    async def _read_body(self, response: aiohttp.ClientResponse) -> bytes:
        """The decoded body, refused as soon as it is larger than `max_response_mb` (see `http/body.py`): a
        Content-Length over the limit before reading, a decoded size over it while streaming."""
        limit = self._max_bytes
        if response.content_length is not None and response.content_length > limit:
            raise too_large(response.status, self._size_bound)
        body = BoundedBody(response.headers.get(hdrs.CONTENT_ENCODING), limit=limit)
        try:
            async for chunk in response.content.iter_any():
                body.feed(chunk)
        except BodyTooLarge:
            raise too_large(response.status, self._size_bound) from None
        return body.finish()


def _echoes(text: str, request: Request, secret: Mapping[str, str]) -> bool:
    """Whether `text` (an API's error code) holds a credential the request carried: a header's value or its token
    ("Bearer abc" gives "abc"), a secret parameter's value, or a value of its body (a login's password, an OAuth2
    client's secret in the form; a short one only when it is the whole code). Such a code is not shown."""
    values = {**secret}
    for name, value in request.credentials.items():
        values[name] = value
        values[name + " token"] = value.rpartition(" ")[2]
    if hide(text, values) != text:
        return True
    sent = [*(request.form_body or {}).values(), *map(_basic_password, request.credentials.values())]
    if isinstance(request.json_body, Mapping):
        sent += [value for value in request.json_body.values() if isinstance(value, str)]
    return any(text == value or (len(value) >= MIN_ECHO and value in text) for value in sent if value)


def _basic_password(value: str) -> str:
    """The password of a Basic credential ("" for any other): a server may echo it decoded."""
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        return base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")[2]
    except ValueError:  # binascii.Error and UnicodeDecodeError among them: not a pair we made
        return ""


def retry_rules(policy: HttpPolicy, rng: random.Random) -> RetryRules:
    """The retry decision's rules from a client's policy (the async client's and the threaded baseline's)."""
    backoff = Backoff(
        policy.retry_strategy, policy.retry_jitter, base_delay=policy.base_delay, max_delay=policy.max_delay, rng=rng
    )
    return RetryRules(
        backoff=backoff,
        max_retries=policy.max_retries,
        max_delay=policy.max_delay,
        max_wait_seconds=policy.max_wait_seconds,
        rng=rng,
    )


class Settleable(Protocol):
    """A breaker permit: async_core's, or the threaded baseline's."""

    def success(self) -> None: ...

    def failure(self) -> None: ...


def settle(permit: Settleable | None, error: FetchError | None) -> None:
    """Records an attempt's outcome on its breaker permit, by its `Signal` (`http/signals.py`): success when the
    server answered (data, or a 4xx such as 404: it is up), failure when it is broken (5xx but a throttling 503,
    timeout, reset, bad JSON), nothing when it only asked to slow down (408, 425, 429, 503 with a wait hint) or
    refused something of ours without a status. (The async client settles from its own signal, which also knows
    timeouts; this is the threaded baseline's entry.)"""
    if permit is None:
        return
    signal = classify(error)
    if signal in BREAKER_SUCCESSES:
        permit.success()
    elif signal in BREAKER_FAILURES:
        permit.failure()
