"""The playground: a JSONPlaceholder-compatible server on 127.0.0.1 with its data generated in code and faults
injected on purpose, plus a proxy that injects the same faults in front of any compatible server.

    data        the six collections, deterministic, at any scale (`Dataset`, `generate_collection`)
    faults      `FaultProfile`, the named profiles, the pure per-request fault decision
    pagination  json-server's query conventions and Link header, pure
    inject      the fault middleware and the request log it writes
    log         `RequestRecord`, `RequestLog`
    server      `make_app`: collections, items, nested collections, pagination headers
    proxy       `make_proxy_app`
    running     `Playground` (in a running loop, or `.in_thread()`)
    __main__    `python -m async_core.playground`
"""

from async_core.playground.data import COLLECTION_SIZES, COLLECTIONS, FOREIGN_KEYS, Dataset, generate_collection
from async_core.playground.faults import (
    PROFILES,
    RANDOM_FAULTS,
    FaultDecider,
    FaultKind,
    FaultProfile,
    capacity_delay,
    choose_fault,
    profile,
)
from async_core.playground.inject import INJECTOR, FaultInjector
from async_core.playground.log import NO_RESPONSE, RequestLog, RequestRecord
from async_core.playground.pagination import HEADER_MODES, HeaderMode
from async_core.playground.proxy import make_proxy_app
from async_core.playground.running import Playground, ThreadedPlayground
from async_core.playground.server import make_app

__all__ = [
    "COLLECTIONS",
    "COLLECTION_SIZES",
    "FOREIGN_KEYS",
    "HEADER_MODES",
    "INJECTOR",
    "NO_RESPONSE",
    "PROFILES",
    "RANDOM_FAULTS",
    "Dataset",
    "FaultDecider",
    "FaultInjector",
    "FaultKind",
    "FaultProfile",
    "HeaderMode",
    "Playground",
    "RequestLog",
    "RequestRecord",
    "ThreadedPlayground",
    "capacity_delay",
    "choose_fault",
    "generate_collection",
    "make_app",
    "make_proxy_app",
    "profile",
]
