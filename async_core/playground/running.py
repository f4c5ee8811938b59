"""Running the playground: in the caller's event loop (`async with Playground(...)`), or in a thread of its own
(`with Playground(...).in_thread()`), on 127.0.0.1 and an ephemeral port by default.

Contract: once entered, `base_url` answers; on exit, the listening socket, every connection and every handler
are gone (a stalled handler is cancelled after `shutdown_timeout`, never waited for), and the threaded variant's
thread has ended. `requests` is the log of what the server saw; `set_profile` changes the faults of the requests
that arrive from then on, and may be called from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType

from aiohttp import web

from async_core.playground.faults import FaultProfile
from async_core.playground.faults import profile as named_profile
from async_core.playground.inject import INJECTOR
from async_core.playground.log import RequestLog
from async_core.playground.pagination import HeaderMode
from async_core.playground.proxy import make_proxy_app
from async_core.playground.server import make_app

START_TIMEOUT_SECONDS = 10.0


class Playground:
    """The playground server, started by `start()` / `async with`, stopped by `stop()` / leaving the block.

    `profile` is a FaultProfile or a profile name ("none" by default). With `upstream`, the server is the
    fault-injecting proxy in front of that URL instead (then `scale` does not apply).
    """

    def __init__(
        self,
        profile: FaultProfile | str | None = None,
        *,
        scale: int = 1,
        header_mode: HeaderMode = "full",
        upstream: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        log_limit: int | None = None,
        shutdown_timeout: float = 0.25,
    ) -> None:
        self._profile = named_profile(profile) if isinstance(profile, str) else profile or FaultProfile()
        self._scale = scale
        self._header_mode: HeaderMode = header_mode
        self._upstream = upstream
        self._host = host
        self._port = port
        self._shutdown_timeout = shutdown_timeout
        self.requests = RequestLog(maxlen=log_limit)
        self._app: web.Application | None = None
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

    @property
    def base_url(self) -> str:
        """`http://HOST:PORT`, without a trailing slash. Only while running."""
        if self._base_url is None:
            raise RuntimeError("the playground is not running")
        return self._base_url

    @property
    def profile(self) -> FaultProfile:
        return self._app[INJECTOR].profile if self._app is not None else self._profile

    def set_profile(self, profile: FaultProfile | str) -> None:
        """Changes the faults, at once if running, else from start. Outage windows still count from start."""
        self._profile = named_profile(profile) if isinstance(profile, str) else profile
        if self._app is not None:
            self._app[INJECTOR].set_profile(self._profile)

    def reset_log(self) -> None:
        self.requests.clear()

    def make_app(self) -> web.Application:
        """A fresh application for this playground's settings, writing to its log."""
        if self._upstream is not None:
            return make_proxy_app(self._upstream, self._profile, log=self.requests, header_mode=self._header_mode)
        return make_app(scale=self._scale, profile=self._profile, header_mode=self._header_mode, log=self.requests)

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("the playground is already running")
        app = self.make_app()
        # No access log: it would cost more than the handler does under a benchmark's load.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=self._shutdown_timeout)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        host, port = runner.addresses[0][:2]
        self._app, self._runner = app, runner
        self._base_url = f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"

    async def stop(self) -> None:
        """Stops listening, closes connections, cancels stalled handlers. Idempotent."""
        runner, app = self._runner, self._app
        self._runner, self._app, self._base_url = None, None, None
        if runner is not None and app is not None:
            await runner.cleanup()
            await app[INJECTOR].drain(self._shutdown_timeout)  # handlers whose client left: not the runner's

    async def __aenter__(self) -> Playground:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def in_thread(self) -> ThreadedPlayground:
        """This playground, to run in an event loop on a thread of its own (for synchronous callers)."""
        return ThreadedPlayground(self)


class ThreadedPlayground:
    """A `Playground` run by its own event loop on a daemon thread, as a synchronous context manager.

    `__enter__` returns once the server listens (or re-raises why it could not start); `__exit__` stops the
    server, ends the loop and joins the thread.
    """

    def __init__(self, playground: Playground) -> None:
        self.playground = playground
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        return self.playground.base_url

    @property
    def requests(self) -> RequestLog:
        return self.playground.requests

    def set_profile(self, profile: FaultProfile | str) -> None:
        # An attribute swap, atomic under the GIL: the next request the loop handles sees the new profile.
        self.playground.set_profile(profile)

    def reset_log(self) -> None:
        self.playground.reset_log()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.playground.start()
        except BaseException as exc:
            self._error = exc
            self._started.set()
            return
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            await self.playground.stop()

    def __enter__(self) -> ThreadedPlayground:
        if self._thread is not None:
            raise RuntimeError("the threaded playground is already running")
        self._started.clear()
        self._error = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), name="playground", daemon=True)
        self._thread.start()
        if not self._started.wait(START_TIMEOUT_SECONDS):
            self._finish()
            raise RuntimeError(f"the playground did not start within {START_TIMEOUT_SECONDS:g} s")
        if self._error is not None:
            self._finish()
            raise RuntimeError(f"the playground could not start: {self._error}") from self._error
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._finish()

    def _finish(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
        thread.join(START_TIMEOUT_SECONDS)  # bounded: a wedged loop must not hang the caller forever
