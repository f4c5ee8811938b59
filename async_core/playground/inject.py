"""Fault injection as an aiohttp middleware: in front of the playground's handlers or of the proxy's.

Contract of the middleware, per request:
1. the fault is decided on arrival (`FaultDecider`, so the sequence follows the order of arrival);
2. with a `capacity`, a request arriving above it waits `capacity_delay` more, and one above twice it gets a 503;
   then `latency_ms` is slept, whatever the outcome;
3. the fault, if any, is applied (see `FaultKind`); `stall` and `truncated` run the real handler, the others
   answer without it; a stall still running when the server shuts down ends at once, its connection dropped;
4. a `RequestRecord` is appended to the log when the request is done, even if it was cancelled.

`FaultInjector.set_profile` swaps the profile (and restarts its random stream) while the server runs; the swap
is a single attribute assignment, so it is safe from another thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import math
import time
from typing import Any

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from async_core.playground.faults import FaultDecider, FaultKind, FaultProfile, capacity_delay
from async_core.playground.log import NO_RESPONSE, RequestLog, RequestRecord

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
# What a proxy in trouble might send with a 200: the start of a JSON document, cut off.
INVALID_JSON_BODY = b'[{"userId": 1, "id": 1, "title": "sunt aut'


class FaultInjector:
    """The fault state of one server: the current profile's decider, the clock of outages, the request log, and
    the requests in flight (so that shutdown can wake stalls and wait for every handler)."""

    def __init__(self, profile: FaultProfile, log: RequestLog | None = None) -> None:
        self.decider = FaultDecider(profile)
        self.log = log
        self.started = time.monotonic()  # outage windows count from here; reset when the app starts
        self._closing: asyncio.Event | None = None
        self._in_flight: set[asyncio.Task[Any]] = set()

    @property
    def profile(self) -> FaultProfile:
        return self.decider.profile

    def set_profile(self, profile: FaultProfile) -> None:
        """Applies `profile` to the requests that arrive from now on (outage windows still count from start)."""
        self.decider = FaultDecider(profile)

    async def on_startup(self, _app: web.Application) -> None:
        self.started = time.monotonic()
        self._closing = asyncio.Event()

    async def on_shutdown(self, _app: web.Application) -> None:
        """Ends every stall at once: a stalled request is dropped (no response), it does not hold the shutdown."""
        if self._closing is not None:
            self._closing.set()

    async def drain(self, grace_seconds: float) -> None:
        """Waits up to `grace_seconds` for the handlers still running, then cancels the rest.

        Needed after the runner's cleanup: aiohttp forgets a connection as soon as its client goes away, but not
        the handler that was serving it, which would otherwise outlive the server.
        """
        if not self._in_flight:
            return
        _, pending = await asyncio.wait(set(self._in_flight), timeout=grace_seconds)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    def middleware(self) -> Middleware:
        """The middleware; install it first in the application's list, so that it wraps everything else."""

        @web.middleware
        async def inject_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
            arrived = time.monotonic()
            decider = self.decider  # one read: a concurrent set_profile cannot mix two profiles in a request
            fault = decider.decide(arrived - self.started)
            task = asyncio.current_task()
            if task is not None:
                self._in_flight.add(task)
            status = NO_RESPONSE
            try:
                response, answered = await self._respond(request, handler, fault, decider.profile)
                if answered:
                    status = response.status
                return response
            except web.HTTPException as exc:
                status = exc.status
                raise
            finally:
                self._in_flight.discard(task)
                if self.log is not None:
                    self.log.append(
                        RequestRecord(arrived, request.method, request.path, request.query_string, fault, status)
                    )

        return inject_faults

    async def _respond(
        self, request: web.Request, handler: Handler, fault: FaultKind | None, profile: FaultProfile
    ) -> tuple[web.StreamResponse, bool]:
        """The response, and whether it is one (False: the connection was dropped instead)."""
        if profile.capacity:
            extra = capacity_delay(profile, len(self._in_flight))
            if extra is None:
                return error_response(503, "over capacity"), True
            if extra:
                await asyncio.sleep(extra)
        if profile.latency_ms:
            await asyncio.sleep(profile.latency_ms / 1000)
        if fault is None:
            return await handler(request), True
        if fault == "stall":
            if await self._stalled(profile.stall_seconds):
                return _reset(request), False
            return await handler(request), True
        if fault == "reset":
            return _reset(request), False
        if fault == "truncated":
            return await _truncated(request, await handler(request)), True
        return _fault_response(fault, profile), True

    async def _stalled(self, seconds: float) -> bool:
        """Sleeps `seconds`, or less if the server shuts down meanwhile; True in that case."""
        closing = self._closing
        if closing is None:  # not started through a runner (a bare handler test): a plain sleep
            await asyncio.sleep(seconds)
            return False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await closing.wait()
        return closing.is_set()


def _fault_response(fault: FaultKind, profile: FaultProfile) -> web.Response:
    """The answer of a fault that needs no handler."""
    if fault == "rate_limit_seconds":
        return error_response(429, "rate limited", {hdrs.RETRY_AFTER: str(profile.retry_after_seconds)})
    if fault == "rate_limit_date":
        # Rounded up to the next whole second, so the date is at least retry_after_seconds ahead.
        date = email.utils.formatdate(math.ceil(time.time()) + profile.retry_after_seconds, usegmt=True)
        return error_response(429, "rate limited", {hdrs.RETRY_AFTER: date})
    if fault == "server_error":
        return error_response(500, "internal server error")
    if fault == "invalid_json":
        return web.Response(body=INVALID_JSON_BODY, headers={hdrs.CONTENT_TYPE: JSON_CONTENT_TYPE})
    return error_response(503, "service unavailable")  # unavailable, outage


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = json.dumps({"error": message}).encode()
    return web.Response(status=status, body=body, headers={hdrs.CONTENT_TYPE: JSON_CONTENT_TYPE, **(headers or {})})


async def _truncated(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """The real response's status and headers with a Content-Length of its whole body, half the body, then the
    connection closed: the client sees the body end early."""
    body = response.body if isinstance(response, web.Response) else None
    full = bytes(body) if isinstance(body, bytes | bytearray) else b""
    stream = web.StreamResponse(status=response.status, headers=response.headers)
    stream.content_length = max(len(full), 1)  # an empty body still promises a byte it never sends
    await stream.prepare(request)
    await stream.write(full[: len(full) // 2])
    if request.transport is not None:
        request.transport.close()  # close, not abort: the bytes written so far are flushed first
    return stream


def _reset(request: web.Request) -> web.StreamResponse:
    """Aborts the connection (no response, no FIN: the client sees a disconnection at once, never a hang).

    aiohttp then fails to write the returned response and treats it as a client disconnection, quietly.
    """
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=502)


INJECTOR: web.AppKey[FaultInjector] = web.AppKey("fault_injector", FaultInjector)


def faulty_application(profile: FaultProfile, log: RequestLog | None) -> web.Application:
    """A new application whose first middleware injects `profile`'s faults; its injector is `app[INJECTOR]`."""
    injector = FaultInjector(profile, log)
    app = web.Application(middlewares=[injector.middleware()])
    app[INJECTOR] = injector
    app.on_startup.append(injector.on_startup)
    app.on_shutdown.append(injector.on_shutdown)
    return app
