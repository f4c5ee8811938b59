"""`python -m async_core.playground`: the playground (or the fault-injecting proxy) as a standalone server.

Contract: prints exactly one line `playground listening on http://HOST:PORT` on stdout, flushed, once it accepts
connections (with `--port 0`, the port it got), then serves until SIGINT or SIGTERM and exits 0. A one-line summary
of what it served goes to stderr on exit. Bad arguments exit 2 with argparse's message.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import signal
import sys
from collections.abc import Sequence

from async_core.playground.faults import PROFILES, RANDOM_FAULTS, FaultProfile, profile
from async_core.playground.pagination import HEADER_MODES, HeaderMode
from async_core.playground.running import Playground
from async_core.playground.throttle import ThrottledPlayground


def _outage(raw: str) -> tuple[float, float]:
    start, sep, end = raw.partition(":")
    try:
        window = (float(start), float(end))
    except ValueError:
        window = (-1.0, -1.0)
    if not sep or not 0 <= window[0] < window[1]:
        raise argparse.ArgumentTypeError(f"expected START:END seconds with 0 <= START < END, got {raw!r}")
    return window


def _fault(raw: str) -> tuple[str, float]:
    name, sep, rate = raw.partition("=")
    if not sep or name not in RANDOM_FAULTS:
        raise argparse.ArgumentTypeError(f"expected NAME=RATE with NAME one of {', '.join(RANDOM_FAULTS)}, got {raw!r}")
    try:
        value = float(rate)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the rate of {name} must be a number, got {rate!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"the rate of {name} must be between 0 and 1, got {rate!r}")
    return name, value


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m async_core.playground", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port (printed)")
    parser.add_argument("--scale", type=int, default=1, help="multiplies every collection's row count")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every response")
    parser.add_argument(
        "--capacity", type=int, default=0, help="requests served at once at full speed; above: slower, then 503"
    )
    parser.add_argument("--faults", choices=tuple(PROFILES), default="none", help="fault profile")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault sequence")
    parser.add_argument(
        "--fault", type=_fault, action="append", default=[], metavar="NAME=RATE", help="override one fault's rate"
    )
    parser.add_argument(
        "--outage", type=_outage, action="append", default=[], metavar="START:END", help="503 for every request"
    )
    parser.add_argument("--retry-after", type=int, help="seconds a 429 asks to wait")
    parser.add_argument("--stall-seconds", type=float, help="how long a stalled response stalls")
    parser.add_argument("--headers", choices=HEADER_MODES, default="full", help="pagination headers sent")
    parser.add_argument("--upstream", help="proxy this JSONPlaceholder-compatible URL instead of serving data")
    parser.add_argument("--rate-limit", type=float, help="server-side token bucket: requests/s (429 when empty)")
    parser.add_argument("--burst", type=int, default=10, help="the token bucket's size (with --rate-limit)")
    arguments = parser.parse_args(argv)
    if arguments.scale < 1:
        parser.error("--scale must be at least 1")
    if arguments.capacity < 0:
        parser.error("--capacity must not be negative")
    if arguments.rate_limit is not None and (arguments.rate_limit <= 0 or arguments.burst < 1):
        parser.error("--rate-limit must be > 0 and --burst at least 1")
    try:
        arguments.profile = build_profile(arguments)
    except ValueError as exc:
        parser.error(str(exc))
    return arguments


def build_profile(arguments: argparse.Namespace) -> FaultProfile:
    """The named profile with the command line's seed, latency, outages and overrides applied."""
    changes: dict[str, object] = {
        "seed": arguments.seed,
        "latency_ms": arguments.latency_ms,
        "capacity": arguments.capacity,
        **dict(arguments.fault),
    }
    if arguments.outage:
        changes["outages"] = tuple(arguments.outage)
    if arguments.retry_after is not None:
        changes["retry_after_seconds"] = arguments.retry_after
    if arguments.stall_seconds is not None:
        changes["stall_seconds"] = arguments.stall_seconds
    return dataclasses.replace(profile(arguments.faults), **changes)  # type: ignore[arg-type]


async def serve(arguments: argparse.Namespace) -> None:
    header_mode: HeaderMode = arguments.headers
    # The log keeps no records here (nobody could read them), only its counters for the exit summary.
    options = dict(
        scale=arguments.scale,
        header_mode=header_mode,
        upstream=arguments.upstream,
        host=arguments.host,
        port=arguments.port,
        log_limit=0,
    )
    playground = (
        Playground(arguments.profile, **options)
        if arguments.rate_limit is None
        else ThrottledPlayground(arguments.profile, rate=arguments.rate_limit, burst=arguments.burst, **options)
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with playground:
        print(f"playground listening on {playground.base_url}", flush=True)
        await stop.wait()
    log = playground.requests
    faults = ", ".join(f"{name} {count}" for name, count in sorted(log.faults.items())) or "none"
    print(f"playground stopped: {log.total} requests, faults: {faults}", file=sys.stderr, flush=True)
    if isinstance(playground, ThrottledPlayground):
        print(f"playground throttled: {playground.throttled} requests answered 429", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    asyncio.run(serve(parse_arguments(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
