"""A server-side rate limit for the playground: a token bucket in front of every request, 429 when it is empty.

Contract:
- `TokenBucket(rate, burst)` starts full (`burst` tokens) and refills `rate` tokens a second up to `burst`; time
  comes only from its `clock` (tests inject one). `take()` takes one token and returns 0.0, or takes none and
  returns the seconds until one will be there.
- `ThrottledPlayground` is a `Playground` whose application answers a request that finds the bucket empty with
  429, `Retry-After` (whole seconds, at least 1) and no body from the handlers, before the fault injector's
  latency or faults; `throttled` counts those 429s. Every response carries `X-RateLimit-Limit` (the rate).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from async_core.playground.inject import error_response
from async_core.playground.running import Playground


class TokenBucket:
    """`burst` tokens, refilled at `rate` a second."""

    def __init__(self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, got {rate!r} and {burst!r}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()

    def take(self) -> float:
        """0.0 when a token was taken; otherwise the seconds until the next token."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate:g}/s, burst={self.burst}, tokens={self._tokens:.2f})"


class ThrottledPlayground(Playground):
    """The playground behind a `TokenBucket(rate, burst)`; see the module docstring."""

    def __init__(self, *args: Any, rate: float, burst: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bucket = TokenBucket(rate, burst)
        self.throttled = 0

    def make_app(self) -> web.Application:
        app = super().make_app()
        limit = f"{self.bucket.rate:g}"

        @web.middleware
        async def throttle(request: web.Request, handler: Handler) -> web.StreamResponse:
            wait = self.bucket.take()
            response: web.StreamResponse
            if wait:
                self.throttled += 1
                response = error_response(429, "rate limit exceeded", {"Retry-After": str(max(1, math.ceil(wait)))})
            else:
                response = await handler(request)
            response.headers["X-RateLimit-Limit"] = limit
            return response

        app.middlewares.insert(0, throttle)  # outermost: decided on arrival, before latency and faults
        return app
