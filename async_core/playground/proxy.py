"""A fault-injecting proxy: the playground's faults in front of any JSONPlaceholder-compatible server.

Contract: every GET (and HEAD) `path?query` is forwarded to `upstream_base_url + path?query` (with the client's
`Accept` and `Authorization` headers); the answer passes
through with its status, body, `Content-Type`, `X-Total-Count`, `Access-Control-Expose-Headers`, and `Link` with
the upstream base rewritten to the proxy's own, so that a client following Link stays on the proxy. The same
fault middleware as the playground's runs first. An upstream that cannot be reached gives 502; other methods 405.
`header_mode` drops pagination headers as the playground's does ("link_only": no X-Total-Count; "no_headers":
neither), to test a client's fallbacks against a server that sends both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import hdrs, web

from async_core.playground.faults import FaultProfile
from async_core.playground.inject import error_response, faulty_application
from async_core.playground.log import RequestLog
from async_core.playground.pagination import HEADER_MODES, HeaderMode

_PASSED_HEADERS = (hdrs.CONTENT_TYPE, "X-Total-Count", hdrs.ACCESS_CONTROL_EXPOSE_HEADERS)
_SESSION: web.AppKey[aiohttp.ClientSession] = web.AppKey("proxy_session", aiohttp.ClientSession)


def make_proxy_app(
    upstream_base_url: str,
    profile: FaultProfile | None = None,
    *,
    log: RequestLog | None = None,
    header_mode: HeaderMode = "full",
    timeout_seconds: float = 30.0,
    max_connections: int = 512,
) -> web.Application:
    """The proxy application. Its upstream session is opened on startup and closed on cleanup."""
    if header_mode not in HEADER_MODES:
        raise ValueError(f"header_mode must be one of {', '.join(HEADER_MODES)}, got {header_mode!r}")
    passed_headers = _PASSED_HEADERS if header_mode == "full" else (hdrs.CONTENT_TYPE,)
    upstream = upstream_base_url.rstrip("/")
    if not upstream.startswith(("http://", "https://")):
        raise ValueError(f"upstream_base_url must be an http(s) URL, got {upstream_base_url!r}")
    app = faulty_application(profile or FaultProfile(), log)

    async def session_context(app: web.Application) -> AsyncIterator[None]:
        # No cookies (a proxy must not mix its clients' sessions), no environment proxies, a bounded pool.
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_connections),
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=timeout_seconds),
            trust_env=False,
        )
        app[_SESSION] = session
        try:
            yield
        finally:
            await session.close()

    async def forward(request: web.Request) -> web.Response:
        if request.method not in (hdrs.METH_GET, hdrs.METH_HEAD):
            return error_response(405, "method not allowed")
        session = request.app[_SESSION]
        headers = {hdrs.ACCEPT: request.headers.get(hdrs.ACCEPT, "application/json")}
        if hdrs.AUTHORIZATION in request.headers:  # a transparent proxy: the client's credentials go upstream
            headers[hdrs.AUTHORIZATION] = request.headers[hdrs.AUTHORIZATION]
        try:
            async with session.get(upstream + request.path_qs, headers=headers, allow_redirects=False) as answer:
                body = await answer.read()
                passed = {name: answer.headers[name] for name in passed_headers if name in answer.headers}
                if hdrs.LINK in answer.headers and header_mode != "no_headers":
                    own = f"{request.scheme}://{request.host}"
                    passed[hdrs.LINK] = answer.headers[hdrs.LINK].replace(upstream, own)
                return web.Response(status=answer.status, body=body, headers=passed)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return error_response(502, f"upstream failed: {type(exc).__name__}")

    app.cleanup_ctx.append(session_context)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app
