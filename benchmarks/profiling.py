"""Where each engine's CPU goes: one run per engine under py-spy, its samples sorted into a few kinds of work.

py-spy (a dev dependency) samples every thread of the child that is on a CPU (idle threads are left out) and
writes one line per distinct stack. Each sample is put in the first of these categories that has a frame in its
stack (for runtime and connector: the innermost such frame decides, see `categorize`):

    poll       the event loop in `select` (innermost frame): back from epoll, often waiting for the GIL
    sdk        the SDK and what it calls (fivetran_connector_sdk, duckdb, protobuf, grpc)
    handoff    the hand-over to the thread that calls the sink (async_core/run/bridge.py, the minimal engines'
               writer, the benchmark's sinks, queue, and the threaded engine's upsert loop is the sink itself)
    http       the HTTP library (aiohttp, yarl, multidict, requests, urllib3, http.client, h11, httpx, httpcore,
               anyio, socket, ssl, email header parsing)
    json       json decoding
    runtime    the event loop, selectors, threads and their locks, the thread pool
    connector  everything else under async_core/ or benchmarks/ (plan, retry, breaker, transform, ledger)
    other      the rest (interpreter start-up and imports)

Multiplied by the run's CPU per request, that is each engine's CPU per request split by kind of work. The profiled
runs are not timed runs: the sampler costs some CPU of its own.
"""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from pathlib import Path

CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sdk", ("fivetran_connector_sdk", "duckdb", "google/protobuf", "grpc")),
    ("handoff", ("async_core/run/bridge.py", "benchmarks/minimal/common.py", "benchmarks/sinks.py", "/queue.py")),
    (
        "http",
        (
            "/aiohttp/",
            "/yarl/",
            "/multidict/",
            "/requests/",
            "/urllib3/",
            "/http/client.py",
            "/h11/",
            "/httpx/",
            "/httpcore/",
            "/anyio/",
            "/socket.py",
            "/ssl.py",
            "/email/",
            "benchmarks/minimal/h11pair.py",
        ),
    ),
    ("json", ("/json/",)),
    ("runtime", ("/asyncio/", "/selectors.py", "/threading.py", "/concurrent/futures/")),
    ("connector", ("async_core/", "benchmarks/")),
)
NAMES = ("poll", *(name for name, _ in CATEGORIES), "other")
RATE_HZ = 250


def available() -> str | None:
    """The py-spy executable beside this Python, or on PATH; None when it is not installed."""
    beside = Path(sys.executable).parent / "py-spy"
    if beside.exists():
        return str(beside)
    return shutil.which("py-spy")


def command(py_spy: str, output: Path, child: list[str]) -> list[str]:
    head = [py_spy, "record", "--rate", str(RATE_HZ), "--full-filenames", "--format", "raw", "-o", str(output)]
    return [*head, "--", *child]


def categorize(frames: list[str]) -> str:
    """The category of one sample (its frames, outermost first).

    sdk, handoff, http and json own everything they call, so a frame of theirs anywhere in the stack decides.
    The event loop and the thread pool sit at the root of every stack of their threads, so between runtime and
    connector the innermost frame decides. A sample whose innermost frame is the event loop's `select` is "poll":
    the loop coming back from epoll (py-spy counts a thread that waits there for the GIL as active)."""
    if frames and "/selectors.py" in frames[-1] and frames[-1].startswith("EpollSelector.select"):
        return "poll"
    for name, needles in CATEGORIES[:4]:
        if any(needle in frame and not _ours_by_name(frame, needle) for frame in frames for needle in needles):
            return name
    for frame in reversed(frames):
        for name, needles in CATEGORIES[4:]:
            if any(needle in frame for needle in needles):
                return name
    return "other"


def _ours_by_name(frame: str, needle: str) -> bool:
    """async_core/http/client.py is the connector's, not the standard library's http/client.py."""
    return needle == "/http/client.py" and "async_core/" in frame


def shares(raw: str) -> dict[str, float]:
    """The share of samples in each category, from py-spy's raw output ("frame;frame;... count" lines)."""
    counts: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        counts[categorize(stack.split(";"))] += int(count)
    total = sum(counts.values())
    return {name: counts[name] / total for name in NAMES} if total else {}
